"""The `lifetime:` blocks of a stack (a cluster's own, or the one in `defaults`): checked, as Lifetime values.

The schema checks each value's shape (a duration's grammar, an RFC 3339 time with a timezone); the words for
a value it refuses come from `value_words` here, so that users read what is wrong with it ("no timezone",
"no unit") rather than the pattern it failed. What the schema cannot say is checked in `read_lifetime`:
exactly one of expires_after and expires_at, no zero duration, a real calendar date.
"""

from __future__ import annotations

import re
from typing import Any, Final

from tpdeclare.spec.model import Lifetime
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema_words import describe, quote
from tpdeclare.spec.source_map import SourceMap, YamlPath
from tpdeclare.spec.time_values import DURATION, INSTANT, format_instant, parse_duration, parse_instant

KEYS: Final = ("expires_after", "expires_at", "warn_before")
EXAMPLE_TIME: Final = "2026-12-05T18:00:00Z"
ONE_OF: Final = (f"give exactly one: expires_after (a duration counted from the cluster's creation, e.g. 8h) or "
                 f"expires_at (an RFC 3339 time with a timezone, e.g. {EXAMPLE_TIME})")
DURATION_HINT: Final = "a duration is a number with a unit (d, h, m or s), largest first, e.g. 8h, 90m or 1h30m"
TIME_HINT: Final = f"an RFC 3339 date and time with a timezone, e.g. {EXAMPLE_TIME} or 2026-12-05T19:00:00+01:00"


class Invalid:
    """A lifetime that was refused (its problems are reported): the cluster that has it is not usable."""


INVALID: Final = Invalid()


def is_lifetime_path(path: YamlPath) -> bool:
    """`...lifetime`, or one of its keys: the schema's refusals there are worded by `value_words`."""
    return bool(path) and (path[-1] == "lifetime" or (len(path) >= 2 and path[-2] == "lifetime" and path[-1] in KEYS))


def value_words(path: YamlPath, value: Any) -> tuple[str, str]:
    """(summary, hint) for a lifetime value the schema refused (a wrong type, or a string out of shape)."""
    if path[-1] == "lifetime":
        return (f"a lifetime is a mapping, got {describe(value)}",
                f"write it indented under `lifetime:`, e.g. `lifetime: {{expires_after: 8h}}`; {ONE_OF}")
    if path[-1] == "expires_at":
        return _time_words(value)
    return _duration_words(str(path[-1]), value)


_UNIT_WORDS = re.compile(r"[0-9]+\s*([A-Za-z]+)")


def _duration_words(key: str, value: Any) -> tuple[str, str]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"{key} must be a duration, got {describe(value)}", DURATION_HINT
    if not isinstance(value, str):
        return f"{key} {value:g} has no unit", f"write {value:g}h, {value:g}m or {value:g}d; {DURATION_HINT}"
    text = value.strip()
    unit = _UNIT_WORDS.search(text)
    if re.fullmatch(r"[0-9]+", text):
        return f"{key} {quote(value)} has no unit", f"write {text}h, {text}m or {text}d; {DURATION_HINT}"
    if unit is not None and unit.group(1) not in ("d", "h", "m", "s"):
        return f"{key} {quote(value)} has an unknown unit '{unit.group(1)}'", DURATION_HINT
    if DURATION.fullmatch(text.replace(" ", "")) is None and re.fullmatch(r"([0-9]+[dhms])+", text):
        return f"{key} {quote(value)} gives its units out of order, or one twice", DURATION_HINT
    if re.fullmatch(r"([0-9]+[dhms])+[0-9]+", text):
        return f"{key} {quote(value)} ends with a number without a unit", DURATION_HINT
    return f"{key} {quote(value)} is not a duration", DURATION_HINT


def _time_words(value: Any) -> tuple[str, str]:
    if isinstance(value, bool) or not isinstance(value, str):
        return f"expires_at must be a date and time, got {describe(value)}", f"write {TIME_HINT}"
    text = value.strip()
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return (f"expires_at {quote(value)} is a date without a time of day",
                f"add the time and a timezone, e.g. {text}T18:00:00Z")
    no_zone = re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?", text)
    if no_zone:
        return (f"expires_at {quote(value)} has no timezone",
                f"add one: {text}Z for UTC, or an offset such as {text}+01:00")
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}.*", text):
        return f"expires_at {quote(value)} separates the date and time with a space", f"write a T there; {TIME_HINT}"
    return f"expires_at {quote(value)} is not an RFC 3339 date and time", TIME_HINT


def read_lifetime(value: Any, smap: SourceMap, ypath: YamlPath, report: Reporter) -> Lifetime | None | Invalid:
    """The lifetime block at `ypath` (its value `value`, already checked by the schema): a Lifetime, None for
    none (`null`), or INVALID once its problems are reported (or were, by the schema)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value.keys() <= set(KEYS):
        return INVALID  # the schema has reported it (a value not a mapping, an unknown key)
    for key, fits in (("expires_after", DURATION), ("warn_before", DURATION), ("expires_at", INSTANT)):
        if key in value and not (isinstance(value[key], str) and fits.fullmatch(value[key])):
            return INVALID  # the schema has reported it
    ok = True
    given = [k for k in ("expires_after", "expires_at") if k in value]
    if len(given) == 2:
        report.error("lifetime gives both expires_after and expires_at", smap.locate(ypath + ("expires_at",),
                     prefer_key=True), path=ypath, hint=ONE_OF)
        ok = False
    elif not given:
        report.error("lifetime gives neither expires_after nor expires_at", smap.locate(ypath), path=ypath,
                     hint=ONE_OF)
        ok = False
    seconds: dict[str, int] = {}
    for key in ("expires_after", "warn_before"):
        if key in value:
            n = parse_duration(value[key])
            if not n:
                report.error(f"{key} {quote(value[key])} is no time at all", smap.locate(ypath + (key,)),
                             path=ypath + (key,), hint="give a duration of at least 1s, e.g. 8h")
                ok = False
            else:
                seconds[key] = n
    expires_at = None
    if "expires_at" in value:
        instant = parse_instant(value["expires_at"])
        if instant is None:
            report.error(f"expires_at {quote(value['expires_at'])} is not a real date and time",
                         smap.locate(ypath + ("expires_at",)), path=ypath + ("expires_at",),
                         hint=f"check the month, day, hour, minute and second; {TIME_HINT}")
            ok = False
        else:
            expires_at = format_instant(instant)
    if not ok:
        return INVALID
    return Lifetime(expires_after=seconds.get("expires_after"), expires_at=expires_at,
                    warn_before=seconds.get("warn_before"))
