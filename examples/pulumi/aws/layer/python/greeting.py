"""A shared module, deployed as a signed layer."""

GREETING = "hello from a signed layer"
