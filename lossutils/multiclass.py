"""Multi-class cross-entropy and NLL (chapter 5)."""

__all__: list[str] = []
