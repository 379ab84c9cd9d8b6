"""The inbox web app: server-rendered pages over the operator API (see ../README.md)."""
