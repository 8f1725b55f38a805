"""Did-you-mean: the one rule for suggesting a known word in place of a near miss."""

from __future__ import annotations

from collections.abc import Iterable

# One cutoff everywhere (spec keys, instance types, addresses, flags, commands): difflib's ratio
# 2·matches / total length. At 0.6, `num_node` → `num_nodes` and `aply` → `apply`, while unrelated words
# of similar length (`region` for `name`) are not suggested.
CUTOFF = 0.6


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The known word `word` most likely misspells, or None.

    A choice equal to `word` but for letter case wins outright (`8xh100` → `8xH100`); otherwise the
    closest choice by difflib's ratio, if at least CUTOFF. Ties go to the last choice in sorted order (what
    difflib's get_close_matches picks from a sorted list), so the answer never depends on the order `choices`
    came in.
    """
    options = sorted(set(choices))
    if not isinstance(word, str) or not word or not options:
        return None
    folded = word.casefold()
    for option in options:
        if option.casefold() == folded and option != word:
            return option
    import difflib  # only when a word is unknown: not at every run's start

    close = difflib.get_close_matches(word, options, n=1, cutoff=CUTOFF)
    return close[0] if close and close[0] != word else None
