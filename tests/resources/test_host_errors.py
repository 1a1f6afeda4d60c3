"""How a failed step reaches the engine, without process-wide side effects.

The dynamic provider host reports a failed step as ``traceback.format_exc()`` of its own
module (pulumi/dynamic/__main__.py); the engine tests (tests/engine/test_previews.py) show
the user sees one line. Here: importing and configuring the providers changes neither the
:mod:`traceback` module nor ``sys.tracebacklimit``, and only the host's module, when this
process is the host, sees the one-line rendering.
"""

from __future__ import annotations

import importlib.machinery
import subprocess
import sys
import textwrap
import traceback
import types
from typing import Any

import pytest

from provider.errors import CodesignError, ValidationError
from provider.resources._base import HOST_MODULE, CodesignProvider, CodesignStepError, reported

_PROBE = textwrap.dedent(
    """
    import sys, traceback
    format_exc, print_exc = traceback.format_exc, traceback.print_exc
    import provider.resources
    from provider.resources.code_signing_config import CodeSigningConfigProvider
    from provider.resources.function import LambdaFunctionProvider
    from provider.resources.layer import LayerVersionProvider
    from provider.resources.signed_package import SignedPackageProvider
    from provider.resources.signing_profile import SigningProfileProvider
    for provider_class in (CodeSigningConfigProvider, LambdaFunctionProvider,
                           LayerVersionProvider, SignedPackageProvider, SigningProfileProvider):
        provider_class().configure(None)
    assert traceback.format_exc is format_exc and traceback.print_exc is print_exc
    assert not hasattr(sys, "tracebacklimit"), sys.tracebacklimit
    from provider.resources._base import CodesignStepError
    try:
        raise CodesignStepError("ValidationException: role: bad")
    except CodesignStepError:
        shown = traceback.format_exc()
    assert shown.startswith("Traceback (most recent call last):"), shown
    print("untouched")
    """
)


def test_importing_and_configuring_the_providers_leaves_traceback_untouched() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "untouched"


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A stand-in for the dynamic provider host's module as ``python -m pulumi.dynamic``
    runs it: ``__main__``, with the spec of ``pulumi.dynamic.__main__``, using traceback."""
    module = types.ModuleType("__main__")
    module.__spec__ = importlib.machinery.ModuleSpec(HOST_MODULE, None)
    vars(module)["traceback"] = traceback
    monkeypatch.setitem(sys.modules, "__main__", module)
    return module


#: What ``configure`` is given (it reads nothing of it).
_NO_CONFIG: Any = None


def _shown(host: types.ModuleType, error: BaseException) -> str:
    """What the host's ``_abort_with_traceback`` sends the engine for ``error``."""
    try:
        raise error
    except Exception:
        return str(vars(host)["traceback"].format_exc())


def test_in_the_host_a_step_error_is_its_one_line(host: types.ModuleType) -> None:
    CodesignProvider().configure(_NO_CONFIG)

    with pytest.raises(CodesignStepError) as raised, reported():
        raise ValidationError("role: 'x' is not an IAM role ARN", field="role")
    assert _shown(host, raised.value) == "ValidationException: role: 'x' is not an IAM role ARN"
    assert (raised.value.code, raised.value.field) == ("ValidationException", "role")
    # A CodesignError raised outside a step (a keystore refused in check): its line.
    assert _shown(host, CodesignError("keystore is open", code="KeystoreError")) == (
        "KeystoreError: keystore is open"
    )
    # A defect keeps its traceback: it is what a bug report needs.
    defect = _shown(host, KeyError("settings"))
    assert defect.startswith("Traceback (most recent call last):") and "KeyError" in defect
    # Only the host's name changed: the traceback module everyone else uses did not.
    assert traceback.format_exc.__module__ == "traceback"
    assert not hasattr(sys, "tracebacklimit")
    assert vars(host)["traceback"].print_exc is traceback.print_exc


def test_outside_the_host_configure_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    program: Any = types.ModuleType("__main__")
    program.__spec__ = importlib.machinery.ModuleSpec("my_program", None)
    vars(program)["traceback"] = traceback
    monkeypatch.setitem(sys.modules, "__main__", program)

    format_exc = traceback.format_exc

    CodesignProvider().configure(_NO_CONFIG)

    assert vars(program)["traceback"] is traceback
    assert traceback.format_exc is format_exc and not hasattr(sys, "tracebacklimit")


# --- no broad except hides a defect in check ---------------------------------------------------
def _profile(settings: dict[str, Any], revocation: Any) -> dict[str, Any]:
    return {"logical_name": "publisher", "profile_name": "team_r", "auto_named": False,
            "platform_id": "AWSLambda-SHA384-ECDSA",
            "signature_validity_period": {"value": 135, "type": "MONTHS"},
            "revocation": revocation, "settings": settings}  # fmt: skip


REVOKED = {"reason": "key leaked", "effective_time": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "revocation",
    [
        "soon",
        {"reason": "r"},
        {"reason": "r", "effective_time": 5},
        {"reason": "r", "effective_time": "soon"},
    ],
)
def test_a_malformed_revocation_is_the_schemas_failure(
    settings: dict[str, Any], revocation: Any
) -> None:
    from provider.resources.signing_profile import SigningProfileProvider

    failures = (
        SigningProfileProvider()
        .check(_profile(settings, REVOKED), _profile(settings, revocation))
        .failures
    )
    assert [f.property for f in failures] == ["revocation"]
    assert failures[0].reason.startswith("SigningProfile input revocation")


def test_a_defect_in_check_is_raised_not_made_a_failure(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from provider.resources import signing_profile

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    provider = signing_profile.SigningProfileProvider()
    monkeypatch.setattr(signing_profile, "parse_instant", broken)
    with pytest.raises(KeyError):
        provider.check(_profile(settings, REVOKED), _profile(settings, REVOKED))
    monkeypatch.setattr(signing_profile.ValidityPeriod, "from_document", broken)
    with pytest.raises(KeyError):
        provider.check({}, _profile(settings, None))
