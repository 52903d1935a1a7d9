"""Recipes: one YAML per job, resolved by name (translate recipes list)."""
