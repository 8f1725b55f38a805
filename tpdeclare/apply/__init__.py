"""Applying plans: the executor and crash recovery."""
