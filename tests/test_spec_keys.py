"""SSH public keys: every key type OpenSSH makes loads; the schema's pattern and the whole check agree."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tpdeclare.resources import spec_path
from tpdeclare.spec.loader import load_stack
from tpdeclare.spec.ssh_keys import KEY_TYPES, MAX_KEY_CHARS, key_problem, schema_pattern

from bad_spec_cases import (
    CERT,
    ECDSA_256_KEY,
    ECDSA_384_KEY,
    ECDSA_521_KEY,
    KEY,
    KEY_B,
    RSA_1024_KEY,
    RSA_KEY,
    SK_ECDSA_KEY,
    SK_ED25519_KEY,
    ec_point,
    openssh_key,
)

SCHEMA = json.loads(spec_path("cluster.schema.json").read_text())
ITEM = SCHEMA["$defs"]["public_keys"]["items"]
PATTERN = re.compile(ITEM["pattern"])
GOOD_KEYS = [KEY, KEY_B, RSA_KEY, RSA_1024_KEY, ECDSA_256_KEY, ECDSA_384_KEY, ECDSA_521_KEY, SK_ED25519_KEY,
             SK_ECDSA_KEY]


def test_the_schema_carries_the_pattern_and_limit_the_check_uses():
    assert ITEM["pattern"] == schema_pattern()
    assert ITEM["maxLength"] == MAX_KEY_CHARS
    assert "one key per entry" in ITEM["patternErrorMessage"]


def test_the_pattern_reads_the_same_in_an_editor():
    # Editors compile patterns as Unicode-mode ECMAScript, where an escaped `-` or a Python-only
    # construct is a syntax error: only `.` is escaped, and no \Z, (?P<...>) or possessive quantifiers.
    pattern = schema_pattern()
    assert "\\-" not in pattern and "\\Z" not in pattern and "(?P" not in pattern and "*+" not in pattern


def test_every_key_type_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {k.split()[0] for k in GOOD_KEYS} == set(KEY_TYPES)
    entries = "".join(f"      - {json.dumps(k)}\n" for k in GOOD_KEYS)
    (tmp_path / "s.yaml").write_text(f"clusters:\n  t:\n    instance_type: 1xH100\n    public_keys:\n{entries}")
    spec, diagnostics = load_stack(["s.yaml"])
    assert diagnostics == [] and spec is not None
    assert spec.clusters["t"].public_keys == tuple(GOOD_KEYS)


@pytest.mark.parametrize("comment", ["", "alice@laptop", "Alice Smith (work)", "josé@portátil", "a=b,c;d"])
def test_comments_are_free_text(comment):
    key = " ".join(KEY.split()[:2]) + (f" {comment}" if comment else "")
    assert key_problem(key) is None
    assert PATTERN.search(key)


def test_a_certificate_is_refused_with_its_reason():
    assert key_problem(CERT)[0] == "it is an SSH certificate, not a public key"


# --- the pattern never refuses a key the whole check accepts ------------------------------------------

_COORDS = {"ecdsa-sha2-nistp256": 32, "ecdsa-sha2-nistp384": 48, "ecdsa-sha2-nistp521": 66}


@st.composite
def good_keys(draw):
    key_type = draw(st.sampled_from(KEY_TYPES))
    if key_type in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"):
        fields = [draw(st.binary(min_size=32, max_size=32))]
    elif key_type == "ssh-rsa":
        bits = draw(st.integers(1024, 4096))
        n = draw(st.integers(2 ** (bits - 1), 2 ** bits - 1))
        e = draw(st.sampled_from([3, 17, 65537]))
        fields = [_mpint(e), _mpint(n)]
    else:
        curve = key_type.removeprefix("sk-").split("-")[2].split("@")[0]
        fields = [curve.encode(), ec_point(_COORDS["ecdsa-sha2-" + curve])]
    if key_type.startswith("sk-"):
        fields.append(draw(st.sampled_from([b"ssh:", b"ssh:work"])))
    comment = draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=20)
                   | st.from_regex(r"[a-z]{1,8}( [a-z]{1,8}){0,3}", fullmatch=True))
    return openssh_key(key_type, *fields, comment=comment)


def _mpint(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


@settings(max_examples=300, deadline=None)
@given(key=good_keys())
def test_well_formed_keys_pass_both(key):
    assert key_problem(key) is None, key
    assert PATTERN.search(key), key


_EDITS = st.sampled_from(["\n", "\r", "\x00", "\t", " ", "  ", "=", "==", "A", "+", "-", "\u2028", "\u202e", "\u00a0",
                          ",", ";", "ssh-rsa AAAA", " ssh-ed25519 AAAAC3", 'command="x" ', "é", "\x1b"])


@settings(max_examples=300, deadline=None)
@given(key=good_keys(), edits=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 3), _EDITS), max_size=3))
def test_the_pattern_refuses_only_what_the_check_refuses(key, edits):
    for at, cut, text in edits:
        at %= len(key) + 1
        key = key[:at] + text + key[at + cut:]
    if PATTERN.search(key) is None:
        assert key_problem(key) is not None, key
    if key_problem(key) is None:
        assert PATTERN.search(key), key


def test_the_key_data_of_every_type_is_parsed_to_its_end():
    for key in GOOD_KEYS:
        key_type, body = key.split()[:2]
        blob = base64.b64decode(body)
        longer = f"{key_type} {base64.b64encode(blob + bytes(4)).decode()}"
        assert key_problem(longer) is not None, key_type  # an empty extra field
        shorter = f"{key_type} {base64.b64encode(blob[:-1]).decode()}"
        assert key_problem(shorter) is not None, key_type
