"""`translate evaluate`."""

from __future__ import annotations

from translate.errors import UserError


def evaluate() -> None:
    """Not built yet."""
    raise UserError("`translate evaluate` is not available yet in this version.")
