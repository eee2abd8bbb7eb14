"""User-facing errors: one line naming the file and the row or column, never a traceback."""


class VibankError(Exception):
    """A problem with the user's input or configuration.

    The command line and the workflow scripts print ``str(error)`` as a single line and exit
    non-zero; programming errors (anything else) keep their traceback.
    """


class ExternalToolError(VibankError):
    """An outside program (plink2) failed; the message names the command's log."""
