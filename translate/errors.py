"""The one exception type users see: printed as one line by the CLI, never as a traceback."""


class UserError(Exception):
    """Bad input from the user: say what is wrong, with which file or option, and what to do."""
