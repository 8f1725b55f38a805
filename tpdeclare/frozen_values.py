"""Building a frozen dataclass from all its fields at once, for the hot paths that make thousands of them."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def from_fields(cls: type[T], fields: dict[str, Any]) -> T:
    """`cls(**fields)` without the frozen `__init__`'s one `object.__setattr__` call per field.

    `fields` must name every field of `cls`, in its order, with values the constructor would keep as given (no
    `__post_init__`, no default factories left to run); the dict becomes the instance's `__dict__`. Each caller's
    tests hold what it builds to the constructor's value (fields, order, equality, repr, hash)."""
    value: T = object.__new__(cls)
    object.__setattr__(value, "__dict__", fields)
    return value
