"""Order helpers shipped as a layer."""


def total(items: list) -> int:
    """The sum of the items' prices."""
    return sum(int(item.get("price", 0)) for item in items)
