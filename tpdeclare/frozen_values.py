"""Frozen value classes: `@frozen` (a frozen dataclass made cheaply at import) and building one from all its fields."""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

from tpdeclare.frozen_fields import MISSING, DataclassFields, Field, collect, field, signature_text, with_slots

T = TypeVar("T")
__all__ = ["MISSING", "Field", "field", "fields", "from_fields", "frozen", "replace_fields"]


@overload
def frozen(cls: type[T], /) -> type[T]: ...
@overload
def frozen(*, slots: bool = False) -> Callable[[type[T]], type[T]]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[T] | None = None, /, *, slots: bool = False) -> type[T] | Callable[[type[T]], type[T]]:
    """`@dataclass(frozen=True)` without compiling a method at import: the same fields, `__init__`, `==`, hash,
    repr, refusal to change, `replace`, pickling and `__match_args__`.

    dataclass generates each method from source text it compiles at import, ~1 M instructions each: 6 per frozen
    class, and a plan imports ~45 of these classes. Here `__eq__`, `__hash__`, `__repr__`, `__setattr__` and
    `__delattr__` are shared functions, and `__init__` is compiled on the class's first construction (most
    classes a run imports are never constructed). The fields are read by dataclass's rules in
    tpdeclare/frozen_fields.py, without importing dataclasses; `dataclasses.fields`, `replace` and `asdict` still
    work on the values. A class that defines `__eq__`, `__hash__`, `__repr__`, `__setattr__` or `__delattr__`, or
    has `InitVar` or `KW_ONLY` fields, should use `@dataclass(frozen=True)` (which cannot subclass a @frozen class)."""

    def make(klass: type[T]) -> type[T]:
        own = {"__eq__", "__hash__", "__repr__", "__setattr__", "__delattr__"} & set(vars(klass))
        if own:
            raise TypeError(f"{klass.__qualname__} defines {', '.join(sorted(own))}: use @dataclass(frozen=True)")
        found = collect(klass)
        in_init = _init_order(found)
        made: type[T] = with_slots(klass, found) if slots else klass
        shared = {"__frozen_fields__": tuple(found),
                  "_compared": staticmethod(_getter([f.name for f in found if f.compare])),
                  "_hashed": staticmethod(_getter([f.name for f in found if (f.compare if f.hash is None
                                                                              else f.hash)])),
                  "_shown": tuple(f.name for f in found if f.repr),
                  "_frozen_names": frozenset(f.name for f in found),
                  "__match_args__": tuple(f.name for f in in_init if not f.kw_only),
                  "__eq__": _eq, "__hash__": _hash, "__repr__": _repr,
                  "__setattr__": _setattr, "__delattr__": _delattr}
        if "__init__" not in vars(made):  # as dataclass, a class's own __init__ stays
            shared["__init__"] = _first_init(made, tuple(found), in_init, slots)
        if "__match_args__" in vars(made):  # and its own __match_args__
            del shared["__match_args__"]
        if slots:
            shared |= {"__getstate__": _getstate, "__setstate__": _setstate}
        if not made.__doc__:
            shared["__doc__"] = made.__name__ + signature_text(in_init, _parameter_default)
        for name, value in shared.items():
            setattr(made, name, value)
        type.__setattr__(made, "__dataclass_fields__", DataclassFields(made))
        return made

    return make if cls is None else make(cls)


def fields(value: Any) -> tuple[Field, ...]:
    """The fields of a @frozen class or value, in order (`dataclasses.fields`, in this module's Field)."""
    cls = value if isinstance(value, type) else type(value)
    return tuple(_fields_of(cls))


def _fields_of(cls: type) -> tuple[Field, ...]:
    for klass in cls.__mro__:
        if "__frozen_fields__" in vars(klass):
            return vars(klass)["__frozen_fields__"]  # type: ignore[no-any-return]
    raise TypeError(f"{cls.__qualname__} is not a @frozen class")


def replace_fields(value: T, /, **changes: Any) -> T:
    """A copy of the @frozen `value` with `changes` (`dataclasses.replace`): the other fields it is constructed with
    are its own; a field outside `__init__` cannot be changed."""
    for f in _fields_of(type(value)):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
        elif f.name not in changes:
            changes[f.name] = getattr(value, f.name)
    return value.__class__(**changes)


