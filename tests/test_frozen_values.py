"""`@frozen` makes the same values as `@dataclass(frozen=True)`: equality, hash, text, fields, replace, frozenness."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import subprocess
import sys
from dataclasses import KW_ONLY, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

import pytest
from tpdeclare import frozen_values
from tpdeclare.frozen_values import frozen, replace_fields

ROOT = Path(__file__).resolve().parent.parent


def twins(body: dict, *, slots: bool = False):
    """One class made both ways from the same body."""
    made = []
    for decorate in (dataclass(frozen=True, slots=slots), frozen(slots=slots)):
        made.append(decorate(type("Value", (), dict(body))))
    return made


BODIES = {
    "none": {"__annotations__": {}},
    "one": {"__annotations__": {"a": "int"}},
    "many": {"__annotations__": {"a": "int", "b": "str", "c": "tuple"}, "b": "x", "c": ()},
    "options": {"__annotations__": {"a": "int", "hidden": "str", "loose": "float", "keyed": "int"},
                "hidden": field(default="h", repr=False), "loose": field(default=1.5, compare=False),
                "keyed": field(default=0, compare=False, hash=True)},
}
VALUES = {"none": [{}], "one": [{"a": 1}, {"a": 2}, {"a": float("nan")}],
          "many": [{"a": 1}, {"a": 1, "b": "y"}, {"a": 1, "c": (1, [2])}],
          "options": [{"a": 1}, {"a": 1, "hidden": "other"}, {"a": 1, "loose": 9.0}, {"a": 1, "keyed": 3}]}


@pytest.mark.parametrize("slots", [False, True])
@pytest.mark.parametrize("kind", sorted(BODIES))
def test_a_frozen_value_is_what_a_frozen_dataclass_is(kind, slots):
    reference, made = twins(BODIES[kind], slots=slots)
    assert [(f.name, f.default, f.repr, f.compare, f.hash) for f in dataclasses.fields(made)] == [
        (f.name, f.default, f.repr, f.compare, f.hash) for f in dataclasses.fields(reference)]
    values = VALUES[kind]
    for one in values:
        x, y = reference(**one), made(**one)
        assert repr(x) == repr(y) and str(x) == str(y)
        with pytest.raises(dataclasses.FrozenInstanceError):
            y.a = 5
        with pytest.raises(dataclasses.FrozenInstanceError):
            del y.a
        # Python 3.11's slotted frozen dataclass without fields refuses with a TypeError from super() instead
        with pytest.raises(dataclasses.FrozenInstanceError if fields(reference) or not slots
                           else (dataclasses.FrozenInstanceError, TypeError)):
            x.a = 5
        hashable = all(not isinstance(v, tuple) or not any(isinstance(i, list) for i in v) for v in one.values())
        if hashable:
            assert hash(x) == hash(y) == hash(made(**one))
        for other in values:
            assert (reference(**one) == reference(**other)) == (made(**one) == made(**other))
            assert (reference(**one) != reference(**other)) == (made(**one) != made(**other))
        assert (y == x) is False and y.__eq__(x) is NotImplemented and (y == 1) is False
        assert dataclasses.replace(y, **one) == y and dataclasses.asdict(y) == dataclasses.asdict(x)
    assert made.__match_args__ == reference.__match_args__ and made.__qualname__ == reference.__qualname__


def _made(make, *args, **kwargs):
    """What constructing gives: the value's fields and type, or the error's type and words."""
    try:
        value = make(*args, **kwargs)
    except TypeError as error:
        return "refused", str(error)
    return "made", dataclasses.astuple(value), [f.name for f in fields(value)], type(value).__name__


CONSTRUCTED = {  # bodies beyond the ones above: every way a field can come to __init__
    "factory": {"__annotations__": {"a": "int", "items": "list", "pairs": "dict"},
                "items": field(default_factory=list), "pairs": field(default_factory=lambda: {"n": 1})},
    "not in init": {"__annotations__": {"a": "int", "fixed": "int", "made": "list", "bare": "int"},
                    "fixed": field(default=7, init=False), "made": field(default_factory=list, init=False),
                    "bare": field(init=False, default=None)},
    "keyword only": {"__annotations__": {"a": "int", "k": "int", "m": "str"}, "k": field(kw_only=True),
                     "m": field(default="m", kw_only=True)},
    "post init": {"__annotations__": {"a": "int", "double": "int"}, "double": field(default=0, init=False),
                  "__post_init__": lambda self: object.__setattr__(self, "double", self.a * 2)},
    "class var": {"__annotations__": {"a": "int", "shared": "ClassVar[int]"}, "shared": 3},
    # ClassVar is imported by this module (for `known class var`): a text naming it is a class variable here
    "known class var": {"__annotations__": {"a": "int", "shared": "ClassVar[int]", "typed": ClassVar[str]},
                        "shared": 3, "typed": "t"},
    "typing class var": {"__annotations__": {"a": "int", "shared": "typing.ClassVar[int]"}, "shared": 3},
    "own field specs": {"__annotations__": {"a": "int", "items": "list", "k": "int"}, "items": field(
        default_factory=list, repr=False), "k": field(default=2, kw_only=True, compare=False)},
}
assert ClassVar  # for "known class var" above
CALLS = [((), {}), ((1,), {}), ((1, 2), {}), ((1, [2], {}), {}), ((), {"a": 1}), ((1,), {"a": 2}),
         ((1,), {"k": 2}), ((1,), {"k": 2, "m": "n"}), ((1, 2, 3, 4, 5), {}), ((1,), {"nope": 1}),
         ((1,), {"fixed": 1}), ((1,), {"double": 1}), ((1,), {"items": [1]})]


@pytest.mark.parametrize("slots", [False, True])
@pytest.mark.parametrize("kind", sorted(BODIES | CONSTRUCTED))
def test_a_frozen_value_is_constructed_as_a_frozen_dataclass_is(kind, slots):
    body = (BODIES | CONSTRUCTED)[kind]
    reference, made = twins(body, slots=slots)
    for args, kwargs in CALLS:
        assert _made(made, *args, **kwargs) == _made(reference, *args, **kwargs), (args, kwargs)
    assert made.__doc__ == reference.__doc__
    assert made.__init__.__qualname__ == reference.__init__.__qualname__ == "Value.__init__"
    assert made.__init__.__annotations__ == reference.__init__.__annotations__
    assert str(inspect.signature(made)) == str(inspect.signature(reference))
    for args, kwargs in CALLS:
        if _made(reference, *args, **kwargs)[0] == "made":
            value = made(*args, **kwargs)
            assert copy.copy(value) == value == copy.deepcopy(value)
    if kind == "factory":
        assert made(1).items is not made(1).items and made(1).pairs == {"n": 1}


def test_a_class_is_compiled_only_when_first_constructed(monkeypatch):
    compiled = []
    real_exec = exec
    monkeypatch.setattr("builtins.exec", lambda *args: compiled.append(args[0]) or real_exec(*args))

    @frozen
    class Lazy:
        a: int
        b: str = "b"

    assert compiled == []
    assert Lazy(1) == Lazy(1, "b") and compiled == ["def __init__(self, a, b):\n    _set(self, 'a', a)\n"
                                                    "    _set(self, 'b', b)"]


def test_a_field_without_a_default_after_one_is_refused_as_dataclass_refuses_it():
    body = {"__annotations__": {"a": "int", "b": "int"}, "a": 0}
    for decorate in (dataclass(frozen=True), frozen):
        with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
            decorate(type("Value", (), dict(body)))


def test_an_init_var_is_refused_and_an_own_init_is_kept():
    with pytest.raises(TypeError, match="InitVar: use @dataclass"):
        frozen(type("Value", (), {"__annotations__": {"a": int, "seed": dataclasses.InitVar[int]}}))

    @frozen
    class Own:
        a: int

        def __init__(self, text: str) -> None:
            object.__setattr__(self, "a", int(text))

    assert Own("3") == Own("3") and Own("3").a == 3


@pytest.mark.parametrize("marker", [KW_ONLY, "KW_ONLY", "dataclasses.KW_ONLY"], ids=["object", "text", "dotted"])
def test_the_kw_only_marker_is_refused_not_taken_for_a_field(marker):
    """dataclass makes the fields after `_: KW_ONLY` keyword-only; @frozen does not, so it says so."""
    with pytest.raises(TypeError, match="Value._ is the KW_ONLY marker: use @dataclass"):
        frozen(type("Value", (), {"__annotations__": {"a": "int", "_": marker, "b": "int"}}))
    assert [f.name for f in fields(frozen(type("Value", (), {"__annotations__": {"a": "int", "_": "KW_ONLYISH"}})))] \
        == ["a", "_"]  # only the marker itself, as dataclass reads the text


def test_a_class_keeps_its_own_match_args_as_dataclass_keeps_them():
    body = {"__annotations__": {"a": "int", "b": "int"}, "__match_args__": ("b",)}
    for decorate in (dataclass(frozen=True), frozen):
        assert decorate(type("Value", (), dict(body))).__match_args__ == ("b",)
    assert frozen(type("Value", (), {"__annotations__": {"a": "int", "b": "int"}})).__match_args__ == ("a", "b")


def test_an_undecorated_subclass_keeps_the_fields_frozen_and_its_own_attributes_free():
    @frozen
    class Base:
        a: int

    class Loose(Base):
        pass

    value = Loose(1)
    value.extra = 2
    del value.extra
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del value.a
    with pytest.raises(dataclasses.FrozenInstanceError):
        Base(1).extra = 2


def test_a_value_inside_itself_shows_as_dots_as_a_dataclass_does():
    reference, made = twins({"__annotations__": {"inner": "list"}})
    x, y = reference([]), made([])
    x.inner.append(x)
    y.inner.append(y)
    assert repr(x) == repr(y) == "Value(inner=[...])"


def test_a_frozen_value_pickles_and_keeps_its_subclass_apart():
    @frozen
    class Base:
        a: int

    @frozen
    class Child(Base):
        b: int = 0

    assert Base(1) != Child(1) and Child(1, 2) == Child(1, 2) and repr(Child(1)) == "test_a_frozen_value_pickles_" \
        "and_keeps_its_subclass_apart.<locals>.Child(a=1, b=0)"
    assert hash(Child(1, 2)) == hash((1, 2))


def test_a_class_with_its_own_comparison_is_refused():
    with pytest.raises(TypeError, match="use @dataclass"):
        @frozen
        class Own:
            a: int

            def __eq__(self, other):
                return True


@frozen
class Module:
    a: int
    b: tuple = ()


@frozen(slots=True)
class Slotted:
    a: int
    b: list = field(default_factory=list)


def test_pickle_round_trips():
    for value in (Module(1, (2,)), Slotted(1), Slotted(2, [3])):
        assert pickle.loads(pickle.dumps(value)) == value == copy.deepcopy(value)
    assert not hasattr(Slotted(1), "__dict__")


def test_frozen_values_own_field_and_replace_are_dataclasses_own():
    """`frozen_values.field` and `replace_fields` (used where importing dataclasses would cost a plan its 41 M
    instructions) make and change values as `dataclasses.field` and `dataclasses.replace` do."""
    ours = frozen(type("Value", (), {"__annotations__": {"a": "int", "items": "list", "k": "int", "fixed": "int"},
                                     "items": frozen_values.field(default_factory=list, repr=False),
                                     "k": frozen_values.field(default=2, kw_only=True, compare=False),
                                     "fixed": frozen_values.field(default=7, init=False)}))
    theirs = dataclass(frozen=True)(type("Value", (), {
        "__annotations__": {"a": "int", "items": "list", "k": "int", "fixed": "int"},
        "items": field(default_factory=list, repr=False), "k": field(default=2, kw_only=True, compare=False),
        "fixed": field(default=7, init=False)}))
    for args, kwargs in [((1,), {}), ((1, [2]), {"k": 5}), ((), {}), ((1,), {"fixed": 1})]:
        assert _made(ours, *args, **kwargs) == _made(theirs, *args, **kwargs)
    assert ours.__doc__ == theirs.__doc__ and repr(ours(1)) == repr(theirs(1))
    value = ours(1, [2], k=3)
    assert replace_fields(value, a=4) == dataclasses.replace(value, a=4) == ours(4, [2], k=3)
    assert replace_fields(value) is not value and replace_fields(value).items is value.items
    with pytest.raises(ValueError, match="init=False"):
        replace_fields(value, fixed=1)
    with pytest.raises(ValueError, match="init=False"):
        dataclasses.replace(value, fixed=1)
    assert [f.name for f in frozen_values.fields(value)] == [f.name for f in fields(value)] == [
        "a", "items", "k", "fixed"]
    with pytest.raises(TypeError, match="not a @frozen class"):
        replace_fields(theirs(1))


def test_frozen_refuses_what_dataclass_refuses():
    for decorate in (dataclass(frozen=True), frozen):
        with pytest.raises(ValueError, match="mutable default <class 'list'> for field b is not allowed"):
            decorate(type("Value", (), {"__annotations__": {"a": "int", "b": "list"}, "b": []}))
        with pytest.raises(TypeError, match="'b' is a field but has no type annotation"):
            decorate(type("Value", (), {"__annotations__": {"a": "int"}, "b": field(default=1)}))
    with pytest.raises(ValueError, match="cannot specify both default and default_factory"):
        frozen_values.field(default=1, default_factory=list)


def test_a_plan_imports_neither_dataclasses_nor_inspect(tmp_path):
    """dataclasses and the inspect it imports cost a plan 41 M instructions: `@frozen` does without them."""
    code = ("import sys, tpdeclare.cli as cli\n"
            "try:\n    cli.main(['plan', sys.argv[1], '--state', sys.argv[2], '--no-color'])\n"
            "finally:\n    print(sorted(m for m in ('dataclasses', 'inspect', 'copy') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "examples" / "training-with-storage.yaml"),
                           str(tmp_path / "state.json")], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert "to add" in done.stdout and done.stdout.rstrip().endswith("[]"), done.stdout + done.stderr


def test_a_frozen_value_takes_the_fields_of_a_dataclass_base_and_slots_of_its_bases():
    @dataclass
    class Plain:
        a: int
        b: str = "b"

    @frozen
    class Kept(Plain):
        c: int = 0

    assert [f.name for f in fields(Kept)] == ["a", "b", "c"] and Kept(1) == Kept(1, "b", 0)
    assert repr(Kept(1, c=2)).endswith("Kept(a=1, b='b', c=2)")

    @frozen(slots=True)
    class Base:
        a: int

    @frozen(slots=True)
    class Child(Base):
        b: int = 1

    assert Child.__slots__ == ("b",) and Child(1) == Child(1, 1) and not hasattr(Child(1), "__dict__")
    assert pickle.loads(pickle.dumps(Slotted(1, [2]))) == Slotted(1, [2])
