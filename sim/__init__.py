"""qmac simulation: Verilator builds, the cocotb testbench and the layer runner."""

from sim.layer_runner import LayerMismatch, SimError, run_layer, run_layers

__all__ = ["LayerMismatch", "SimError", "run_layer", "run_layers"]
