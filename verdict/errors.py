"""The one error a command reports to the user as a single line with exit code 2."""


class UsageError(ValueError):
    """Bad input from the user (arguments, files, settings): reported as one line, exit code 2."""
