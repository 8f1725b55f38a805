"""SSH public keys as a spec gives them: exactly one OpenSSH public key per entry, its key data checked.

An entry is one line of a `.pub` file: `<type> <base64 key data> [comment]`, one plain space between the
parts. The type is one OpenSSH accepts for user keys; the key data is canonical base64 of a key blob
whose own type is the declared one and whose fields are whole (no truncation, nothing after them). No
control characters, line breaks or invisible characters anywhere: a line break would install a second
key on the cluster, and an invisible character could make a reviewed plan show another key than the
one installed. Not accepted, each with its reason: authorized_keys options (`command="…"`, `from=`…),
two keys in one string, DSA keys (OpenSSH dropped them), and certificates (`*-cert-v01@openssh.com`:
in authorized_keys a certificate acts as its bare key, its validity period and principals ignored, so
accepting one would promise a limit that does not hold).

The schema's pattern (specs/cluster.schema.json, built by `schema_pattern`) catches what a pattern can,
so editors flag it; `key_problem` is the whole check, and the loader runs it on what the pattern passed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import rules
from tpdeclare.spec.source_map import SourceMap, YamlPath
from tpdeclare.suggestions import did_you_mean

KEY_TYPES: tuple[str, ...] = (
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
)
MAX_KEY_CHARS = 16_384  # a 16,384-bit RSA key, the largest OpenSSH makes, is ~2,800 characters
ONE_KEY = "one key per entry"
_COPY_HINT = f"copy the whole line of the .pub file unchanged (e.g. `cat ~/.ssh/id_ed25519.pub`); {ONE_KEY}"

_BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"
_PRIVATE = "PRIVATE KEY"  # -----BEGIN OPENSSH PRIVATE KEY----- (or RSA, EC, DSA, ENCRYPTED)
_KEY_WORD = r"(?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+"
_KEY_START = re.compile(r"(?<![^\s,;])" + _KEY_WORD + r"\s+AAAA")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_FIELD_COUNT = {"ssh-ed25519": 2, "ssh-rsa": 3, "sk-ssh-ed25519@openssh.com": 3}
_EC_COORD_BYTES = {"nistp256": 32, "nistp384": 48, "nistp521": 66}
_RSA_BITS = (1024, 16384)


def schema_pattern() -> str:
    """The JSON Schema pattern for one key (ECMA and Python alike): known type, the key data's base64
    beginning as that type's blob does, whole base64 groups, an optional comment; no control character
    anywhere and no second key after the first."""
    starts = []
    for key_type in KEY_TYPES:
        head = len(key_type).to_bytes(4, "big") + key_type.encode()
        # Only `.` is escaped: `\\-` is a syntax error in the Unicode-mode regexes editors compile.
        starts.append(key_type.replace(".", "\\.") + " " + base64.b64encode(head[: len(head) // 3 * 3]).decode())
    control = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
    second_key = f"(?:[\\s\\S]*[ ,;])?{_KEY_WORD} AAAA"
    return (f"^(?:{'|'.join(starts)})(?:[A-Za-z0-9+/]{{4}})*(?:[A-Za-z0-9+/]{{2}}==|[A-Za-z0-9+/]{{3}}=)?"
            f"(?: (?!{second_key})[^ {control}](?:[^{control}]*[^ {control}])?)?$(?!\\n)")


def refusal(text: str) -> tuple[str, str] | None:
    """(summary, hint) refusing `text` as a public key, or None when it is one good key."""
    problem = key_problem(text)
    if problem is None:
        return None
    reason, hint = problem
    if _PRIVATE in text:  # never echo any of it
        return "this is a private SSH key, the secret half of a key pair, not a public key", hint
    return f"{_quote(text)} is not a valid SSH public key: {reason}", hint


def check_public_keys(value: Any, smap: SourceMap, ypath: YamlPath, report: Reporter) -> None:
    """Report every entry of a `public_keys` list the schema passed but the whole check refuses."""
    if not isinstance(value, list):
        return
    for index, key in enumerate(value):
        words = _beyond_the_schema(key) if isinstance(key, str) else None
        if words is not None:
            report.error(words[0], smap.locate(ypath + (index,)), path=ypath + (index,), hint=words[1])


@lru_cache(maxsize=4096)  # a stack repeats its few keys in many clusters
def _beyond_the_schema(key: str) -> tuple[str, str] | None:
    """The refusal of a key the schema passed (one it refused, it has reported)."""
    if len(key) > MAX_KEY_CHARS or rules().public_key.search(key) is None:
        return None
    return refusal(key)


def key_problem(text: str) -> tuple[str, str] | None:
    """(reason, hint) for the first problem of `text` as one OpenSSH public key; None when it is one."""
    if _PRIVATE in text:
        return ("it is a private key",
                "remove it from the spec now and treat the key as leaked if the spec was shared or committed;"
                f" give the public key, the line of the matching .pub file; {ONE_KEY}")
    if len(text) > MAX_KEY_CHARS:
        return (f"it is {len(text):,} characters long; the longest SSH public key is about 2,800",
                f"is this several keys, or a private key? {ONE_KEY}")
    for index, char in enumerate(text):
        if char in _BREAKS:
            return (f"it contains a line break ({_codepoint(char)}) at character {index + 1}",
                    f"a line break would install a second key; put each key in its own list item: {ONE_KEY}")
    keys = len(_KEY_START.findall(text))
    if keys > 1:
        return (f"it holds {keys} keys",
                f"put each key in its own list item (`- ssh-ed25519 AAAA… alice@laptop`): {ONE_KEY}")
    odd = _odd_character(text)
    if odd is not None:
        return odd
    if not text.strip():
        return "it is empty", f"give the key, as in its .pub file; {ONE_KEY}"
    if text != text.strip(" "):
        return "it starts or ends with a space", f"remove the spaces around the key; {ONE_KEY}"
    key_type, _, rest = text.partition(" ")
    if key_type not in KEY_TYPES:
        return _bad_type(text, key_type)
    body, _, comment = rest.partition(" ")
    if not body:
        return ("it has more than one space after the key type" if rest else "it has no key data after the type",
                _COPY_HINT)
    problem = _body_problem(body, key_type)
    if problem is not None:
        return problem, _COPY_HINT
    if comment.startswith(" "):
        return "it has more than one space before its comment", f"remove the extra spaces; {ONE_KEY}"
    return None


def _odd_character(text: str) -> tuple[str, str] | None:
    """A control or invisible character anywhere, or a space other than U+0020 between the parts."""
    if text.isascii() and text.isprintable():
        return None
    import unicodedata  # only for keys with non-ASCII text

    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category.startswith("C"):
            what = "a control character" if category == "Cc" else "an invisible or unassigned character"
            return (f"it contains {what} ({_codepoint(char)}) at character {index + 1}",
                    f"remove it: an SSH key is one line of plain text; {ONE_KEY}")
        if category == "Zs" and char != " " and text.count(" ", 0, index) < 2:  # before the comment
            return (f"it separates its parts with {_codepoint(char)}, not a plain space",
                    f"retype the spaces between the type and the key data; {ONE_KEY}")
    return None


def _bad_type(text: str, key_type: str) -> tuple[str, str]:
    later = _KEY_START.search(text)
    if later is not None and later.start() > 0:
        return (f"it starts with {_quote(text[: later.start()].rstrip(), 40)} before the key type",
                "give only the key, starting with its type; authorized_keys options (command=, from=, no-pty …)"
                f" cannot be set here: {ONE_KEY}")
    if text.endswith(".pub") or text.startswith(("/", "~", "./")):
        return ("it is a file path",
                f"paste the key itself (the contents of the .pub file), not the file's path; {ONE_KEY}")
    if key_type.endswith("-cert-v01@openssh.com"):
        return ("it is an SSH certificate, not a public key",
                "give the public key the certificate was made for (the .pub file without -cert): a certificate"
                f" installed as a key acts as its bare key, with no expiry or principals; {ONE_KEY}")
    if key_type == "ssh-dss":
        return ("DSA keys (ssh-dss) are no longer accepted by OpenSSH",
                f"make a new key with `ssh-keygen -t ed25519` and give its .pub line; {ONE_KEY}")
    guess = did_you_mean(key_type, KEY_TYPES)
    known = "key types: " + ", ".join(KEY_TYPES)
    return (f"{_quote(key_type, 40)} is not an SSH key type",
            f"did you mean '{guess}'? ({known}); {ONE_KEY}" if guess else f"{known}; {ONE_KEY}")


def _body_problem(body: str, key_type: str) -> str | None:
    """What is wrong with the base64 key data, or the blob it decodes to; None when it is a whole key."""
    if _BASE64.fullmatch(body) is None:
        data = body.rstrip("=")
        index = next((i for i, c in enumerate(data) if c not in _ALPHABET), None)
        if index is None:
            return "its key data has too much padding (more than two '=')"
        return f"its key data is not base64 ({_quote(data[index])} at character {index + 1} of it)"
    if len(body) % 4:
        return f"its key data is cut short or badly padded (base64 comes in groups of 4 characters; it has {len(body)})"
    try:
        blob = binascii.a2b_base64(body, strict_mode=True)
    except binascii.Error:
        return "its key data is not valid base64"
    if base64.b64encode(blob).decode() != body:
        return "its key data is not canonical base64 (the last group carries bits beyond the data)"
    fields = _fields(blob)
    if isinstance(fields, str):
        return fields
    return _blob_problem(fields, key_type)


def _fields(blob: bytes) -> list[bytes] | str:
    """The blob's length-prefixed strings (RFC 4251), or why it cannot be read as them."""
    fields: list[bytes] = []
    at = 0
    while at < len(blob):
        if len(blob) - at < 4:
            return f"its key data has {len(blob) - at} stray bytes at the end"
        size = int.from_bytes(blob[at: at + 4], "big")
        if size > len(blob) - at - 4:
            return "its key data is cut short (a field runs past the end)"
        fields.append(blob[at + 4: at + 4 + size])
        at += 4 + size
    return fields


