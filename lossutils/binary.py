"""Binary, multi-label and focal losses (chapters 4 and 7)."""

__all__: list[str] = []
