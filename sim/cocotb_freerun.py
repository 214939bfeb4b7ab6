"""cocotb test module: free-running clock for a given number of cycles (raw simulator speed).

Not collected by pytest. Holds reset for 4 cycles, then lets ``qmac_top`` run idle for
``QMAC_FREERUN_CYCLES`` cycles with no Python in the loop (one Timer), and writes the wall time
to ``QMAC_RESULT_FILE`` (JSON). The baseline for the testbench's cycles per second.
"""

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, Timer

PERIOD_NS = 10


@cocotb.test()
async def free_run(dut):
    cycles = int(os.environ["QMAC_FREERUN_CYCLES"])
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    t0 = time.perf_counter()
    await Timer(cycles * PERIOD_NS, unit="ns")
    wall = time.perf_counter() - t0
    with open(os.environ["QMAC_RESULT_FILE"], "w") as f:
        json.dump({"cycles": cycles, "wall_seconds": wall, "cycles_per_second": cycles / wall}, f)
