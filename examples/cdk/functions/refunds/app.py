"""Refunds: acknowledges a refund request."""


def handler(event: dict, context: object) -> dict:
    """Acknowledge the refund of the order in the event."""
    return {"statusCode": 202, "body": f"refund of {event.get('order', '?')} accepted"}
