"""The one exception tree of reconciler.

::

    ReconcilerError                 every error we raise on purpose; exit code 1
    ├── UsageError                  the user asked for something impossible
    │   ├── ConfigError             YAML that can't be loaded or fails validation
    │   └── PlanFileError           a saved plan that can't be read
    ├── OrgError                    the org said no, or could not be reached
    │   ├── AuthError               login failed, token refused
    │   ├── ApiError                a REST call failed (status, errorCode, message)
    │   │   └── RequestLimitError   the daily API limit is used up
    │   └── ConnectionFailed        the network dropped the call, retries exhausted
    ├── PlanError                   the plan can't be made or applied
    │   ├── PlanRejected            the org would refuse the config (located problems)
    │   ├── CycleError              the dependency graph has a cycle
    │   └── StalePlanError          the org moved since the plan was made
    └── EmulatorError               the embedded org could not start or was misused

Only :func:`reconciler.cli.exit_code_for` maps these to exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReconcilerError(Exception):
    """Root of every error reconciler raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ReconcilerError):
    """The user asked for something that can't be done as asked."""


@dataclass(frozen=True)
class Problem:
    """One validation problem, located in a config file when possible."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.message)

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class ConfigError(UsageError):
    """The desired state could not be loaded or is invalid; carries its problems.

    Past :data:`MAX_PROBLEMS` the rest are counted in one last line, not listed: a
    broken 10 MB file can have 100,000 problems and nobody reads past the first.
    """

    MAX_PROBLEMS = 100

    def __init__(self, problems: list[Problem]) -> None:
        ordered = sorted(problems, key=Problem.sort_key)
        more = len(ordered) - self.MAX_PROBLEMS
        if more > 0:
            ordered = ordered[:self.MAX_PROBLEMS]
            ordered.append(Problem(f"… and {more:,} more problem{'s' if more > 1 else ''}"))
        self.problems = ordered
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")


class PlanFileError(UsageError):
    """A saved plan file is missing, unreadable or of an unknown version."""


class OrgError(ReconcilerError):
    """The org refused a request or could not be reached."""


class AuthError(OrgError):
    """Authentication against the org failed."""


class ApiError(OrgError):
    """A REST call answered with an error."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: tuple[str, ...] = ()
    ) -> None:
        super().__init__(f"{error_code}: {message}" if error_code else message)
        self.status = status
        self.error_code = error_code
        self.api_message = message
        self.fields = fields


class RequestLimitError(ApiError):
    """The org's daily API request limit is exhausted."""


class ConnectionFailed(OrgError):
    """The connection dropped and retries did not help."""


class PlanError(ReconcilerError):
    """The plan cannot be computed or applied."""


class PlanRejected(PlanError):
    """Checks against the live org failed; carries every problem, located in the config."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems) or "the plan was rejected")


class CycleError(PlanError):
    """The dependency graph of the actions has a cycle."""


class StalePlanError(PlanError):
    """The live records a saved plan depends on have changed."""


class EmulatorError(ReconcilerError):
    """The embedded org could not start or was used wrongly: the emulator's own
    ``LocalOrgError``, as ``reconciler.org.connect.emulator_errors`` reports it."""
