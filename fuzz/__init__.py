"""Hostile input, measured: `make fuzz` (fuzz/run.py) and the fast subset in tests/trust/."""
