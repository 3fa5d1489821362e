"""Regression losses (chapter 3)."""

__all__: list[str] = []
