"""Exit codes and the one exception type that carries them to the CLI.

The codes follow sysexits(3) where one fits, so schedulers and monitoring can tell
"fix your input" from "try again later" without parsing messages.
"""

EXIT_OK = 0
EXIT_FAILURE = 1  # unexpected failure (a bug, a full disk)
EXIT_USAGE = 2  # usage or configuration error: a path that does not exist, a bad auditor.toml
EXIT_DATA = 65  # EX_DATAERR: input needs attention (rejects above the threshold, a file not read)
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a notification could not be delivered (retried by the next run)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the workspace lock
EXIT_INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM: stopped by systemd, timeout or kill; the next run completes the work


class AuditorError(Exception):
    """A failure the user can act on; the CLI prints the message without a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so the pool is stopped, the lock released and
    the run manifest written. Not an ``Exception``: no ``except Exception`` may swallow it."""

    exit_code = EXIT_TERMINATED
