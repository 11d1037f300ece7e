"""The one exception type that reaches the user as a single line, never as a traceback."""


class DupbenchError(Exception):
    """A problem the user can fix (missing file, unknown name, bad input); printed as one line."""


class UnreadableImage(DupbenchError):
    """One image cannot be used; the finder and the benchmark record it as a skip and go on without it."""
