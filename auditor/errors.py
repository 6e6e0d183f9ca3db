"""Exit codes and the one exception type that carries them to the CLI.

The codes follow sysexits(3) where one fits, so schedulers and monitoring can tell
"fix your input" from "try again later" without parsing messages.
"""

EXIT_OK = 0
EXIT_FAILURE = 1  # unexpected failure (a bug, a full disk)
EXIT_USAGE = 2  # usage or configuration error: a path that does not exist, a bad auditor.toml
EXIT_DATA = 65  # EX_DATAERR: input needs attention (rejects above the threshold, a file not read)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the workspace lock


class AuditorError(Exception):
    """A failure the user can act on; the CLI prints the message without a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
