"""`@frozen` makes the same values as `@dataclass(frozen=True)`: equality, hash, text, fields, replace, frozenness."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest
from tpdeclare.frozen_values import frozen


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
        refused = []
        for value in (x, y):  # (a slotted class without fields refuses it with another error, both ways)
            with pytest.raises((dataclasses.FrozenInstanceError, TypeError)) as error:
                value.a = 5
            refused.append(error.type)
        assert refused[0] is refused[1]
        hashable = all(not isinstance(v, tuple) or not any(isinstance(i, list) for i in v) for v in one.values())
        if hashable:
            assert hash(x) == hash(y) == hash(made(**one))
        for other in values:
            assert (reference(**one) == reference(**other)) == (made(**one) == made(**other))
            assert (reference(**one) != reference(**other)) == (made(**one) != made(**other))
        assert (y == x) is False and y.__eq__(x) is NotImplemented and (y == 1) is False
        assert dataclasses.replace(y, **one) == y and dataclasses.asdict(y) == dataclasses.asdict(x)
    assert made.__match_args__ == reference.__match_args__ and made.__qualname__ == reference.__qualname__


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


def test_pickle_round_trips():
    assert pickle.loads(pickle.dumps(Module(1, (2,)))) == Module(1, (2,))
