"""Errors a user can fix: printed as one clear message (what, where, how to fix), no traceback."""


class UserError(Exception):
    """Bad config, data or environment. The message names the thing, the place and the fix."""
