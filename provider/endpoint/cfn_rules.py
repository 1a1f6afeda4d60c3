"""What CloudFormation checks of a template's parameters before a stack or change set is
made, and moto does not: ``AWS::SSM::Parameter::Value<...>`` parameters resolved from the
served Systems Manager Parameter Store (a missing one refused as CloudFormation refuses it,
not a moto crash), and the template's ``Rules`` evaluated with the resolved values, each
failed ``Assert`` refused with its ``AssertDescription``.

This is what makes a CDK template deploy on ``sam-ext serve`` as on AWS: its
``BootstrapVersion`` parameter (default ``/cdk-bootstrap/hnb659fds/version``) is read from
SSM, where ``cdk bootstrap`` writes it, and its ``CheckBootstrapVersion`` rule refuses a
version below the one the template needs. The rule functions are CloudFormation's
(``Fn::And``, ``Fn::Or``, ``Fn::Not``, ``Fn::Equals``, ``Fn::Contains``,
``Fn::EachMemberEquals``, ``Fn::EachMemberIn``, ``Ref``); a rule using another (the
``Fn::ValueOf`` family, which needs live EC2 look-ups) is refused by name, never skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SSM_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"


def _validation_error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)


def ssm_value(name: str, value_type: str, account_id: str, region: str) -> Any:
    """The value of SSM parameter ``name`` in the served Parameter Store (a list for a
    ``List<...>``/``CommaDelimitedList`` type); CloudFormation's ValidationError if absent."""
    from moto.ssm.models import ssm_backends

    found = ssm_backends[account_id][region].get_parameter(name)
    if found is None:
        raise _validation_error(
            f"Unable to fetch parameters [{name}] from parameter store for this account."
        )
    value = str(found.value)
    if "List" in value_type[len(SSM_TYPE_PREFIX) :]:
        return value.split(",")
    return value


def resolved_parameters(
    template: Mapping[str, Any], given: Mapping[str, Any], account_id: str, region: str
) -> dict[str, Any]:
    """Each declared parameter's value (given, else its Default), SSM-typed ones resolved."""
    values: dict[str, Any] = {}
    declared = template.get("Parameters") or {}
    if not isinstance(declared, Mapping):
        return values
    for name, spec in declared.items():
        if not isinstance(spec, Mapping):
            continue
        value = given.get(name, spec.get("Default"))
        kind = str(spec.get("Type", "String"))
        if value is None:
            continue
        if kind.startswith(SSM_TYPE_PREFIX):
            value = ssm_value(str(value), kind, account_id, region)
        elif kind == "CommaDelimitedList" or kind.startswith("List<"):
            value = value if isinstance(value, list) else str(value).split(",")
        values[str(name)] = value
    return values


def _evaluate(expression: Any, values: Mapping[str, Any], rule: str) -> Any:
    if isinstance(expression, list):
        return [_evaluate(item, values, rule) for item in expression]
    if not isinstance(expression, Mapping):
        return expression
    if len(expression) != 1:
        return {k: _evaluate(v, values, rule) for k, v in expression.items()}
    ((function, argument),) = expression.items()
    if function == "Ref":
        if argument not in values:
            raise _validation_error(
                f"Template error: rule {rule} refers to {argument}, which is not a parameter"
            )
        return values[argument]
    if function == "Condition" or not str(function).startswith("Fn::"):
        return {function: _evaluate(argument, values, rule)}
    arguments = _evaluate(argument, values, rule)
    if function == "Fn::Not":
        return not _truth(arguments[0], rule)
    if function == "Fn::And":
        return all(_truth(a, rule) for a in arguments)
    if function == "Fn::Or":
        return any(_truth(a, rule) for a in arguments)
    if function == "Fn::Equals":
        return str(arguments[0]) == str(arguments[1])
    if function == "Fn::Contains":
        return str(arguments[1]) in [str(v) for v in arguments[0]]
    if function == "Fn::EachMemberEquals":
        return all(str(v) == str(arguments[1]) for v in arguments[0])
    if function == "Fn::EachMemberIn":
        allowed = [str(v) for v in arguments[1]]
        return all(str(v) in allowed for v in arguments[0])
    raise _validation_error(
        f"Template error: rule {rule} uses {function}, which sam-ext serve does not evaluate "
        "(it evaluates Fn::And, Fn::Or, Fn::Not, Fn::Equals, Fn::Contains, "
        "Fn::EachMemberEquals, Fn::EachMemberIn and Ref)"
    )


def _truth(value: Any, rule: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _validation_error(f"Template error: rule {rule}: {value!r} is not a condition")


def check_rules(template: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Evaluate the template's ``Rules``: a rule whose ``RuleCondition`` holds (or that has
    none) must pass every ``Assert``; the first that fails is refused with its
    ``AssertDescription``."""
    rules = template.get("Rules") or {}
    if not isinstance(rules, Mapping):
        return
    for name, rule in rules.items():
        if not isinstance(rule, Mapping):
            continue
        condition = rule.get("RuleCondition")
        if condition is not None and not _truth(_evaluate(condition, values, name), name):
            continue
        for assertion in rule.get("Assertions") or []:
            if not _truth(_evaluate(assertion.get("Assert"), values, name), name):
                raise _validation_error(
                    str(assertion.get("AssertDescription") or f"Assertion of rule {name} failed")
                )


def check_template(
    template: Mapping[str, Any], given: Mapping[str, Any], account_id: str, region: str
) -> None:
    """What CloudFormation checks before it makes a stack or change set of ``template``."""
    check_rules(template, resolved_parameters(template, given, account_id, region))
