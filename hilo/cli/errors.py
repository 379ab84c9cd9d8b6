"""Errors a user can cause and fix: printed as one line, never as a traceback."""


class UserError(Exception):
    """Something the person running `hilo` can put right; the message says how."""
