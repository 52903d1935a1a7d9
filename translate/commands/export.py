"""`translate export`."""

from __future__ import annotations

from translate.errors import UserError


def export() -> None:
    """Not built yet."""
    raise UserError("`translate export` is not available yet in this version.")
