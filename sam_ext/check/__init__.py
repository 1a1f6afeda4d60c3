"""``sam-ext check``: Lambda's verdict for every function and layer of a template (SAM or
CloudFormation, JSON or YAML, nested stacks included) or of a CDK cloud assembly, before
anything deploys.

A template becomes the typed model of :mod:`sam_ext.check.model` (:mod:`sam_ext.check.reader`
reads it), and the one prediction (:func:`provider.prediction.predict`) decides each deploy
(:mod:`sam_ext.check.judge`); :mod:`sam_ext.check.findings` holds what is reported.
"""

from sam_ext.check.api import check_document, check_template
from sam_ext.check.findings import CheckOptions, CheckReport, FailOn, Finding, Standing

__all__ = [
    "CheckOptions",
    "CheckReport",
    "FailOn",
    "Finding",
    "Standing",
    "check_document",
    "check_template",
]
