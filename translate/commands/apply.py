"""`translate apply`."""

from __future__ import annotations

from translate.errors import UserError


def apply() -> None:
    """Not built yet."""
    raise UserError("`translate apply` is not available yet in this version.")
