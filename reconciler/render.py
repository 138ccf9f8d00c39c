"""Rendering plans: a readable diff, Markdown, JSON, DOT and Mermaid. No click, no I/O.

Text groups actions by resource (``+`` create, ``~`` change, ``-`` remove), lists the
destructive actions again on their own, then manual steps, warnings and the summary
line. Colour is ANSI and only when the caller asks for it.
"""

from __future__ import annotations

import html
import json

from reconciler import actions as a
from reconciler.plan import Plan

_COLOURS = {"+": "32", "~": "33", "-": "31", "!": "35", "bold": "1", "dim": "2"}


class Style:
    """ANSI colour when enabled, plain text otherwise."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, what: str) -> str:
        if not self.color:
            return text
        return f"\x1b[{_COLOURS[what]}m{text}\x1b[0m"


def detail(action: a.Action) -> str:
    """What one action does, in a line."""
    text = action.detail()
    return f"{text}  # {action.reason}" if action.reason else text


def summary_line(plan: Plan) -> str:
    add, change, remove = plan.counts()
    by = ", ".join(f"{calls} {name}" for name, calls in plan.apply_transports)
    return (f"Plan: {add} to add, {change} to change, {remove} to remove · "
            f"{plan.read_calls} API calls to read, ~{plan.apply_calls} to apply"
            + (f" ({by})" if by else ""))


def text(plan: Plan, *, color: bool = False) -> str:
    """The plan as a readable diff."""
    s = Style(color)
    lines = [f"Org {plan.org.name} ({plan.org.instance_url}, org {plan.org.org_id}), "
             f"as {plan.org.running_user}"]
    if plan.targets or plan.excludes:
        lines.append(s("Partial plan: " + ", ".join(
            [f"target {t}" for t in plan.targets] + [f"exclude {e}" for e in plan.excludes]),
            "!"))
    if plan.empty:
        lines.append("")
        lines.append("No changes. The org matches the config.")
    else:
        lines.append("")
        by_resource: dict[str, list[a.Action]] = {}
        for action in plan.actions:
            by_resource.setdefault(action.resource, []).append(action)
        for resource in sorted(by_resource):
            group = by_resource[resource]
            symbols = {x.symbol for x in group}
            head = next(iter(symbols)) if len(symbols) == 1 else "~"
            lines.append(s(f"{head} {resource}", head))
            for action in group:
                lines.append("    " + s(f"{action.symbol} {detail(action)}", action.symbol))
        if plan.destructive:
            lines.append("")
            lines.append(s(f"Destructive actions ({len(plan.destructive)}):", "-"))
            for action in plan.destructive:
                lines.append("    " + s(f"- {action.address}: {detail(action)}", "-"))
    if plan.manual_steps:
        lines.append("")
        lines.append(s("Manual steps (the API can't do these):", "bold"))
        for i, step in enumerate(plan.manual_steps, 1):
            lines.append(f"  {i}. {step.text}")
    if plan.warnings:
        lines.append("")
        lines.append(s("Warnings:", "!"))
        lines.extend("  " + s(f"! {w}", "!") for w in plan.warnings)
    lines.append("")
    lines.append(s(summary_line(plan), "bold"))
    return "\n".join(lines)


#: GitHub refuses a pull-request comment longer than this many characters.
GITHUB_COMMENT_LIMIT = 65_536


def markdown(plan: Plan, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The plan for a pull-request comment: a collapsible block per resource, the
    destructive actions, manual steps, warnings and the cost line, in at most ``limit``
    characters. Resources that don't fit are left out with a note saying how many."""
    head = [f"### Plan for org `{plan.org.name}`", "",
            f"{plan.org.instance_url} · org `{plan.org.org_id}` · as `{plan.org.running_user}`"]
    if plan.targets or plan.excludes:
        head += ["", "**Partial plan:** " + ", ".join(
            [f"target `{t}`" for t in plan.targets] + [f"exclude `{e}`" for e in plan.excludes])]
    tail = _markdown_tail(plan)
    blocks = _markdown_blocks(plan)
    if plan.empty:
        head += ["", "No changes. The org matches the config."]
    room = limit - len("\n".join(head + tail)) - 200  # 200: the truncation note's room
    shown: list[str] = []
    for block in blocks:
        if len(block) + 1 > room:
            break
        shown.append(block)
        room -= len(block) + 1
    body = head + ([""] if shown else []) + shown
    if len(shown) < len(blocks):
        body += ["", f"> **{len(blocks) - len(shown)} of {len(blocks)} resources are not "
                     "shown**: the comment would pass GitHub's limit of "
                     f"{GITHUB_COMMENT_LIMIT:,} characters. Run `reconciler show` on the "
                     "saved plan for all of it."]
    out = "\n".join(body + tail)
    return out if len(out) <= limit else out[: limit - 2] + "\n…"


