"""The one exception type latentkit raises for bad input, and the exit codes.

Every problem a user can fix (a missing file, wrong metadata, an unknown plugin,
data of the wrong shape) is a :class:`LatentkitError` carrying what went wrong
and how to fix it. The CLI turns it into one line on stderr and exit code 2, in
one place (``latentkit.cli``).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses shared by every command."""

    OK = 0
    CHECK_FAILED = 1  # a `check` rule failed
    USAGE = 2  # usage or input error
    INTERNAL = 70  # a bug in latentkit (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class LatentkitError(Exception):
    """A problem with the user's input: ``message`` says what, ``fix`` says what to do."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message} ({self.fix})"
        return self.message


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which (the exit status is 128 + signum)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
