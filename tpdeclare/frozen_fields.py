"""The fields of a `@frozen` class, read from its annotations by dataclasses' rules, without importing dataclasses.

dataclasses imports inspect (with ast, dis and tokenize): 41 M instructions, a seventh of what a plan of a settled
10,000-cluster stack spends beyond loading its inputs. `@frozen` needs only the field rules, so they are here: which
annotations are fields (not `ClassVar`s), their defaults and `field(...)` options, the fields of `@frozen` bases first,
the checks dataclass makes (a mutable default, a field() without an annotation). Whoever asks dataclasses about a
`@frozen` class (`dataclasses.fields`, `replace`, `asdict`) still gets its answer: the class's
`__dataclass_fields__` is made, with dataclasses imported then, the first time it is read.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


class _Missing:
    """No default (dataclasses' MISSING, for the fields of @frozen classes)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a @frozen class, with dataclass's options (what `field(...)` says of it)."""

    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "hash", "compare", "kw_only",
                 "metadata")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool, hash: bool | None,
                 compare: bool, kw_only: bool, metadata: Any) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.hash, self.compare, self.kw_only = init, repr, hash, compare, kw_only
        self.metadata = metadata


@overload
def field(*, default: T, init: bool = True, repr: bool = True, hash: bool | None = None, compare: bool = True,
          kw_only: bool = False, metadata: Any = None) -> T: ...
@overload
def field(*, default_factory: Callable[[], T], init: bool = True, repr: bool = True, hash: bool | None = None,
          compare: bool = True, kw_only: bool = False, metadata: Any = None) -> T: ...
@overload
def field(*, init: bool = True, repr: bool = True, hash: bool | None = None, compare: bool = True,
          kw_only: bool = False, metadata: Any = None) -> Any: ...
def field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True, repr: bool = True,
          hash: bool | None = None, compare: bool = True, kw_only: bool = False, metadata: Any = None) -> Any:
    """`dataclasses.field` for a @frozen class's field: its default or default factory and its options."""
    return Field(default, default_factory, init, repr, hash, compare, kw_only, metadata)


def _spec(value: Any) -> Field | None:
    """`value` as a field's options: ours, or a `dataclasses.field(...)` (possible only once dataclasses is loaded)."""
    if type(value) is Field:
        return value
    dataclasses = sys.modules.get("dataclasses")
    if dataclasses is not None and isinstance(value, dataclasses.Field):
        kw_only = value.kw_only is True  # MISSING there: the class's default, never keyword-only for @frozen
        return Field(_ours(value.default, dataclasses), _ours(value.default_factory, dataclasses), value.init,
                     value.repr, value.hash, value.compare, kw_only, value.metadata)
    return None


def _ours(value: Any, dataclasses: Any) -> Any:
    return MISSING if value is dataclasses.MISSING else value


_NAME = re.compile(r"^(?:\s*(\w+)\s*\.)?\s*(\w+)")  # a text annotation's leading (module.)name, as dataclasses reads it


def _pseudo(cls: type, annotation: Any, name: str) -> bool:
    """Whether `annotation` is `name` (ClassVar, InitVar or KW_ONLY), as dataclasses decides: an object is checked, a
    text is looked up in the class's module (`ClassVar[int]` is one only where `ClassVar` names typing's)."""
    if isinstance(annotation, str):
        found = _NAME.match(annotation)
        module = sys.modules.get(cls.__module__)
        if found is None or module is None:
            return False
        namespace = vars(module)
        if found.group(1) and namespace.get(found.group(1)) is not sys.modules.get(_HOME[name]):
            return False
        return _is(namespace.get(found.group(2)), name)
    return _is(annotation, name)


_HOME = {"ClassVar": "typing", "InitVar": "dataclasses", "KW_ONLY": "dataclasses"}


def _is(value: Any, name: str) -> bool:
    if value is None:
        return False
    if _HOME[name] == "dataclasses":  # only a loaded dataclasses can have made the value
        dataclasses = sys.modules.get("dataclasses")
        if dataclasses is None:
            return False
        if name == "KW_ONLY":
            return value is dataclasses.KW_ONLY
        return value is dataclasses.InitVar or type(value) is dataclasses.InitVar
    typing = sys.modules["typing"]
    return value is typing.ClassVar or (type(value) is typing._GenericAlias and value.__origin__ is typing.ClassVar)


def collect(cls: type) -> list[Field]:
    """The fields of `cls` in dataclass's order (its bases' first, then its own annotations), each class attribute
    that was a `field(...)` replaced by its default (or removed). Raises TypeError as dataclass would."""
    found: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        for f in base.__dict__.get("__frozen_fields__", None) or _dataclass_fields(base):
            found[f.name] = f
    annotations = cls.__dict__.get("__annotations__", {})
    for name, value in cls.__dict__.items():
        if _spec(value) is not None and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    for name, annotation in annotations.items():
        if _pseudo(cls, annotation, "ClassVar"):
            continue
        for pseudo, said in (("InitVar", "an InitVar"), ("KW_ONLY", "the KW_ONLY marker")):
            if _pseudo(cls, annotation, pseudo):
                raise TypeError(f"{cls.__qualname__}.{name} is {said}: use @dataclass(frozen=True)")
        default = getattr(cls, name, MISSING)
        f = _spec(default)
        if f is None:
            if type(default).__name__ == "member_descriptor":  # a slot of a base: no default
                default = MISSING
            f = Field(default, MISSING, True, True, None, True, False, None)
        f.name, f.type = name, annotation
        if f.default is not MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        if _spec(cls.__dict__.get(name)) is not None:
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        found[name] = f
    return list(found.values())


def _dataclass_fields(base: type) -> list[Field]:
    """The fields of a base that is a dataclass (not a @frozen class), as this module keeps them."""
    if not isinstance(base.__dict__.get("__dataclass_fields__"), dict):
        return []
    import dataclasses

    made = []
    for theirs in dataclasses.fields(base):
        f = _spec(theirs)
        assert f is not None
        f.name, f.type = theirs.name, theirs.type
        made.append(f)
    return made


def with_slots(cls: type, fields: list[Field]) -> type:
    """`cls` made again with a slot per field it adds (dataclass's `slots=True`)."""
    inherited = {slot for base in cls.__mro__[1:-1] for slot in _slots(base)}
    namespace = dict(cls.__dict__)
    namespace["__slots__"] = tuple(f.name for f in fields if f.name not in inherited)
    for f in fields:
        namespace.pop(f.name, None)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    made: type = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _slots(cls: type) -> tuple[str, ...]:
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def signature_text(in_init: list[Field], default_of: Callable[[Field], Any]) -> str:
    """`str(inspect.signature(...))` of the `__init__` taking `in_init` (without self and the return), as dataclass
    writes it into a class's docstring."""
    if not all(isinstance(f.type, str) for f in in_init):  # an annotation that is an object: inspect's words for it
        import inspect

        kinds = {False: inspect.Parameter.POSITIONAL_OR_KEYWORD, True: inspect.Parameter.KEYWORD_ONLY}
        return str(inspect.Signature([inspect.Parameter(
            f.name, kinds[f.kw_only], annotation=f.type,
            default=inspect.Parameter.empty if default_of(f) is MISSING else default_of(f)) for f in in_init]))
    parts, starred = [], False
    for f in in_init:
        if f.kw_only and not starred:
            parts.append("*")
            starred = True
        default = default_of(f)
        parts.append(f"{f.name}: {f.type!r}" + ("" if default is MISSING else f" = {default!r}"))
    return "(" + ", ".join(parts) + ")"


class DataclassFields:
    """A @frozen class's `__dataclass_fields__`, made (with dataclasses imported) when first read."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __get__(self, obj: Any, owner: type | None = None) -> dict[str, Any]:
        import dataclasses

        made: dict[str, Any] = {}
        for f in self.cls.__dict__["__frozen_fields__"]:
            missing: Any = dataclasses.MISSING
            theirs: Any = dataclasses.Field(
                missing if f.default is MISSING else f.default,
                missing if f.default_factory is MISSING else f.default_factory,
                f.init, f.repr, f.hash, f.compare, f.metadata, f.kw_only)
            theirs.name, theirs.type = f.name, f.type
            theirs._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
            made[f.name] = theirs
        type.__setattr__(self.cls, "__dataclass_fields__", made)
        return made
