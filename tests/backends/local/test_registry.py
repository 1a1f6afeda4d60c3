"""The local function registry takes the inputs a function has on AWS and records them, so
one program runs on both backends; layers are deleted as on Lambda; refresh's read-back."""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provider import schemas
from provider.backends.function_settings import FunctionSettings, LayerSettings
from provider.backends.local import LocalBackend
from provider.errors import DeploymentRejected, NotFoundError, ValidationError

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROLE = "arn:aws:iam::000000000000:role/web"


def _sha256(path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


@pytest.fixture
def csc_arn(ks) -> str:
    """A CSC under Enforce allowing ``publisher``."""
    created = ks.backend.create_code_signing_config([ks.arn], policy="Enforce", now=T0)
    return str(created["CodeSigningConfig"]["CodeSigningConfigArn"])


def test_every_input_is_recorded_and_read_back(ks, make_zip, csc_arn, every_setting) -> None:
    layer = ks.backend.publish_layer_version("deps", ks.signed(make_zip(name="l.zip")), now=T0)
    code = ks.signed(make_zip())
    settings = every_setting(ROLE)
    created = ks.backend.create_function(
        "web", code, csc_arn=csc_arn, layers=[layer["LayerVersionArn"]], now=T0, settings=settings
    )
    schemas.validate(created, "function", what="function")
    assert FunctionSettings.from_function(created) == settings
    assert (created["State"], created["LastUpdateStatus"], created["PackageType"]) == (
        "Active",
        "Successful",
        "Zip",
    )
    assert created["CodeSha256"] == _sha256(code)
    assert [entry["Arn"] for entry in created["Layers"]] == [layer["LayerVersionArn"]]
    assert ks.backend.get_function("web") == created


def test_a_function_without_settings_gets_lambdas_defaults(ks, make_zip) -> None:
    created = ks.backend.create_function("web", make_zip(), now=T0)
    assert (created["Runtime"], created["Handler"], created["MemorySize"]) == (
        "python3.12",
        "app.handler",
        128,
    )
    assert (created["Timeout"], created["Architectures"], created["Tags"]) == (3, ["x86_64"], {})
    assert "Role" not in created  # nothing runs it locally: a role is optional here


def test_publishing_numbers_versions(ks, make_zip) -> None:
    first = ks.backend.create_function(
        "web", make_zip(), now=T0, settings=FunctionSettings(publish=True)
    )
    assert first["Version"] == "1"
    second = ks.backend.update_function_code("web", make_zip(name="v2.zip"), now=T0, publish=True)
    assert second["Version"] == "2"
    assert ks.backend.update_function_code("web", make_zip(name="v3.zip"), now=T0)["Version"] == (
        "$LATEST"
    )


def test_s3_objects_and_images_are_refused_saying_why(ks, make_zip) -> None:
    with pytest.raises(ValidationError, match=r"code: 's3://b/app\.zip' is an S3 object"):
        ks.backend.create_function("web", "s3://b/app.zip", now=T0)
    with pytest.raises(ValidationError, match="package_type: 'Image' is not supported"):
        ks.backend.create_function(
            "web",
            make_zip(),
            now=T0,
            settings=FunctionSettings.from_inputs({"package_type": "Image"}),
        )
    with pytest.raises(NotFoundError):
        ks.backend.get_function("web")


def test_settings_and_tags_are_updated_and_the_architecture_goes_with_the_code(
    ks, make_zip
) -> None:
    ks.backend.create_function(
        "web", make_zip(), now=T0, settings=FunctionSettings(tags={"team": "web", "cost": "a"})
    )
    updated = ks.backend.update_function_configuration(
        "web", now=T0, settings=FunctionSettings(memory_size=512, tags={"team": "api"})
    )
    assert (updated["MemorySize"], updated["Tags"], updated["Runtime"]) == (
        512,
        {"team": "api"},
        "python3.12",
    )
    with pytest.raises(ValidationError, match="architectures: Lambda changes a function's"):
        ks.backend.update_function_configuration(
            "web", now=T0, settings=FunctionSettings(architectures=["arm64"])
        )
    moved = ks.backend.update_function_code(
        "web", make_zip(name="v2.zip"), now=T0, architectures=["arm64"]
    )
    assert moved["Architectures"] == ["arm64"] and moved["MemorySize"] == 512


def test_a_deleted_layer_stays_with_its_functions_but_cannot_be_added(
    ks, make_zip, csc_arn
) -> None:
    layer = ks.backend.publish_layer_version(
        "deps",
        ks.signed(make_zip(name="l.zip")),
        now=T0,
        settings=LayerSettings(compatible_runtimes=["python3.12"], description="deps"),
    )
    arn = layer["LayerVersionArn"]
    assert (layer["CompatibleRuntimes"], layer["Description"]) == (["python3.12"], "deps")
    ks.backend.create_function("web", ks.signed(make_zip()), csc_arn=csc_arn, layers=[arn], now=T0)
    ks.backend.delete_layer_version(arn)
    ks.backend.delete_layer_version(arn)  # already gone: fine, as on Lambda
    assert [entry["Arn"] for entry in ks.backend.get_function("web")["Layers"]] == [arn]
    with pytest.raises(NotFoundError, match=f"layer version {arn} was deleted"):
        ks.backend.create_function("other", ks.signed(make_zip()), layers=[arn], now=T0)
    again = ks.backend.publish_layer_version("deps", ks.signed(make_zip(name="l.zip")), now=T0)
    assert again["Version"] == 2  # numbers are never reused


def test_an_unsigned_layer_change_is_rejected_and_changes_nothing(ks, make_zip, csc_arn) -> None:
    ks.backend.create_function("web", ks.signed(make_zip()), csc_arn=csc_arn, now=T0)
    before = ks.backend.get_function("web")
    unsigned = ks.backend.publish_layer_version("deps", make_zip(name="l.zip"), now=T0)
    with pytest.raises(DeploymentRejected, match=r"layer arn:aws:lambda:.*:layer:deps:1: rejected"):
        ks.backend.update_function_configuration(
            "web",
            layers=[unsigned["LayerVersionArn"]],
            now=T0,
            settings=FunctionSettings(memory_size=1024),
        )
    assert ks.backend.get_function("web") == before


def test_refresh_reads_back_what_changed_out_of_band(ks, make_zip, csc_arn) -> None:
    code = ks.signed(make_zip())
    ks.backend.create_function("web", code, csc_arn=csc_arn, now=T0)
    assert ks.backend.function_drift("web", csc_arn=csc_arn, code=code) == []
    ks.backend.delete_function_code_signing_config("web")
    ks.backend.update_function_code("web", make_zip(name="other.zip"), now=T0)
    assert ks.backend.function_drift(
        "web", csc_arn=csc_arn, code=code, settings=FunctionSettings(timeout=3)
    ) == [
        f"function 'web': code signing config {csc_arn} was detached out of band",
        "function 'web': code changed out of band (CodeSha256 "
        f"{_sha256(make_zip(name='other.zip'))} is not the signed package's {_sha256(code)})",
    ]


def test_an_older_keystore_gains_the_new_columns_and_keeps_its_functions(home, make_zip) -> None:
    backend = LocalBackend(home)
    backend.create_function("web", make_zip(), now=T0)
    db = sqlite3.connect(home / "index.sqlite3")
    for table, column in (
        ("functions", "configuration"),
        ("functions", "tags"),
        ("functions", "published_version"),
        ("layers", "settings"),
        ("layers", "deleted"),
    ):
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # as a keystore made before
    db.commit()
    db.close()
    reopened = LocalBackend(home)
    function = reopened.get_function("web")
    assert (function["Runtime"], function["MemorySize"], function["Tags"]) == (
        "python3.12",
        128,
        {},
    )
    reopened.update_function_configuration("web", now=T0, settings=FunctionSettings(timeout=9))
    assert reopened.get_function("web")["Timeout"] == 9


def test_refresh_shows_a_signature_revoked_or_expired_since_the_deploy(
    ks, make_zip, csc_arn
) -> None:
    job = ks.sign(make_zip())
    code = Path(job["signedObject"]["path"])
    ks.backend.create_function("web", code, csc_arn=csc_arn, now=T0)
    assert ks.backend.function_drift("web", csc_arn=csc_arn, code=code, at=T0) == []
    expired = ks.backend.function_drift(
        "web", csc_arn=csc_arn, code=code, at=T0 + timedelta(days=365 * 12)
    )
    assert len(expired) == 1 and expired[0].startswith(
        "function 'web': since the deploy, the signature expired"
    )
    ks.backend.revoke_signature(job["jobId"], "built from a leaked branch", now=T0 + HOUR)
    assert ks.backend.function_drift("web", csc_arn=csc_arn, code=code, at=T0 + 2 * HOUR) == [
        f"function 'web': since the deploy, the signature (job {job['jobId']}) was revoked: "
        "built from a leaked branch; the function keeps running, but its next deploy would "
        "fail the revocation check"
    ]


#: Deployments the race below makes, at most (each takes milliseconds).
RACE_ITERATIONS = 200


def test_a_package_overwritten_while_it_deploys_is_deployed_as_judged(
    ks, make_zip, csc_arn, tmp_path
) -> None:
    """One thread replaces the source file in a loop (the signed package, then an unsigned
    one); CreateFunction and UpdateFunctionCode under an Enforce config deploy from it.
    Some are refused, some accepted; every accepted one stores the bytes it judged."""
    signed = ks.signed(make_zip()).read_bytes()
    evil = make_zip({"app.py": b"def handler(e, c):\n    return 'EVIL'\n"}, name="evil.zip")
    unsigned = evil.read_bytes()
    source = tmp_path / "racing.zip"
    source.write_bytes(signed)
    stop = threading.Event()
    writes = [0]

    def overwrite() -> None:
        spare = tmp_path / "racing.next"
        while not stop.is_set() and writes[0] < 100 * RACE_ITERATIONS:
            for data in (signed, unsigned):
                spare.write_bytes(data)
                os.replace(spare, source)  # as an editor or a build tool replaces a file
                writes[0] += 1
                time.sleep(0.0005)  # each package stays a moment, for the reader to see

    deployed: list[dict] = []
    refused = 0
    writer = threading.Thread(target=overwrite, daemon=True)
    writer.start()
    try:
        ks.backend.create_function(
            "steady", ks.signed(make_zip(name="first.zip")), csc_arn=csc_arn, now=T0
        )
        for i in range(RACE_ITERATIONS):
            try:
                if i % 2:
                    deployed.append(ks.backend.update_function_code("steady", source, now=T0))
                else:
                    deployed.append(
                        ks.backend.create_function(f"fn{i}", source, csc_arn=csc_arn, now=T0)
                    )
            except DeploymentRejected:
                refused += 1
    finally:
        stop.set()
        writer.join(30)
    assert writes[0] > 10 and deployed and refused, (writes[0], len(deployed), refused)
    wrong = [
        d["FunctionName"]
        for d in deployed
        if Path(d["CodeLocation"]).read_bytes() != signed
        or d["CodeSha256"] != base64.b64encode(hashlib.sha256(signed).digest()).decode()
    ]
    assert not wrong, f"{len(wrong)} of {len(deployed)} accepted deployments store other bytes"
    # The private copies of refused deployments are gone.
    assert not list(ks.backend.store.objects_dir.glob(".incoming-*"))
