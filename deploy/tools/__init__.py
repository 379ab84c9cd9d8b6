"""Tools that write and check ``deploy/``: run by ``make manifests`` and ``make lint``."""
