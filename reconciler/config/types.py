"""What only desired state has: settings, orgs, secrets, lifecycle, source locations."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from reconciler.errors import ConfigError, Problem

__all__ = [
    "AUTH_FLOWS",
    "DEFAULT_API_VERSION",
    "AssignmentScope",
    "AuthConfig",
    "AuthFlow",
    "Lifecycle",
    "Location",
    "OrgConfig",
    "Reference",
    "ReferenceKind",
    "Scope",
    "Secret",
    "Settings",
    "UserDefaults",
]

AssignmentScope = Literal["authoritative", "additive", "observe"]
AuthFlow = Literal["client_credentials", "jwt", "password", "access_token", "sf_cli"]
AUTH_FLOWS: tuple[str, ...] = get_args(AuthFlow)
ReferenceKind = Literal[
    "permission_set", "permission_set_group", "permission_set_license", "profile",
    "user_license", "license",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def problem(self, message: str) -> Problem:
        """A :class:`Problem` at this location."""
        return Problem(message, self.file, self.line, self.column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Secret:
    """A credential from the environment; it never shows its value.

    ``repr``/``str``/``format`` print where it comes from, never what it is, and
    ``json.dumps`` refuses it. The org client calls :meth:`reveal` at the moment it
    needs the value. A secret whose environment variable was not set at load time
    raises :class:`~reconciler.errors.ConfigError` on :meth:`reveal`, located at the
    config line that asked for it.
    """

    __slots__ = ("_missing", "_value", "address", "location", "source")

    def __init__(self, value: str, source: str, *, address: str = "",
                 location: Location | None = None, missing: tuple[str, ...] = ()) -> None:
        self._value: str | None = None if missing else value
        self._missing = missing
        self.source = source
        self.address = address
        self.location = location

    @property
    def is_set(self) -> bool:
        """Whether the value is known (its environment variables were all set)."""
        return self._value is not None

    def reveal(self) -> str:
        """The secret value; raises ConfigError when its environment variable was unset."""
        if self._value is None:
            names = " and ".join(self._missing)
            verb = "are" if len(self._missing) > 1 else "is"
            message = f"{self.address}: environment variable {names} {verb} not set"
            if self.location is not None:
                raise ConfigError([self.location.problem(message)])
            raise ConfigError([Problem(message)])
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        if self._value is None or other._value is None:
            return self._value is other._value and self.source == other.source
        return self.source == other.source and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self.source)


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Terraform-style lifecycle of one resource."""

    prevent_destroy: bool = False
    ignore_changes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class UserDefaults:
    """Values for user attributes a user entry leaves out."""

    time_zone: str = "GMT"
    locale: str = "en_US"
    language: str = "en_US"
    email_encoding: str = "UTF-8"


@dataclass(frozen=True, slots=True)
class Scope:
    """What the reconciler may change beyond what is declared.

    ``assignments``: for declared users, ``authoritative`` removes assignments not
    in config, ``additive`` only adds, ``observe`` only reports.
    ``permission_set_prefix``: permission sets in the org whose name starts with
    it and that the config does not declare are deleted; None deletes nothing
    undeclared.
    """

    assignments: AssignmentScope = "authoritative"
    permission_set_prefix: str | None = None


#: The REST API version used unless ``settings.api_version`` says otherwise: the current
#: release's (Winter '27), which every org on Salesforce's servers answers.
DEFAULT_API_VERSION = "68.0"


@dataclass(frozen=True, slots=True)
class Settings:
    """The ``settings`` block."""

    api_version: str = DEFAULT_API_VERSION
    default_org: str = "local"
    scope: Scope = field(default_factory=Scope)
    user_defaults: UserDefaults = field(default_factory=UserDefaults)


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How to log in to an org. Every credential is a :class:`Secret`."""

    flow: AuthFlow
    client_id: Secret | None = None
    client_secret: Secret | None = None
    username: Secret | None = None
    password: Secret | None = None
    security_token: Secret | None = None
    private_key: Secret | None = None
    private_key_file: Path | None = None
    access_token: Secret | None = None
    #: Password flow through SOAP login(), being retired by Salesforce; only when asked.
    soap_login: bool = False
    #: The sf_cli flow: the alias or username the Salesforce CLI has logged in.
    target_org: str | None = None

    def secrets(self) -> tuple[Secret, ...]:
        """Every credential that is set in the config, in field order."""
        values = (self.client_id, self.client_secret, self.username, self.password,
                  self.security_token, self.private_key, self.access_token)
        return tuple(v for v in values if v is not None)


@dataclass(frozen=True, slots=True)
class OrgConfig:
    """One entry of ``orgs``: the embedded emulator, or a real org and its login.

    Relative paths (``ca_bundle``, ``auth.private_key_file``) are resolved against
    the directory of the file that declares the org.
    """

    name: str
    emulator: bool = False
    instance_url: str | None = None
    login_url: str = "https://login.salesforce.com"
    auth: AuthConfig | None = None
    ca_bundle: Path | None = None
    #: For the embedded org: the seed that describes it when its data is first made.
    seed: Path | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """A name the config uses that only the org can resolve.

    The plan checks each against the org and reports a missing one at
    ``location``. ``suggestion`` is a declared name it is close to, if any.
    """

    kind: ReferenceKind
    name: str
    address: str
    location: Location
    suggestion: str | None = None
