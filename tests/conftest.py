"""Every test can use the real-infrastructure fixtures of :mod:`hilo.testing`."""

pytest_plugins = ["hilo.testing"]
