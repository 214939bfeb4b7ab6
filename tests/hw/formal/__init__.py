"""Formal proof of the requantization unit (SymbiYosys); see top.py for what is proven."""
