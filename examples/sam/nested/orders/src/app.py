"""Takes orders."""

from orders_lib import total


def handler(event: dict, context: object) -> dict:
    """Total an order."""
    return {"statusCode": 200, "body": str(total(event.get("items", [])))}
