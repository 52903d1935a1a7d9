"""Dataset cards: one YAML per dataset, resolved by name (translate datasets list)."""
