"""The confirmation prompt: a typed `yes`, never a hang without a terminal."""

from __future__ import annotations

import sys

from tpdeclare import errors
from tpdeclare.commands.console import Console


def ask_yes(console: Console, auto_approve: bool, question: str, *, doing: str = "apply") -> None:
    """Ask for a typed `yes` unless --auto-approve; refuse (never hang) without a terminal."""
    if auto_approve:
        return
    if not sys.stdin or not sys.stdin.isatty():
        raise errors.TpdeclareError(
            f"refusing to {doing} without confirmation: standard input is not a terminal",
            hint="review the output above, then run again with --auto-approve"
            + (" (or apply a saved plan file)" if doing == "apply" else ""),
        )
    console.print(f"\n{question}\n  Only 'yes' will be accepted to approve.\n")
    console.print("  Enter a value: ", end="")
    try:
        answer = sys.stdin.readline().strip()
    except KeyboardInterrupt:
        raise errors.Interrupted("interrupted at the prompt; nothing was changed") from None
    if answer != "yes":
        raise errors.TpdeclareError(f"{doing} cancelled; nothing was changed")