def _markdown_blocks(plan: Plan) -> list[str]:
    """One ``<details>`` block per resource, its actions as a diff."""
    by_resource: dict[str, list[a.Action]] = {}
    for action in plan.actions:
        by_resource.setdefault(action.resource, []).append(action)
    blocks = []
    for resource in sorted(by_resource):
        group = by_resource[resource]
        symbols = {x.symbol for x in group}
        head = next(iter(symbols)) if len(symbols) == 1 else "~"
        changes = f"{len(group)} change{'' if len(group) == 1 else 's'}"
        lines = [f"<details><summary><code>{head} {html.escape(resource)}</code> "
                 f"({changes})</summary>", "", "```diff"]
        lines += [f"{action.symbol} {detail(action)}".replace("```", "` ` `")
                  for action in group]
        lines += ["```", "", "</details>"]
        blocks.append("\n".join(lines))
    return blocks


def _markdown_tail(plan: Plan) -> list[str]:
    """What a reviewer must always see: destructive actions, manual steps, warnings,
    the cost line."""
    lines: list[str] = []
    if plan.destructive:
        lines += ["", f"#### :warning: Destructive actions ({len(plan.destructive)})", ""]
        lines += [f"- `{x.address}`: {detail(x)}" for x in plan.destructive]
    if plan.manual_steps:
        lines += ["", "#### Manual steps (the API can't do these)", ""]
        lines += [f"{i}. {step.text}" for i, step in enumerate(plan.manual_steps, 1)]
    if plan.warnings:
        lines += ["", "#### Warnings", ""]
        lines += [f"- {w}" for w in plan.warnings]
    return [*lines, "", f"**{summary_line(plan)}**"]


def as_json(plan: Plan) -> str:
    """The plan's documented JSON (the same as the saved file)."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False)


def dot(plan: Plan) -> str:
    """The action graph in Graphviz DOT."""
    lines = ["digraph plan {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
    for action in plan.actions:
        label = f"{action.symbol} {action.kind}\\n{action.address}"
        lines.append(f'  "{action.id}" [label="{label}"];')
    for action in plan.actions:
        for dep in plan.depends_on.get(action.id, ()):
            lines.append(f'  "{dep}" -> "{action.id}";')
    lines.append("}")
    return "\n".join(lines)


def mermaid(plan: Plan) -> str:
    """The action graph as a Mermaid flowchart."""
    ids = {action.id: f"a{i}" for i, action in enumerate(plan.actions)}
    lines = ["flowchart LR"]
    for action in plan.actions:
        label = f"{action.symbol} {action.kind}<br/>{action.address}".replace('"', "'")
        lines.append(f'  {ids[action.id]}["{label}"]')
    for action in plan.actions:
        for dep in plan.depends_on.get(action.id, ()):
            if dep in ids:
                lines.append(f"  {ids[dep]} --> {ids[action.id]}")
    return "\n".join(lines)
