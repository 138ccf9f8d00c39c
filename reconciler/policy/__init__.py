"""Access policy: rules evaluated on effective access at ``validate`` (the config
alone), ``plan`` (the org as the plan would leave it) and ``drift`` (the org now).

Public surface::

    policy_of(config) -> Policy                  # the rules and waivers a config declares
    config_access(config) -> OrgAccess           # the access the config alone describes
    evaluate(policy, access, config, today, point=...) -> Evaluation
    render.text / render.as_json / render.as_sarif (evaluation), render.rules_text

Pure, like the rest of the core; the built-in rule sets are :mod:`.baseline`. The
reference is ``docs/policy.md``.
"""

from reconciler.policy.declared import policy_of
from reconciler.policy.evaluate import Evaluation, Violation, config_access, evaluate
from reconciler.policy.rules import Policy, Rule, Scope, Waiver

__all__ = ["Evaluation", "Policy", "Rule", "Scope", "Violation", "Waiver", "config_access",
           "evaluate", "policy_of"]
