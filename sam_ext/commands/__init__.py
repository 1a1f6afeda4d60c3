"""The command groups of ``sam-ext``."""
