"""Entropy, KL divergence and distillation (chapter 8)."""

__all__: list[str] = []
