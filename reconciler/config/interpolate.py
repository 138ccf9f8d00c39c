"""``${var.NAME}`` and ``${env.NAME}`` in config strings; ``$${`` writes a literal ``${``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.config.suggest import Names, Suggester, q

__all__ = ["NAME_PATTERN", "Interpolator", "Rendered", "env_reference"]

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\$\$\{|\$\{")
_EXPR = re.compile(rf"\s*(var|env)\.({NAME_PATTERN})\s*\Z")
_ONLY_ENV = re.compile(rf"\$\{{\s*env\.({NAME_PATTERN})\s*\}}\Z")

VAR_ENV_PREFIX = "RECONCILER_VAR_"


def env_reference(text: str) -> str | None:
    """The NAME when ``text`` is exactly ``${env.NAME}``, else None."""
    match = _ONLY_ENV.match(text.strip())
    return match.group(1) if match else None


@dataclass
class Rendered:
    """The result of interpolating one string.

    ``value`` is None when there were errors. ``env`` lists the environment
    variables read; ``missing_env`` those that were not set (only collected when
    unset variables are allowed, see :meth:`Interpolator.render`).
    """

    value: str | None
    errors: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    missing_env: list[str] = field(default_factory=list)


class Interpolator:
    """Renders strings against declared variables and the environment."""

    def __init__(self, declared: Mapping[str, str | None], environ: Mapping[str, str],
                 suggester: Suggester | None = None) -> None:
        # declared: every declared variable, with its value or None when it has none.
        self.declared = declared
        self.environ = environ
        self.suggester = suggester or Suggester()
        self._names: Names | None = None  # built at the first undefined variable

    def render(self, text: str, *, allow_missing_env: bool = False) -> Rendered:
        """Interpolate ``text``.

        With ``allow_missing_env`` an unset ``${env.NAME}`` is not an error: it is
        listed in ``missing_env`` and renders as an empty string (used for org
        credentials, which only the org actually used needs).
        """
        if "$" not in text:
            return Rendered(text)
        out: list[str] = []
        result = Rendered(None)
        pos = 0
        for match in _TOKEN.finditer(text):
            start = match.start()
            if start < pos:
                continue  # inside an expression already consumed
            out.append(text[pos:start])
            if match.group() == "$${":
                out.append("${")
                pos = match.end()
                continue
            close = text.find("}", match.end())
            if close < 0:
                result.errors.append('"${" is not closed by "}" (write $${ for a literal ${)')
                pos = len(text)
                break
            expr = text[match.end():close]
            pos = close + 1
            parsed = _EXPR.match(expr)
            if parsed is None:
                result.errors.append(
                    f"cannot interpolate {q('${' + expr + '}')}: use ${{var.NAME}} or "
                    "${env.NAME} (write $${ for a literal ${)")
                continue
            scope, name = parsed.groups()
            if scope == "var":
                out.append(self._variable(name, result))
            else:
                result.env.append(name)
                value = self.environ.get(name)
                if value is None:
                    if allow_missing_env:
                        result.missing_env.append(name)
                    else:
                        result.errors.append(f"environment variable {name} is not set")
                    value = ""
                out.append(value)
        out.append(text[pos:])
        if not result.errors:
            result.value = "".join(out)
        return result

    def _variable(self, name: str, result: Rendered) -> str:
        if name not in self.declared:
            if self._names is None:
                self._names = Names(self.declared)
            hint = self.suggester.did_you_mean(name, self._names, prefix="var.")
            result.errors.append(
                f"undefined variable var.{name}{hint or '; declare it under variables:'}")
            return ""
        value = self.declared[name]
        if value is None:
            result.errors.append(
                f"variable var.{name} has no value; set it with --var {name}=VALUE, "
                f"a --var-file, or the environment variable {VAR_ENV_PREFIX}{name}")
            return ""
        return value
