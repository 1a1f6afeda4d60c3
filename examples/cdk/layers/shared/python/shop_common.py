"""Helpers shared by the shop's functions (a Lambda layer: python/ is on the path)."""


def total(items: list[dict]) -> int:
    """The sum of the items' prices, in cents."""
    return sum(int(item.get("price", 0)) for item in items)
