"""The spec's `lifetime:` block (issue 14): what it means once loaded, and the time values it is written in.

The refusals, with their words and places, are in the bad-spec table (bad_spec_cases.LIFETIME_CASES)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tpdeclare.spec.loader import load_stack
from tpdeclare.spec.model import Lifetime
from tpdeclare.spec.schema import spec_schema
from tpdeclare.spec.time_values import (
    format_duration,
    format_instant,
    format_span,
    parse_duration,
    parse_instant,
    read_time,
)

from e2e_helpers import write


def load(tmp_path, text):
    spec, diagnostics = load_stack([str(write(tmp_path / "lt.yaml", text))])
    assert spec is not None, "\n".join(d.format() for d in diagnostics)
    return spec


def test_a_cluster_lifetime_and_the_default_one(tmp_path):
    spec = load(tmp_path, """
        defaults:
          lifetime: {expires_after: 8h, warn_before: 1h}
        clusters:
          inherits: {instance_type: 1xH100}
          opts-out: {instance_type: 1xH100, lifetime: null}
          own:
            instance_type: 1xH100
            lifetime: {expires_at: "2026-12-05T19:30:00+01:00"}
          minutes: {instance_type: 1xH100, lifetime: {expires_after: 480m}}
    """)
    c = spec.clusters
    assert c["inherits"].lifetime == Lifetime(expires_after=8 * 3600, warn_before=3600)
    assert c["opts-out"].lifetime is None
    # A cluster's own block replaces the default whole: no warn_before comes from the default.
    assert c["own"].lifetime == Lifetime(expires_at="2026-12-05T18:30:00Z")
    assert c["minutes"].lifetime.key == c["inherits"].lifetime.key == "expires_after 8h"  # the same lifetime
    assert c["own"].lifetime.key == "expires_at 2026-12-05T18:30:00Z"


def test_without_lifetimes_nothing_changes(tmp_path):
    spec = load(tmp_path, "clusters:\n  a: {instance_type: 1xH100}\n")
    assert spec.clusters["a"].lifetime is None


def test_warn_before_is_no_part_of_the_lifetime_key():
    assert Lifetime(expires_after=60, warn_before=10).key == Lifetime(expires_after=60).key == "expires_after 1m"


@pytest.mark.parametrize("text,seconds", [
    ("8h", 28_800), ("90m", 5_400), ("1h30m", 5_400), ("2d", 172_800), ("1d12h", 129_600), ("45s", 45),
    ("1d1h1m1s", 90_061), ("0s", 0), ("999999d", 999_999 * 86_400),
])
def test_durations_read(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "8", "h", "8w", "8H", "30m1h", "1h1h", "1h30", "-1h", "1.5h", "8 h", " 8h",
                                  "1000000d", "8h\n", "８h"])
def test_not_durations(text):
    assert parse_duration(text) is None


@given(st.integers(min_value=0, max_value=10**8))
def test_a_written_duration_reads_back(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (40, "40s"), (61, "1m1s"), (3_600, "1h"), (5_430, "1h30m"),
                                          (90_061, "1d1h"), (8 * 86_400, "8d")])
def test_spans_say_their_two_largest_units(seconds, text):
    assert format_span(seconds) == text


@pytest.mark.parametrize("text,utc", [
    ("2026-12-05T18:00:00Z", "2026-12-05T18:00:00Z"),
    ("2026-12-05t18:00:00z", "2026-12-05T18:00:00Z"),
    ("2026-12-05T19:00:00+01:00", "2026-12-05T18:00:00Z"),
    ("2026-12-05T12:00:00-06:00", "2026-12-05T18:00:00Z"),
    ("2026-12-05T18:00:00.250Z", "2026-12-05T18:00:00.25Z"),
    ("2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z"),
])
def test_instants_read_and_are_written_in_utc(text, utc):
    value = parse_instant(text)
    assert value is not None and value.tzinfo is not None
    assert format_instant(value) == utc
    assert parse_instant(format_instant(value)) == value


@pytest.mark.parametrize("text", ["2026-12-05T18:00:00", "2026-12-05", "2026-12-05 18:00:00Z", "2026-02-30T18:00:00Z",
                                  "2026-12-05T24:00:00Z", "2026-12-05T18:00:60Z", "2027-02-29T00:00:00Z",
                                  "2026-13-05T18:00:00Z", "2026-12-05T18:00Z", "20261205T180000Z",
                                  "2026-12-05T18:00:00+0100", "2026-12-05T18:00:00Z\n", "tomorrow"])
def test_not_instants(text):
    assert parse_instant(text) is None


def test_times_from_state_and_engine_read_leniently_as_utc():
    assert read_time("2026-11-26T10:00:00Z") == datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert read_time("2026-11-26T10:00:00") == datetime(2026, 11, 26, 10, tzinfo=UTC)  # no zone: UTC
    assert read_time("2026-11-26T11:00:00+01:00") == datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert read_time("yesterday") is None and read_time(None) is None and read_time(12) is None


_SCHEMA_PROBES = ["8h", "90m", "1h30m", "0s", "30m1h", "8", "8w", "1h30", "", "1000000d", "2026-12-05T18:00:00Z",
                  "2026-12-05T19:00:00+01:00", "2026-12-05T18:00:00", "2026-12-05", "2026-02-30T18:00:00Z",
                  "2026-12-05t18:00:00.5z", "8h\n", "2026-12-05T18:00:00Z\n"]


@pytest.mark.parametrize("probe", _SCHEMA_PROBES)
def test_the_schema_and_the_reader_agree_on_the_shapes(probe):
    """The schema (what editors check) and time_values (what tpdeclare reads) accept the same shapes; a shape
    the schema lets through that is no real time (February 30th) is the loader's to refuse."""
    defs = spec_schema()["$defs"]
    duration = re.compile(defs["duration"]["pattern"])
    instant = re.compile(defs["lifetime"]["properties"]["expires_at"]["pattern"])
    assert bool(duration.search(probe)) == (parse_duration(probe) is not None)
    from tpdeclare.spec.time_values import INSTANT

    assert bool(instant.search(probe)) == (INSTANT.fullmatch(probe) is not None)


def test_a_valid_lifetime_passes_the_fast_checker():
    from tpdeclare.spec.schema import is_valid_fast

    doc = {"defaults": {"lifetime": {"expires_after": "8h", "warn_before": "1h"}},
           "clusters": {"a": {"instance_type": "1xH100", "lifetime": {"expires_at": "2026-12-05T18:00:00Z"}},
                        "b": {"instance_type": "1xH100", "lifetime": None}}}
    assert is_valid_fast(doc) is True
    assert is_valid_fast({"clusters": {"a": {"instance_type": "1xH100", "lifetime": {"expires_after": "8"}}}}) is False
