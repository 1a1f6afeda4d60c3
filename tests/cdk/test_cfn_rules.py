"""The template Rules sam-ext serve evaluates before CloudFormation on moto makes a stack
(provider/endpoint/cfn_rules.py): CDK's CheckBootstrapVersion and the other rule functions."""

from __future__ import annotations

from typing import Any

import pytest

from provider.endpoint.cfn_rules import check_rules

CDK_RULE: dict[str, Any] = {
    "Rules": {
        "CheckBootstrapVersion": {
            "Assertions": [
                {
                    "Assert": {
                        "Fn::Not": [
                            {
                                "Fn::Contains": [
                                    ["1", "2", "3", "4", "5"],
                                    {"Ref": "BootstrapVersion"},
                                ]
                            }
                        ]
                    },
                    "AssertDescription": "CDK bootstrap stack version 6 required.",
                }
            ]
        }
    }
}


def _refusal(template: dict[str, Any], values: dict[str, Any]) -> str:
    with pytest.raises(Exception) as caught:
        check_rules(template, values)
    assert type(caught.value).__name__ == "ValidationError"
    return str(caught.value.message)  # type: ignore[attr-defined]


def test_the_cdk_bootstrap_rule() -> None:
    check_rules(CDK_RULE, {"BootstrapVersion": "28"})
    assert (
        _refusal(CDK_RULE, {"BootstrapVersion": "5"}) == "CDK bootstrap stack version 6 required."
    )


def test_a_rule_condition_gates_its_assertions() -> None:
    template = {
        "Rules": {
            "ProdOnly": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "Assertions": [
                    {
                        "Assert": {
                            "Fn::And": [
                                {"Fn::EachMemberIn": [{"Ref": "Zones"}, ["a", "b"]]},
                                {
                                    "Fn::Or": [
                                        {"Fn::EachMemberEquals": [{"Ref": "Zones"}, "a"]},
                                        "true",
                                    ]
                                },
                            ]
                        }
                    }
                ],
            }
        }
    }
    check_rules(template, {"Env": "dev", "Zones": ["c"]})
    check_rules(template, {"Env": "prod", "Zones": ["a", "b"]})
    assert "rule ProdOnly failed" in _refusal(template, {"Env": "prod", "Zones": ["c"]})


def test_a_rule_function_it_cannot_evaluate_is_refused_by_name() -> None:
    template = {
        "Rules": {"Vpc": {"Assertions": [{"Assert": {"Fn::ValueOf": ["Subnet", "VpcId"]}}]}}
    }
    message = _refusal(template, {"Subnet": "subnet-1"})
    assert "rule Vpc uses Fn::ValueOf, which sam-ext serve does not evaluate" in message