def _blob_problem(fields: Sequence[bytes], key_type: str) -> str | None:
    inner = fields[0].decode("ascii", "replace") if fields else ""
    if inner != key_type:
        if re.fullmatch(_KEY_WORD, inner):
            return f"its key data is an {inner} key, but the entry says {key_type}"
        return "its key data does not begin with a key type: it is not an SSH public key"
    curve = key_type.removeprefix("sk-").removeprefix("ecdsa-sha2-").removesuffix("@openssh.com")
    expected = _FIELD_COUNT.get(key_type, 4 if key_type.startswith("sk-") else 3)
    if len(fields) != expected:
        return ("its key data is cut short (fields are missing)" if len(fields) < expected
                else f"its key data has {len(fields) - expected} more field(s) after the key")
    if key_type in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"):
        return None if len(fields[1]) == 32 else f"its ed25519 key is {len(fields[1])} bytes long, not 32"
    if key_type == "ssh-rsa":
        return _rsa_problem(fields[1], fields[2])
    if fields[1].decode("ascii", "replace") != curve:
        return f"its curve is {_quote(fields[1].decode('ascii', 'replace'), 20)}, but the type says {curve}"
    point, coord = fields[2], _EC_COORD_BYTES[curve]
    if len(point) != 1 + 2 * coord or point[0] != 4:
        return f"its ECDSA point is not an uncompressed {curve} point ({len(point)} bytes)"
    return None


def _rsa_problem(exponent: bytes, modulus: bytes) -> str | None:
    if not exponent or not modulus or exponent[0] & 0x80 or modulus[0] & 0x80:
        return "its RSA numbers are not positive integers"
    e, n = int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big")
    if e < 3 or e % 2 == 0:
        return f"its RSA exponent ({e}) is not an odd number of at least 3"
    low, high = _RSA_BITS
    if not low <= n.bit_length() <= high:
        return f"its RSA key has {n.bit_length()} bits; OpenSSH accepts {low} to {high}"
    return None


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def _quote(text: str, limit: int = 60) -> str:
    return f"'{text}'" if len(text) <= limit else f"'{text[: limit - 1]}…'"