class _Factory:
    """The default of an `__init__` parameter whose field has a default factory (shown as dataclass shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _init_order(fields: list[Field]) -> list[Field]:
    """The fields `__init__` takes, positional first, as dataclass orders and checks them."""
    positional = [f for f in fields if f.init and not f.kw_only]
    defaulted = False
    for f in positional:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if defaulted and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        defaulted = defaulted or has_default
    return positional + [f for f in fields if f.init and f.kw_only]


def _parameter_default(f: Field) -> Any:
    """The default of the field's `__init__` parameter: its default, _FACTORY for a factory, else MISSING."""
    return _FACTORY if f.default_factory is not MISSING else f.default


def _first_init(cls: type, fields: tuple[Field, ...], in_init: list[Field], slots: bool) -> Callable[..., None]:
    """An `__init__` that compiles the class's real one, puts it in its place, and runs it."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        real = _compile_init(cls, fields, in_init, slots)
        type.__setattr__(cls, "__init__", real)
        real(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _compile_init(cls: type, fields: tuple[Field, ...], in_init: list[Field], slots: bool) -> Callable[..., None]:
    """The `__init__` dataclass would generate for a frozen `cls`: the same parameters, defaults and stores."""
    scope: dict[str, Any] = {"_set": object.__setattr__, "_FACTORY": _FACTORY}
    body = []
    for f in fields:
        if f.default_factory is not MISSING:
            scope[f"_dflt_{f.name}"] = f.default_factory
            value = f"_dflt_{f.name}() if {f.name} is _FACTORY else {f.name}" if f.init else f"_dflt_{f.name}()"
        elif f.init:
            value = f.name
        elif slots and f.default is not MISSING:
            scope[f"_dflt_{f.name}"] = f.default
            value = f"_dflt_{f.name}"
        else:
            continue  # reading it finds the class attribute that holds its default
        body.append(f"    _set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    positional = [f.name for f in in_init if not f.kw_only]
    keyword = [f.name for f in in_init if f.kw_only]
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    exec(f"def __init__({params}):\n" + ("\n".join(body) or "    pass"), scope)  # noqa: S102 -- as dataclass
    made: Callable[..., None] = scope["__init__"]
    defaults = {f.name: _parameter_default(f) for f in in_init}
    made.__defaults__ = tuple(defaults[f.name] for f in in_init if not f.kw_only
                              if defaults[f.name] is not MISSING) or None
    made.__kwdefaults__ = {f.name: defaults[f.name] for f in in_init if f.kw_only
                           if defaults[f.name] is not MISSING} or None
    made.__qualname__ = f"{cls.__qualname__}.__init__"
    made.__module__ = cls.__module__
    made.__annotations__ = {**{f.name: f.type for f in in_init}, "return": None}
    return made


def _owner(value: Any) -> Any:
    """The nearest class in the value's MRO that `@frozen` made (the one whose rules hold for its fields)."""
    for klass in type(value).__mro__:
        if vars(klass).get("__setattr__") is _setattr:
            return klass
    raise TypeError(f"{type(value).__qualname__} is not a @frozen class")  # pragma: no cover - found via the MRO


def _setattr(self: Any, name: str, value: Any) -> None:
    owner = _owner(self)
    if type(self) is owner or name in owner._frozen_names:
        raise _frozen_error(f"cannot assign to field {name!r}")
    super(owner, self).__setattr__(name, value)


def _delattr(self: Any, name: str) -> None:
    owner = _owner(self)
    if type(self) is owner or name in owner._frozen_names:
        raise _frozen_error(f"cannot delete field {name!r}")
    super(owner, self).__delattr__(name)


def _frozen_error(message: str) -> AttributeError:
    """dataclasses.FrozenInstanceError (an AttributeError), whose module is imported only now."""
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in _fields_of(type(self))]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(_fields_of(type(self)), state, strict=True):
        object.__setattr__(self, f.name, value)


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
