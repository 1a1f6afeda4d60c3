"""Signature validity periods: ``{value, type}`` with AWS Signer's bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provider.clock import add_days, add_months
from provider.errors import ValidationError

PERIOD_TYPES = ("DAYS", "MONTHS", "YEARS")

#: AWS Signer's maximum (and default) validity, in months.
MAX_MONTHS = 135
#: The day bound equivalent to 135 months (135 x 365.25 / 12 days, rounded down): Signer
#: states the bound in months only, so DAYS periods are held to the mean length of them.
MAX_DAYS = 4109
#: Whole years that fit in 135 months.
MAX_YEARS = MAX_MONTHS // 12


@dataclass(frozen=True)
class ValidityPeriod:
    """How long signatures made by a profile stay valid after signing."""

    value: int
    type: str

    def __post_init__(self) -> None:
        field = "signatureValidityPeriod"
        if self.type not in PERIOD_TYPES:
            raise ValidationError(
                f"{field}.type: {self.type!r} is not one of {', '.join(PERIOD_TYPES)}",
                field=f"{field}.type",
            )
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise ValidationError(
                f"{field}.value: {self.value!r} is not a whole number", field=f"{field}.value"
            )
        limit = {"DAYS": MAX_DAYS, "MONTHS": MAX_MONTHS, "YEARS": MAX_YEARS}[self.type]
        if not 1 <= self.value <= limit:
            raise ValidationError(
                f"{field}: {self.value} {self.type} is outside 1 day to 135 months "
                f"(for {self.type}: 1 to {limit})",
                field=field,
            )

    @classmethod
    def default(cls) -> ValidityPeriod:
        """Signer's default: 135 months."""
        return cls(MAX_MONTHS, "MONTHS")

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> ValidityPeriod:
        """Build from the API shape ``{"value": V, "type": T}``; ``None`` means default."""
        if document is None:
            return cls.default()
        value = document.get("value")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON and Pulumi's wire format carry numbers as floats
        return cls(value, document.get("type"))  # type: ignore[arg-type]

    @classmethod
    def parse_shorthand(cls, text: str) -> ValidityPeriod:
        """Parse the AWS CLI shorthand ``value=12,type=MONTHS``."""
        fields: dict[str, str] = {}
        for part in text.split(","):
            key, sep, val = part.partition("=")
            if not sep or key.strip() not in ("value", "type"):
                raise ValidationError(
                    f"--signature-validity-period: {text!r} is not of the form "
                    "value=V,type=DAYS|MONTHS|YEARS",
                    field="--signature-validity-period",
                )
            fields[key.strip()] = val.strip()
        if set(fields) != {"value", "type"}:
            raise ValidationError(
                f"--signature-validity-period: {text!r} needs both value= and type=",
                field="--signature-validity-period",
            )
        try:
            value = int(fields["value"])
        except ValueError:
            raise ValidationError(
                f"--signature-validity-period: value {fields['value']!r} is not a whole number",
                field="--signature-validity-period",
            ) from None
        return cls(value, fields["type"].upper())

    def expiry_from(self, signed_at: datetime) -> datetime:
        """The instant a signature made at ``signed_at`` expires."""
        if self.type == "DAYS":
            return add_days(signed_at, self.value)
        months = self.value * 12 if self.type == "YEARS" else self.value
        return add_months(signed_at, months)

    def to_document(self) -> dict[str, Any]:
        """The API shape."""
        return {"value": self.value, "type": self.type}
