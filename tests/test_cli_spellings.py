"""The command line's spellings: Terraform's single-dash options are accepted; unknown commands and options get a
did-you-mean and point at that command's --help (issue 9.11). Pure: the parser only, no command runs."""

from __future__ import annotations

import pytest
from tpdeclare.cli_parser import UsageError, build_parser
from tpdeclare.cli_spellings import normalise


def parse(*argv: str):
    parser = build_parser(list(argv))
    return parser.parse_args(normalise(list(argv), parser))


@pytest.mark.parametrize(
    "argv, attr, value",
    [
        (("apply", "-auto-approve", "x.yaml"), "auto_approve", True),
        (("apply", "x.yaml", "-refresh=false"), "refresh", False),
        (("apply", "x.yaml", "-refresh=true"), "refresh", True),
        (("plan", "x.yaml", "-refresh=true"), "refresh", True),
        (("plan", "x.yaml", "-refresh=false"), "refresh", False),
        (("plan", "x.yaml", "-out=p.plan"), "out", "p.plan"),
        (("plan", "x.yaml", "-out", "p.plan"), "out", "p.plan"),
        (("plan", "x.yaml", "-detailed-exitcode"), "detailed_exitcode", True),
        (("plan", "x.yaml", "-json"), "json", True),
        (("plan", "x.yaml", "-target=nb", "-target=tr"), "target", ["nb", "tr"]),
        (("apply", "x.yaml", "-replace=nb"), "replace", ["nb"]),
        (("destroy", "x.yaml", "-auto-approve"), "auto_approve", True),
        (("apply", "x.yaml", "-parallelism=3"), "parallelism", 3),
        (("apply", "x.yaml", "-lock-timeout=10s"), "lock_timeout", 10.0),
        (("apply", "x.yaml", "--timeout", "30m"), "timeout", 1800.0),
        (("plan", "x.yaml", "-no-color"), "no_color", True),
        (("--engine", "sandbox", "apply", "x.yaml"), "engine", "sandbox"),
    ],
)
def test_terraform_spellings_mean_what_they_mean_in_terraform(argv, attr, value):
    assert getattr(parse(*argv), attr) == value


@pytest.mark.parametrize(
    "argv, message, hint",
    [
        (("aply", "x.yaml"), "unknown command 'aply'; did you mean 'apply'?",
         "run `tpdeclare --help` for the commands"),
        (("destory",), "unknown command 'destory'; did you mean 'destroy'?", "run `tpdeclare --help`"),
        (("xyzzy",), "unknown command 'xyzzy'", "run `tpdeclare --help` for the commands"),
        (("apply", "x.yaml", "--auto-aprove"), "unknown option '--auto-aprove' for `tpdeclare apply`; did you mean "
         "'--auto-approve'?", "run `tpdeclare apply --help` for the options"),
        (("plan", "x.yaml", "--detailed-exit-code"), "did you mean '--detailed-exitcode'?",
         "run `tpdeclare plan --help`"),
        (("plan", "x.yaml", "--markdwn"), "did you mean '--markdown'?", "run `tpdeclare plan --help`"),
        (("state", "lst"), "unknown command 'lst' for `tpdeclare state`; did you mean 'list'?",
         "run `tpdeclare state --help`"),
        (("state", "list", "--spce", "x.yaml"), "did you mean '--spec'?", "run `tpdeclare state list --help`"),
        (("plan", "x.yaml", "--zzzzzz"), "unknown option '--zzzzzz' for `tpdeclare plan`",
         "run `tpdeclare plan --help` for the options"),
        (("plan", "x.yaml", "-refresh=maybe"), "-refresh takes true or false, not 'maybe'",
         "run `tpdeclare plan --help`"),
        (("apply", "x.yaml", "-auto-aprove"), "unknown option '-auto-aprove' for `tpdeclare apply`; did you mean "
         "'--auto-approve'?", "run `tpdeclare apply --help`"),
    ],
)
def test_unknown_words_get_a_did_you_mean_and_that_commands_help(argv, message, hint):
    with pytest.raises(UsageError) as caught:
        parse(*argv)
    assert message in caught.value.message and hint in caught.value.hint


def test_an_unambiguous_prefix_is_still_the_option_argparse_takes():
    assert parse("apply", "x.yaml", "--auto").auto_approve is True


def test_a_spec_file_after_double_dash_is_never_read_as_an_option():
    assert parse("validate", "--", "-odd.yaml").spec == ["-odd.yaml"]
