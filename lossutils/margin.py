"""Margin and ranking losses (chapter 9)."""

__all__: list[str] = []
