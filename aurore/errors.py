"""The one exception type users see as a message, never as a traceback."""


class AuroreError(Exception):
    """A problem the user can fix: the message says what is wrong and what to do.

    The CLI prints it without a traceback and exits with status 2; the web app
    turns it into a readable page or a JSON error.
    """
