"""Registering and listing model versions (written with the registry)."""
