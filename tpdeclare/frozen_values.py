"""Frozen value classes: `@frozen` (a frozen dataclass made cheaply at import) and building one from all its fields."""

from __future__ import annotations

import dataclasses
from _thread import get_ident
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")


@overload
def frozen(cls: type[T], /) -> type[T]: ...
@overload
def frozen(*, slots: bool = False) -> Callable[[type[T]], type[T]]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[T] | None = None, /, *, slots: bool = False) -> type[T] | Callable[[type[T]], type[T]]:
    """`@dataclass(frozen=True)`, whose `__eq__`, `__hash__` and `__repr__` are shared functions that compare,
    hash and show exactly what the generated ones would (the fields with compare, hash and repr, in order).

    dataclass generates each method from source text it compiles at import: 6 compiles per frozen class, ~0.6 M
    instructions each, and a plan imports ~45 of these classes. Shared methods halve that. A class that defines
    any of the three itself should use `@dataclass(frozen=True)`."""

    def make(klass: type[T]) -> type[T]:
        own = {"__eq__", "__hash__", "__repr__"} & set(vars(klass))
        if own:
            raise TypeError(f"{klass.__qualname__} defines {', '.join(sorted(own))}: use @dataclass(frozen=True)")
        made = dataclasses.dataclass(frozen=True, eq=False, repr=False, slots=slots)(klass)
        fields = dataclasses.fields(made)  # type: ignore[arg-type]
        shared = {"_compared": staticmethod(_getter([f.name for f in fields if f.compare])),
                  "_hashed": staticmethod(_getter([f.name for f in fields if (f.compare if f.hash is None
                                                                               else f.hash)])),
                  "_shown": tuple(f.name for f in fields if f.repr),
                  "__eq__": _eq, "__hash__": _hash, "__repr__": _repr}
        for name, value in shared.items():
            setattr(made, name, value)
        return made

    return make if cls is None else make(cls)


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """obj -> the tuple of its attributes `names` (attrgetter's own result for two or more)."""
    if len(names) >= 2:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        return self._compared(self) == self._compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self._hashed(self))


_showing: set[tuple[int, int]] = set()  # (object, thread) being shown: a value inside itself shows as "..."


def _repr(self: Any) -> str:
    key = id(self), get_ident()
    if key in _showing:
        return "..."
    _showing.add(key)
    try:
        text: str = (self.__class__.__qualname__ + "("
                     + ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown) + ")")
        return text
    finally:
        _showing.discard(key)


def from_fields(cls: type[T], fields: dict[str, Any]) -> T:
    """`cls(**fields)` without the frozen `__init__`'s one `object.__setattr__` call per field.

    `fields` must name every field of `cls`, in its order, with values the constructor would keep as given (no
    `__post_init__`, no default factories left to run); the dict becomes the instance's `__dict__`. Each caller's
    tests hold what it builds to the constructor's value (fields, order, equality, repr, hash)."""
    value: T = object.__new__(cls)
    object.__setattr__(value, "__dict__", fields)
    return value
