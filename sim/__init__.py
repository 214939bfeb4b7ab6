"""qmac: sim package."""
