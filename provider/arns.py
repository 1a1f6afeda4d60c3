"""ARN and identifier shapes shared by both backends (AWS's exact patterns)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from provider.errors import ValidationError

PROFILE_NAME_RE = re.compile(r"^[a-zA-Z0-9_]{2,64}$")
PROFILE_VERSION_RE = re.compile(r"^[a-zA-Z0-9]{10}$")
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
PROFILE_VERSION_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):signer:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12})"
    r":/signing-profiles/(?P<name>[a-zA-Z0-9_]{2,64})/(?P<version>[a-zA-Z0-9]{10})$"
)
CSC_ID_RE = re.compile(r"^csc-[a-zA-Z0-9-_\.]{17}$")
CSC_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12})"
    r":code-signing-config:(?P<id>csc-[a-zA-Z0-9-_\.]{17})$"
)
FUNCTION_NAME_RE = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
JOB_ID_RE = re.compile(r"^[0-9a-fA-F-]{36}$")
#: CloudFormation's stack names (the local backend's stacks take the same).
STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")

PLATFORM_LAMBDA = "AWSLambda-SHA384-ECDSA"


def check_stack_name(name: str) -> str:
    """A stack name: a letter, then letters, digits and '-', at most 128 characters."""
    if not isinstance(name, str) or not STACK_NAME_RE.match(name):
        raise ValidationError(
            f"--stack-name: {name!r} is not a CloudFormation stack name (a letter, then "
            "letters, digits and '-', at most 128 characters)",
            field="--stack-name",
        )
    return name


def check_profile_name(name: str, field: str = "profileName") -> str:
    """Validate a signing profile name (2-64 of ``[A-Za-z0-9_]``)."""
    if not isinstance(name, str) or not PROFILE_NAME_RE.match(name):
        raise ValidationError(
            f"{field}: {name!r} must be 2 to 64 characters of letters, digits and '_'", field=field
        )
    return name


def check_platform(platform_id: str, field: str = "platformId") -> str:
    """Lambda code signing uses one Signer platform; refuse the others by name."""
    if platform_id != PLATFORM_LAMBDA:
        raise ValidationError(
            f"{field}: {platform_id!r} is not supported; Lambda code signing uses "
            f"{PLATFORM_LAMBDA}",
            field=field,
        )
    return platform_id


def check_profile_version(version: str, field: str = "profileVersion") -> str:
    """Validate a profile version (10 alphanumerics)."""
    if not isinstance(version, str) or not PROFILE_VERSION_RE.match(version):
        raise ValidationError(
            f"{field}: {version!r} must be exactly 10 letters or digits", field=field
        )
    return version


def check_account(account: str, field: str = "profileOwner") -> str:
    """Validate a 12-digit AWS account id."""
    if not isinstance(account, str) or not ACCOUNT_RE.match(account):
        raise ValidationError(
            f"{field}: {account!r} must be a 12-digit AWS account id", field=field
        )
    return account


@dataclass(frozen=True)
class Location:
    """Where a backend's resources live: partition, region and account of the ARNs."""

    region: str
    account: str
    partition: str = "aws"

    def profile_arn(self, name: str) -> str:
        """``arn:aws:signer:{region}:{account}:/signing-profiles/{name}``."""
        return f"arn:{self.partition}:signer:{self.region}:{self.account}:/signing-profiles/{name}"

    def profile_version_arn(self, name: str, version: str) -> str:
        """The profile ARN + ``/{profileVersion}``."""
        return f"{self.profile_arn(name)}/{version}"

    def csc_arn(self, csc_id: str) -> str:
        """``arn:aws:lambda:{region}:{account}:code-signing-config:{id}``."""
        return (
            f"arn:{self.partition}:lambda:{self.region}:{self.account}:code-signing-config:{csc_id}"
        )

    def function_arn(self, name: str) -> str:
        """``arn:aws:lambda:{region}:{account}:function:{name}``."""
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"


@dataclass(frozen=True)
class ProfileVersionRef:
    """A parsed signing profile version ARN."""

    arn: str
    region: str
    account: str
    name: str
    version: str


def parse_profile_version_arn(
    arn: str, field: str = "SigningProfileVersionArns"
) -> ProfileVersionRef:
    """Parse a profile version ARN, or raise naming ``field``."""
    match = PROFILE_VERSION_ARN_RE.match(arn) if isinstance(arn, str) else None
    if not match:
        raise ValidationError(
            f"{field}: {arn!r} is not a signing profile version ARN "
            "(arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME/VERSION)",
            field=field,
        )
    return ProfileVersionRef(
        arn, match["region"], match["account"], match["name"], match["version"]
    )


def check_csc_arn(arn: str, field: str = "CodeSigningConfigArn") -> str:
    """Validate a code signing config ARN."""
    if not isinstance(arn, str) or not CSC_ARN_RE.match(arn):
        raise ValidationError(
            f"{field}: {arn!r} is not a code signing config ARN "
            "(arn:aws:lambda:REGION:ACCOUNT:code-signing-config:csc-...)",
            field=field,
        )
    return arn


_ALNUM = string.ascii_letters + string.digits


def new_profile_version() -> str:
    """A fresh 10-character profile version."""
    import secrets  # imported when an id is made, not by every reader of ARNs

    return "".join(secrets.choice(_ALNUM) for _ in range(10))


def new_csc_id() -> str:
    """A fresh ``csc-`` + 17 characters id."""
    import secrets

    return "csc-" + secrets.token_hex(9)[:17]


def new_job_id() -> str:
    """A fresh signing job id (a UUID, as Signer issues)."""
    import uuid

    return str(uuid.uuid4())
