"""${var.NAME}, ${env.NAME} and the $${ escape."""

from __future__ import annotations

from reconciler.config.interpolate import Interpolator, env_reference

VARS = {"env": "prod", "region": "eu", "nodefault": None}


def render(text: str, environ: dict[str, str] | None = None, **kw: bool) -> tuple[str | None,
                                                                                   list[str]]:
    result = Interpolator(VARS, environ or {}).render(text, **kw)
    return result.value, result.errors


def test_variables_and_environment_are_substituted() -> None:
    assert render("svc@acme.com.${var.env}") == ("svc@acme.com.prod", [])
    assert render("${var.env}-${ var.region }-${env.HOST}", {"HOST": "h1"}) == ("prod-eu-h1", [])


def test_text_without_a_dollar_is_returned_as_is() -> None:
    assert render("plain text, $5 and $ alone") == ("plain text, $5 and $ alone", [])


def test_double_dollar_escapes_interpolation() -> None:
    assert render("$${var.env} costs $${") == ("${var.env} costs ${", [])
    # "$${" always wins, scanning left to right, as in Terraform.
    assert render("$$${var.env}") == ("$${var.env}", [])


def test_undefined_variable_suggests_the_closest_declared_one() -> None:
    assert render("${var.evn}") == (None, ['undefined variable var.evn; did you mean "var.env"?'])
    assert render("${var.zzz}") == (None, ["undefined variable var.zzz; declare it under "
                                           "variables:"])


def test_declared_variable_without_value_says_how_to_give_one() -> None:
    assert render("${var.nodefault}") == (None, [
        "variable var.nodefault has no value; set it with --var nodefault=VALUE, a --var-file, "
        "or the environment variable RECONCILER_VAR_nodefault"])


def test_unset_environment_variable_is_an_error_unless_allowed() -> None:
    assert render("${env.NOPE}") == (None, ["environment variable NOPE is not set"])
    result = Interpolator(VARS, {}).render("x${env.NOPE}", allow_missing_env=True)
    assert (result.value, result.missing_env, result.env) == ("x", ["NOPE"], ["NOPE"])


def test_malformed_expressions_are_errors() -> None:
    hint = "use ${var.NAME} or ${env.NAME} (write $${ for a literal ${)"
    assert render("${foo}") == (None, [f'cannot interpolate "${{foo}}": {hint}'])
    assert render("${var.}") == (None, [f'cannot interpolate "${{var.}}": {hint}'])
    assert render("${var.env") == (None, ['"${" is not closed by "}" (write $${ for a literal ${)'])


def test_all_errors_of_one_string_are_reported() -> None:
    _, errors = render("${var.a1}${env.B}")
    assert errors == ["undefined variable var.a1; declare it under variables:",
                      "environment variable B is not set"]


def test_env_reference_recognises_a_lone_env_expression() -> None:
    assert env_reference("${env.SF_SECRET}") == "SF_SECRET"
    assert env_reference(" ${ env.SF_SECRET } ") == "SF_SECRET"
    assert env_reference("x${env.SF_SECRET}") is None
    assert env_reference("${var.SECRET}") is None
