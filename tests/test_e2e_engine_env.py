"""Issue 9.7 through the CLI: no silent production. An empty or blank --engine or TENSORPOOL_ENGINE is an error
naming which one, for every command that reaches an engine; nothing is written and no request leaves (a proxy
of the tests' own would see a request to the default engine)."""

from __future__ import annotations

import pytest

from e2e_helpers import cli_env, run_tp, write
from hardening_checks import CANARY, check_refused
from hostile_server import HostileServer

SPEC = "stack: env\nclusters:\n  a:\n    instance_type: 1xH100\n"
COMMANDS = [
    ("plan", "env.yaml"), ("plan", "env.yaml", "--refresh"), ("apply", "env.yaml", "--auto-approve"),
    ("destroy", "env.yaml", "--auto-approve"), ("refresh", "env.yaml", "--auto-approve"),
    ("import", "a", "c-00000001", "env.yaml"), ("orphans", "env.yaml"),
]
FLAG = "--engine is empty"
VARIABLE = "TENSORPOOL_ENGINE is set but empty"


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("how, value, words", [
    ("flag", "", FLAG), ("flag", "   ", FLAG), ("flag", "\t", FLAG),
    ("variable", "", VARIABLE), ("variable", "  ", VARIABLE), ("variable", "\n", VARIABLE),
])
def test_an_empty_engine_is_an_error_naming_which_and_nothing_happens(tmp_path, args, how, value, words):
    write(tmp_path / "env.yaml", SPEC)
    with HostileServer() as proxy:  # every request to a real engine would go through it
        env = cli_env(TENSORPOOL_KEY=CANARY, HTTPS_PROXY=proxy.url, HTTP_PROXY=proxy.url,
                      XDG_CACHE_HOME=str(tmp_path / "cache"))
        if how == "variable":
            env["TENSORPOOL_ENGINE"] = value
            argv = args
        else:
            argv = (args[0], "--engine", value, *args[1:])
        proc = run_tp(tmp_path, *argv, env=env)
        check_refused(proc, code=1, words=(words,), root=tmp_path)
        assert not (tmp_path / "state").exists()
        assert proxy.count() == 0


def test_a_blank_variable_beside_a_flag_gives_way_to_the_flag(tmp_path):
    write(tmp_path / "env.yaml", SPEC)
    proc = run_tp(tmp_path, "plan", "env.yaml", "--engine", "sandbox", env=cli_env(TENSORPOOL_ENGINE=" "))
    assert proc.returncode == 0, proc.stderr


def test_validate_needs_no_engine_and_ignores_an_empty_one(tmp_path):
    write(tmp_path / "env.yaml", SPEC)
    proc = run_tp(tmp_path, "validate", "env.yaml", env=cli_env(TENSORPOOL_ENGINE=""))
    assert proc.returncode == 0, proc.stderr
