"""The assertion every bad-input table makes: the error names the function, says what was wrong
and how to fix it."""

import re

import pytest


def assert_clear_error(fn, args, kwargs, exc, words):
    """``fn(*args, **kwargs)`` raises ``exc`` naming ``lossutils.<fn>``, with a ``Fix:`` and a
    message matching the regular expression ``words``."""
    with pytest.raises(exc, match=f"lossutils.{fn.__name__}") as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "Fix:" in message, message
    assert re.search(words, message), message
