"""The display-only fields of an answer (an instance's status and addresses): what the parser keeps and drops.

The IP addresses take a fast path for a canonical dotted quad; these tests hold it to `ipaddress`, which
decides every other shape, on a wide corpus: the fast path must never keep what `ipaddress` would refuse or
rewrite.
"""

from __future__ import annotations

import ipaddress
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tpdeclare.api.field_mapping import FieldMap
from tpdeclare.api.parsers import BodyReader
from tpdeclare.api.redaction import Secret
from tpdeclare.api.status_words import UnknownWords

KEY = "tp-display-key-0042"


def reader() -> BodyReader:
    return BodyReader(FieldMap(), Secret(KEY), UnknownWords(lambda line: None))


def expected(word: object) -> str | None:
    """What the parser kept before the fast path: ipaddress's canonical text of the shown word."""
    shown = reader()._shown_word(word)
    if shown is None:
        return None
    try:
        return str(ipaddress.ip_address(shown))
    except ValueError:
        return None


CORPUS = ["1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5",
          " 10.0.0.1 ", "10.0.0.1\n", "1.2.3.4 ", "١.٢.٣.٤", "1.2.3.4\u200b", "::1", "fe80::1", "2001:db8::1",
          "2001:DB8::1", "::ffff:1.2.3.4", "1.2.3.-4", "+1.2.3.4", "1..2.3", "", " ", "a.b.c.d", "1.2.3.4/32",
          "127.000.000.001", "9.9.9.9", "199.249.250.251", "300.300.300.300", 12345, None, ["1.2.3.4"]]


@pytest.mark.parametrize("word", CORPUS, ids=repr)
def test_an_address_is_kept_exactly_when_ipaddress_takes_it(word):
    assert reader()._ip(word) == expected(word)


@settings(max_examples=600, deadline=None)
@given(st.one_of(
    st.tuples(*[st.integers(0, 999)] * 4).map(lambda t: ".".join(map(str, t))),
    st.tuples(*[st.text("0123456789", min_size=1, max_size=4)] * 4).map(".".join),
    st.text(alphabet="0123456789.:abcdefABCDEF \t", max_size=20),
    st.ip_addresses().map(str),
))
def test_the_fast_path_agrees_with_ipaddress(word):
    assert reader()._ip(word) == expected(word)


def test_an_address_holding_the_key_is_dropped():
    assert reader()._ip(KEY) is None and reader()._shown_word(f"up {KEY}") is None


def shown_word_checked(value: object) -> str | None:
    """The shown word by the checks written out (the parser answers the common case in one look)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"} for ch in value):
        return None
    if KEY in value:
        return None
    return value.strip()


WORDS = ["running", " RUNNING ", "", " ", "\t", "run\x00ning", "run\x7f", "ok\u200b", "ünïcode", "x" * 64, "x" * 65,
         " " + "x" * 63, KEY, f"a{KEY}b", "tp-display-\u200bkey-0042", "a\nb", "\u2028", 7, None, True, ["running"],
         "\xa0ready\xa0"]


@pytest.mark.parametrize("word", WORDS, ids=repr)
def test_a_shown_word_is_what_the_checks_decide(word):
    assert reader()._shown_word(word) == shown_word_checked(word)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=70), st.text(alphabet=" \t\n\x00\x7fab-_.:\u200b", max_size=70),
                 st.sampled_from(WORDS)))
def test_the_shown_word_fast_path_agrees_with_the_checks(word):
    assert reader()._shown_word(word) == shown_word_checked(word)
