"""State documents and the stores that keep them."""
