"""The apply journal's text, made entry by entry, reads back as the document pydantic
gives, one line per entry, whatever the entries' statuses and the strings they hold."""

from __future__ import annotations

import json
from typing import Any

from reconciler import actions as a
from reconciler.journal import (
    EntryText,
    JournalEntry,
    JournalFile,
    JournalOrg,
    journal_text,
    replaced_text,
)

ODD = 'quote " backslash \\ newline \n tab \t bell \x07 accent é emoji 🙂 </script>'


def _file(entries: list[JournalEntry], replaced: dict[str, Any]) -> JournalFile:
    return JournalFile(org=JournalOrg(name="o", org_id="00D", instance_url="https://x"),
                       plan_created_at="t0", config_digest="d", started_at="t1",
                       finished_at=None, stopped=ODD, write_calls=3, records_written=2,
                       status_polls=0, actions=entries, replaced=replaced)


def test_entries_and_document_match_the_model():
    acts: list[a.Action] = [
        a.CreatePermissionSet(name="S", label=ODD, system_permissions=("ApiEnabled",)),
        a.GrantFieldAccess(permission_set="S", field="Account.Name", after=("read",)),
        a.CreateUser(user="u", username="u@x.com", profile="P", attributes=(("title", ODD),)),
    ]
    outcomes: list[dict[str, Any]] = [
        {"status": "pending"}, {"status": "writing"}, {"status": "not_attempted"},
        {"status": "skipped", "waited_on": ODD},
        {"status": "applied", "record_id": "0PS1", "note": "already there"},
        {"status": "failed", "error": ODD}, {"status": "unknown", "error": "dropped"},
    ]
    replaced = {"users:u@x.com": {"username": "u@x.com", "title": ODD, "list": ["b", "a"]},
                "permission_sets.S": {"name": "S", "fields": {}}}
    for replacing in (replaced, {}):
        texts = [(x, EntryText(x.id, x)) for x in acts]
        for outcome in outcomes:
            # Each action's own record Id, where the status holds one.
            own = [{**outcome, **({"record_id": f"{outcome['record_id']}{n}"}
                                  if "record_id" in outcome else {})}
                   for n in range(len(acts))]
            entries = [JournalEntry(id=x.id, kind=x.kind, address=x.address, action=x, **kw)
                       for x, kw in zip(acts, own, strict=True)]
            want = _file(entries, replacing)
            got = journal_text(_file([], {}), [t.text(**kw) for (_, t), kw
                                               in zip(texts, own, strict=True)],
                               replaced_text(replacing))
            assert json.loads(got) == json.loads(want.model_dump_json())
            assert JournalFile.model_validate_json(got) == want
            # Each entry is one line of the file: found, and read, with line tools.
            lines = [line.removesuffix(",") for line in got.splitlines()]
            for entry in entries:
                assert "    " + entry.model_dump_json() in lines
    empty = journal_text(_file([], {}), [], replaced_text({}))
    assert empty == _file([], {}).model_dump_json(indent=2) + "\n"
