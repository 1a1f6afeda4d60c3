"""Bills orders."""

from billing_lib import invoice


def handler(event: dict, context: object) -> dict:
    """Invoice an order."""
    return {"statusCode": 200, "body": invoice(event.get("order", "?"))}
