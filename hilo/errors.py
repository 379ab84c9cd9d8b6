"""Errors a person can put right: the shared core and services raise them, the CLI prints them.

The core cannot import the CLI (it is the composition root, checked by `lint-imports`), so the
type lives here; `hilo` turns it into one line on stderr and exit code 1, never a traceback.
"""


class UserError(Exception):
    """Something the person running Hilo can put right; the message says how."""
