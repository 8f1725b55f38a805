"""The command line is parsed by a parser built for the commands it names alone (cli_parser.parse): it reads
every command line exactly as the whole parser does, and anything that is not a clean parse (help, a usage
error, no command) is the whole parser's, word for word."""

from __future__ import annotations

import argparse

import pytest
from tpdeclare import cli
from tpdeclare.cli_parser import COMMAND_NAMES, UsageError, build_parser, parse
from tpdeclare.cli_spellings import normalise

GOOD = [
    ["plan", "spec"],
    ["plan", "spec", "--state", "s.json", "--no-color"],
    ["--state", "s.json", "plan", "a.yaml", "b.yaml", "--json", "--target", "x", "--replace", "y"],
    ["plan", "spec", "-out=p.plan", "-target=x", "-refresh=false"],
    ["plan", "spec", "--detailed-exitcode", "--max-hourly-cost", "10", "--prices", "p.yaml", "--summary"],
    ["--engine", "sandbox", "apply", "spec", "-auto-approve", "--parallelism", "3", "--timeout", "30m"],
    ["apply", "p.plan", "--no-refresh", "--json"],
    ["destroy", "spec", "--target", "a", "--auto-approve"],
    ["destroy"],
    ["expire", "spec", "--warn-only"],
    ["validate", "plan"],
    ["validate", "--stacks-of", "a.yaml"],
    ["schema", "--out", "x.json"],
    ["show", "p.plan", "--markdown"],
    ["refresh", "spec", "--auto-approve"],
    ["import", "a", "c-1", "spec"],
    ["orphans", "spec"],
    ["output", "spec", "name", "--raw"],
    ["doctor", "--json"],
    ["force-unlock", "abc", "spec"],
    ["state", "list", "--spec", "spec"],
    ["state", "mv", "a", "b"],
    ["state", "rm", "a", "b", "--state", "s.json"],
    ["-v", "plan", "spec", "--lock-timeout", "5"],
    ["plan", "--", "-odd.yaml"],
]
BAD = [
    ["plan"],
    ["plan", "spec", "--jsn"],
    ["plan", "spec", "--json", "--markdown"],
    ["pla", "spec"],
    ["plan", "spec", "--max-hourly-cost", "-1"],
    ["apply", "spec", "--parallelism", "0"],
    ["state"],
    ["state", "lst"],
    ["import", "a"],
    ["validate", "spec", "plan", "--refresh"],
    ["--state"],
    ["frobnicate", "plan"],
]


def _whole(words: list[str]) -> argparse.Namespace:
    parser = build_parser(words)
    return parser.parse_args(normalise(words, parser))


def test_the_command_names_are_the_whole_parsers():
    parser = build_parser(["sandbox"])
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == COMMAND_NAMES


@pytest.mark.parametrize("words", GOOD, ids=" ".join)
def test_a_command_line_reads_as_the_whole_parser_reads_it(words):
    args, parser = parse(list(words))
    assert vars(args) == vars(_whole(list(words)))
    assert parser.prog == "tpdeclare"


@pytest.mark.parametrize("words", BAD, ids=" ".join)
def test_a_usage_error_is_the_whole_parsers(words):
    with pytest.raises(UsageError) as whole:
        _whole(list(words))
    with pytest.raises(UsageError) as named:
        parse(list(words))
    assert (named.value.message, named.value.hint) == (whole.value.message, whole.value.hint)
    assert named.value.parser.format_usage() == whole.value.parser.format_usage()


@pytest.mark.parametrize("words", [["--help"], ["plan", "--help"], ["plan", "spec", "-h"], ["state", "list", "--he"]])
def test_help_is_the_whole_parsers(words, capsys):
    with pytest.raises(SystemExit):
        _whole(list(words))
    expected = capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(list(words))
    assert capsys.readouterr().out == expected
    assert "validate" in expected and "force-unlock" in expected or words[0] != "--help"


def test_no_command_prints_the_whole_help(capsys):
    build_parser([]).print_help()
    expected = capsys.readouterr().out
    assert cli.main(["--no-color"]) == 1
    assert capsys.readouterr().err == expected
