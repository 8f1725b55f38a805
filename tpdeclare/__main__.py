"""Entry point for `python -m tpdeclare`."""

from tpdeclare.cli import main

raise SystemExit(main())
