"""The one exception type that reaches the user as a single line, never as a traceback."""


class DupbenchError(Exception):
    """A problem the user can fix (missing file, unknown name, bad input); printed as one line."""
