"""Command-line spellings before argparse: Terraform's single-dash options, and did-you-mean for unknown ones."""

from __future__ import annotations

import argparse
import re

from tpdeclare.cli_parser import UsageError
from tpdeclare.suggestions import did_you_mean


class _Unknown(Exception):
    """A Terraform spelling with a value tpdeclare cannot take."""


_SINGLE_DASH_WORD = re.compile(r"-[A-Za-z][A-Za-z-]+")
# Global options that take a value: the word after them is not the command.
_VALUED_GLOBALS = frozenset({"--engine", "--state", "--lock-timeout"})


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(o for o in parser._option_string_actions if o.startswith("--"))


def _terraform_spelling(token: str, options: list[str], command: str) -> list[str] | None:
    """`-auto-approve`, `-out=FILE`, `-refresh=false` ... as tpdeclare spells them; None if not one."""
    if token.startswith("--") or not token.startswith("-") or len(token) < 3 or not token[1].isalpha():
        return None
    name, eq, value = token[1:].partition("=")
    if name == "refresh" and eq:
        flag = value.strip().lower()
        if flag not in ("true", "false"):
            raise _Unknown(f"-refresh takes true or false, not {value!r}")
        if command == "apply":
            return ["--no-refresh"] if flag == "false" else []
        if command == "plan":
            return ["--refresh"] if flag == "true" else []
        return None
    long = f"--{name}"
    if long not in options:
        return None
    return [f"{long}={value}"] if eq else [long]


def normalise(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """argv with Terraform's spellings rewritten; UsageError with a did-you-mean for an unknown command or
    option, pointing at that command's --help."""
    out: list[str] = []
    current = parser
    command = ""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out.extend(argv[i:])
            break
        if token.startswith("-") and token != "-":
            options = _long_options(current)
            try:
                rewritten = _terraform_spelling(token, options, command)
            except _Unknown as exc:
                raise UsageError(str(exc), f"run `{current.prog} --help` for the options", current) from None
            if rewritten is not None:
                out.extend(rewritten)
                i += 1
                continue
            if token.startswith("--"):
                _check_option(token.partition("=")[0], options, current)
            elif _SINGLE_DASH_WORD.fullmatch(token.partition("=")[0]) and not set(token[1:]) <= {"v"}:
                _check_option("-" + token.partition("=")[0], options, current, shown=token.partition("=")[0])
            out.append(token)
            if token in _VALUED_GLOBALS and i + 1 < len(argv):
                out.append(argv[i + 1])
                i += 1
        else:
            choices = _subparsers(current)
            if choices:
                if token not in choices:
                    where = current.prog
                    hint = f"run `{where} --help` for the commands"
                    guess = did_you_mean(token, choices)
                    what = f"unknown command '{token}'" + (f" for `{where}`" if current is not parser else "")
                    raise UsageError(what + (f"; did you mean '{guess}'?" if guess else ""), hint, current)
                current = choices[token]
                command = f"{command} {token}".strip()
            out.append(token)
        i += 1
    return out


def _check_option(name: str, options: list[str], parser: argparse.ArgumentParser, shown: str | None = None) -> None:
    if name in options or sum(1 for o in options if o.startswith(name)) == 1:  # argparse takes unique prefixes
        return
    guess = did_you_mean(name, options)
    hint = f"run `{parser.prog} --help` for the options"
    what = f"unknown option '{shown or name}'" + (f" for `{parser.prog}`" if " " in parser.prog else "")
    raise UsageError(what + (f"; did you mean '{guess}'?" if guess else ""), hint, parser)
