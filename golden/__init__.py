"""qmac: golden package."""
