"""Billing helpers shipped as a layer."""


def invoice(order: str) -> str:
    """An invoice line for an order."""
    return f"invoice for {order}"
