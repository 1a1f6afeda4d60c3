"""The local keystore fixtures (see :mod:`local_keystore`)."""

from local_keystore import Keystore, backend, ks

__all__ = ["Keystore", "backend", "ks"]
