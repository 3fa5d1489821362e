"""Checks for classic loss mistakes and loss recommendations (chapter 11)."""

__all__: list[str] = []
