"""Record what the engine hands a policy pack: each resource as a resource policy sees it
(``resources.json``, appended as the engine analyses them) and the stack as a stack policy
sees it (``stack.json``), in ``$DUMP_DIR``. Run as a second ``--policy-pack``."""

import json
import os
from pathlib import Path

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import serialize_properties

OUT = Path(os.environ["DUMP_DIR"])


def _record(resource_type, urn, name, props, dependencies):
    return {
        "type": resource_type,
        "urn": urn,
        "name": name,
        "props": serialize_properties(props),
        "property_dependencies": dependencies,
    }


def dump_resource(args, report):
    path = OUT / "resources.json"
    seen = json.loads(path.read_text()) if path.exists() else []
    seen.append(_record(args.resource_type, args.urn, args.name, args.props, {}))
    path.write_text(json.dumps(seen, indent=1, sort_keys=True))


def dump_stack(args, report):
    records = [
        _record(
            r.resource_type,
            r.urn,
            r.name,
            r.props,
            {k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
        )
        for r in args.resources
    ]
    (OUT / "stack.json").write_text(json.dumps(records, indent=1, sort_keys=True))


PolicyPack(
    "dump",
    [
        ResourceValidationPolicy(
            name="dump-resources",
            description="dump",
            validate=dump_resource,
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
        StackValidationPolicy(
            name="dump-stack",
            description="dump",
            validate=dump_stack,
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
    ],
)
