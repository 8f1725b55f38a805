"""The TensorPool API client."""
