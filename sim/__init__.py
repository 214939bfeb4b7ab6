"""qmac simulation: Verilator builds, the cocotb testbench and the layer runner."""

from sim.layer_runner import LayerMismatch, SimError, check_layer, run_layer, run_layers

__all__ = ["LayerMismatch", "SimError", "check_layer", "run_layer", "run_layers"]
