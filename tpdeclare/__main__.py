"""Entry point for `python -m tpdeclare`."""

from tpdeclare.cli import run

run()
