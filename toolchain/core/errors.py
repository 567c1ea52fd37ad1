"""The one exception type users see."""


class McufError(Exception):
    """A user-facing error: the message says what is wrong, where, and what to do."""
