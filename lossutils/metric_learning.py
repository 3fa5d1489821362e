"""Embedding losses and triplet mining (chapter 10)."""

__all__: list[str] = []
