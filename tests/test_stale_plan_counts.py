"""A stale plan's refusal names up to ten moved resources and counts only those past the
tenth: "and 0 more" or a name dropped would misreport what moved in the org."""

from __future__ import annotations

import pytest

from reconciler.apply import check_fresh
from reconciler.errors import StalePlanError
from reconciler.plan import load_plan
from tests.orgdir import FIXTURES


@pytest.mark.parametrize(("moved", "tail"), [(10, ""), (11, " and 1 more")])
def test_ten_moved_resources_are_all_named_and_only_more_are_counted(moved: int,
                                                                     tail: str) -> None:
    plan = load_plan(FIXTURES / "plans" / "v1" / "psl-implied-through-group.plan.json")
    now = {f"users.u{n:02}": "0" for n in range(moved)}
    with pytest.raises(StalePlanError) as refused:
        check_fresh(plan, config_digest=plan.config_digest, org_id=plan.org.org_id,
                    fingerprint_now={**plan.fingerprint, **now})
    named = ", ".join(f"users.u{n:02}" for n in range(10))
    assert str(refused.value) == (f"the org changed since the plan was made ({named}{tail}); "
                                  "nothing was written. Run `reconciler plan` again and "
                                  "review the new plan")
