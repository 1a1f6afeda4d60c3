"""A helper shipped as a layer."""


def greeting(word: str) -> str:
    """Capitalise a greeting."""
    return word.capitalize() + "!"
