"""Hypothesis strategies shared by the tests that check a hand-written validator accepts and
rejects exactly what its JSON Schema does (tests/provider/test_*_validator.py)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


def json_values(samples: Sequence[Any]) -> st.SearchStrategy[Any]:
    """Any small JSON value, with ``samples`` (values near the schema's own) among the
    scalars."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-3, max_value=3),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.sampled_from(list(samples)),
        st.text(max_size=12),
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=6,
    )


def near(text: str, tricky: Sequence[str]) -> st.SearchStrategy[str]:
    """Strings close to a valid one: edits at the ends and in the middle with the
    ``tricky`` characters of the schema's patterns, truncations, repeats, any text."""
    tricky_text = st.sampled_from(list(tricky))
    return st.one_of(
        st.just(text),
        st.builds(lambda t: text + t, tricky_text),
        st.builds(lambda t: t + text, tricky_text),
        st.builds(lambda i: text[:i], st.integers(0, max(0, len(text)))),
        st.builds(
            lambda i, c: text[:i] + c + text[i + 1 :],
            st.integers(0, max(0, len(text) - 1)),
            st.one_of(tricky_text, st.sampled_from(string.printable)),
        ),
        st.builds(lambda n: text * n, st.integers(0, 3)),
        st.text(max_size=20),
    )
