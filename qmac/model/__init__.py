"""Networks for the array: the digits example CNN, its post-training quantization and evaluation.

``qmac.model`` imports ``golden`` (and ``sim`` only to run array ops on the RTL); the command line
and the sweep build on it.
"""
