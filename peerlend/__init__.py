"""Peerlend: shared Python helpers (deployment records, wallet CLI)."""
