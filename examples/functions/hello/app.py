"""A tiny Lambda handler used by the demo, the examples and the tests."""


def handler(event: dict, context: object) -> dict:
    """Greet whoever is named in the event."""
    return {"statusCode": 200, "body": f"hello, {event.get('name', 'world')}"}
