"""Deployment files; the Python under ``deploy/tools`` writes and checks them."""
