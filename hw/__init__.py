"""qmac: hw package."""
