"""The sandbox engine: a local emulator of the TensorPool API."""
