"""Says goodbye."""


def handler(event: dict, context: object) -> dict:
    """Bid farewell."""
    return {"statusCode": 200, "body": "goodbye"}
