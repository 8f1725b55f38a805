"""The YAML 1.1 tags a spec's values may carry, as the resolver writes them."""

from __future__ import annotations

Y = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = Y + "str", Y + "int", Y + "float", Y + "bool", Y + "null"
TIMESTAMP, VALUE, MERGE = Y + "timestamp", Y + "value", Y + "merge"
SEQ, MAP = Y + "seq", Y + "map"
# Tags a mapping key may have: its text is the key (`on:`, `1:` and `null:` are the keys "on", "1", "null").
KEY_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL, TIMESTAMP, VALUE})


def tag_name(tag: str) -> str:
    """A tag as users write it: `!!python/name:os.system`, `!custom`."""
    return "!!" + tag[len(Y):] if tag.startswith(Y) else tag
