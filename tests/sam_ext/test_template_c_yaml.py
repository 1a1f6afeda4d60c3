"""Templates are read and written with libyaml (PyYAML's C loader and dumper) under the
same constructors as the pure-Python ones: the same data in, the same text out, checked
on a generated 500-function template using every construct templates use."""

from __future__ import annotations

import time

import pytest
import yaml

from provider.errors import ValidationError
from sam_ext import template as tpl

pytestmark = pytest.mark.skipif(
    not yaml.__with_libyaml__, reason="this PyYAML was built without libyaml"
)


def _function(index: int) -> str:
    return f"""\
  Function{index:03d}:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Metadata: {{BuildMethod: python3.12, Tags: [a, 'b', "c"]}}
    Properties:
      CodeUri: src/fn{index:03d}/
      Handler: app.handler
      Runtime: python3.12
      MemorySize: {128 + index}
      Timeout: 3.5
      ReservedConcurrentExecutions: ~
      Tracing: Active
      AutoPublishAlias: live
      Description: "Function #{index} — naïve “quotes” and 'single' ones: {{x}}"
      Architectures: [x86_64]
      Layers:
        - !Ref SharedLayer
        - !Sub 'arn:aws:lambda:${{AWS::Region}}:123456789012:layer:extra:{index}'
      Role: !GetAtt Role{index:03d}.Arn
      CodeSigningConfigArn: !If [IsProd, !Ref Csc, !Ref 'AWS::NoValue']
      Environment:
        Variables:
          TABLE: !Ref Table
          NAME: !Sub "${{AWS::StackName}}-fn{index}"
          JOINED: !Join [",", [!Ref A, !GetAtt [B, Arn], literal]]
          SELECT: !Select [0, !GetAZs '']
          OCTAL: '0755'
          YES_STRING: 'yes'
          BOOL: yes
          DATE: 2024-01-0{1 + index % 9}
          EMPTY: ''
          SCRIPT: |
            #!/bin/sh
            echo "fn {index}"
              indented line
          FOLDED: >
            folded text
            over lines
      Events:
        Api:
          Type: Api
          Properties: {{Path: /fn{index}, Method: get}}
        Schedule: &schedule{index}
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: true
        Again: *schedule{index}
      Policies:
        - Statement:
            - Effect: Allow
              Action: ['s3:GetObject', "s3:PutObject"]
              Resource: !Sub 'arn:aws:s3:::${{Bucket}}/*'
        - DynamoDBCrudPolicy: {{TableName: !Ref Table}}
"""


def _template(functions: int) -> str:
    header = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Description: >-
  A generated template of many functions
Parameters:
  Env: {Type: String, Default: prod, AllowedValues: [prod, dev]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Globals:
  Function:
    Timeout: 10
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared/}
"""
    return header + "".join(_function(i) for i in range(functions))


def test_the_c_loader_and_dumper_are_the_ones_used() -> None:
    assert issubclass(tpl.LOADER, yaml.CSafeLoader)
    assert issubclass(tpl.DUMPER, yaml.CSafeDumper)
    assert not issubclass(tpl.PURE_LOADER, yaml.CSafeLoader)


def test_a_500_function_template_reads_and_writes_identically() -> None:
    text = _template(500)
    started = time.perf_counter()
    fast = tpl.parse_template(text, origin="t.yaml")
    fast_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pure = tpl.parse_template(text, origin="t.yaml", loader=tpl.PURE_LOADER)
    pure_seconds = time.perf_counter() - started
    assert fast == pure
    fn = fast["Resources"]["Function007"]["Properties"]
    assert fn["Role"] == {"Fn::GetAtt": ["Role007", "Arn"]}
    assert fn["Environment"]["Variables"]["DATE"] == "2024-01-08"  # timestamps stay text
    assert fast["AWSTemplateFormatVersion"] == "2010-09-09"

    written = tpl.dump_template(fast)
    assert written == tpl.dump_template(pure, dumper=tpl.PURE_DUMPER)
    assert tpl.parse_template(written, origin="out.yaml") == fast
    assert "&id0" not in written and "*id0" not in written  # aliases are written out
    # Not a timed test, a sanity check that the C path is the fast one.
    assert fast_seconds < pure_seconds


@pytest.mark.parametrize(
    "bad", ["Resources: [unclosed", "Resources:\n  A: {Type: x}\n\tB: 1\n", "a: b: c"]
)
def test_bad_yaml_is_refused_alike_naming_the_line(bad: str) -> None:
    messages = []
    for loader in (tpl.LOADER, tpl.PURE_LOADER):
        with pytest.raises(ValidationError, match="line") as caught:
            tpl.parse_template(bad, origin="bad.yaml", loader=loader)
        messages.append(str(caught.value))
    assert all("bad.yaml" in m for m in messages)
