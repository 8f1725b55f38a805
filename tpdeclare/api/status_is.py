"""`StatusIs`: a result's bool attribute that says whether its status word is a given one (any case)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, overload


class StatusIs(property):
    """A read-only bool attribute of a result: whether its `status` word, in any case, is `words` (one word) or
    one of them (a property, at a property's speed)."""

    def __init__(self, words: str | Iterable[str]) -> None:
        if isinstance(words, str):  # one word: compared, not hashed
            super().__init__(lambda result: result.status.upper() == words)
        else:
            found = frozenset(words)
            super().__init__(lambda result: result.status.upper() in found)

    if TYPE_CHECKING:  # what reading it gives
        @overload
        def __get__(self, instance: None, owner: type, /) -> StatusIs: ...

        @overload
        def __get__(self, instance: object, owner: type | None = None, /) -> bool: ...

        def __get__(self, instance: object, owner: type | None = None, /) -> StatusIs | bool: ...
