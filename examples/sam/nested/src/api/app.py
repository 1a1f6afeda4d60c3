"""Answers the API."""


def handler(event: dict, context: object) -> dict:
    """Say which service answered."""
    return {"statusCode": 200, "body": "api"}
