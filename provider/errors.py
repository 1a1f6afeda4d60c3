"""The one exception family of the project.

Every failure a user can cause or meet is a :class:`CodesignError` whose message names the
input at fault (and, where the input has a name, ``field`` carries it, so that no caller
parses it out of the message). The CLI catches it once and prints the message; Pulumi
providers let it surface as the step's error. ``code`` carries the AWS error name where one
applies, so the local backend fails the way the real service would. Every exception class
of ``provider`` and ``sam_ext`` derives from it (tests/provider/test_error_tree.py); an
exception of any other class is a defect, shown as one (with its type) at the process's
edge.
"""

from __future__ import annotations


class CodesignError(Exception):
    """Base of every error this project raises on purpose."""

    #: AWS-style error code (e.g. ``ValidationException``), shown before the message.
    code: str = "CodesignError"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        #: The input the message names (a resource input, an option, an API member), when
        #: the error is about one input: ``profileName``, ``--at``, ``renew_before``.
        self.field = field

    @property
    def message(self) -> str:
        """The human-readable message, without the code."""
        return str(self.args[0])

    def __str__(self) -> str:
        return f"{self.code}: {self.args[0]}"


class ValidationError(CodesignError):
    """An input broke a documented rule (name pattern, length, enum, bound).

    ``field`` names the input at fault, where the raiser knows it (the message then starts
    ``field: ...``)."""

    code = "ValidationException"


class NotFoundError(CodesignError):
    """A named resource (profile, job, CSC, function) does not exist."""

    code = "ResourceNotFoundException"


class AccessDeniedError(CodesignError):
    """A call refused for lack of a permission: by AWS (IAM, a bucket policy, a profile
    permission), or by ``sam-ext serve`` for another account's signing profile; the
    message names the action and the resource."""

    code = "AccessDeniedException"


class ConflictError(CodesignError):
    """The request conflicts with current state (name taken, CSC in use, ...)."""

    code = "ConflictException"


class SigningJobFailed(CodesignError):
    """A signing job ended ``Failed``; the message is the job's ``statusReason``."""

    code = "SigningJobFailed"

    def __init__(self, message: str, *, job_id: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


class KeystoreError(CodesignError):
    """The keystore is missing, corrupt, unreadable, or has unsafe permissions."""

    code = "KeystoreError"


class StaleTrustFile(CodesignError):
    """A trust file that verifies, refused because it was exported longer ago than the
    verifier's bound (``--trust-max-age``): a refused input, not a malformed one."""

    code = "StaleTrustFile"


class DeploymentRejected(CodesignError):
    """A deployment was refused by code signing checks (as Lambda refuses it).

    ``code`` is the Lambda exception name: ``InvalidCodeSignatureException`` for an
    integrity failure, ``CodeVerificationFailedException`` otherwise.
    """

    def __init__(self, message: str, *, code: str, verdict: object = None) -> None:
        super().__init__(message, code=code)
        self.verdict = verdict
