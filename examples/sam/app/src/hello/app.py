"""Says hello."""

from shared import greeting


def handler(event: dict, context: object) -> dict:
    """Greet the caller."""
    return {"statusCode": 200, "body": greeting("hello")}
