"""The CLI's name for `hilo.errors.UserError` (one type: the core raises it, the CLI prints it)."""

from hilo.errors import UserError

__all__ = ["UserError"]
