"""Property check: the planner's field comparison (tpdeclare.plan.planner._field_changes) reports exactly
the fields DeepDiff(before, after).affected_root_keys reported, which it replaced for speed (issue 6).

    python benchmarks/checks/field_diff_matches_deepdiff.py     # needs hypothesis and deepdiff

Values are drawn from what a cluster's fields can hold (strings, ints, floats, bools, None, lists of
them, and the near-misses that matter: 2 vs 2.0, 1 vs True (a change at the top, not inside a list,
for both), reordered lists). Both sides carry every
managed field, as they always do in the planner (current_fields() and ClusterSpec.fields() build all
six). With keys missing, DeepDiff's `threshold_to_diff_deeper` (0.33) makes it report the whole root as
changed and name no field at all when under a third of the keys are shared, e.g. {} vs
{"instance_type": None}; that cannot happen in the planner, and would have hidden a change if it had.
"""

import sys

from deepdiff import DeepDiff
from hypothesis import given, settings, strategies as st

from tpdeclare.fields import MANAGED_FIELDS
from tpdeclare.plan.planner import _field_changes

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.0, 2.5, -1.0]),
                    st.sampled_from(["", "a", "b", "8xH200", "1xH100"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3))
fields = st.fixed_dictionaries({name: values for name in MANAGED_FIELDS})


@settings(max_examples=20_000, deadline=None)
@given(fields, fields, st.data())
def check(before, after, data):
    if data.draw(st.booleans()):  # often start equal, then change a little
        after = {**before, **{k: v for k, v in after.items() if data.draw(st.booleans())}}
    ours = {fc.field for fc in _field_changes(before, after, frozenset())}
    if before == after:
        assert ours == set()  # the planner's early return, before any DeepDiff ran
        return
    theirs = set(DeepDiff(before, after, verbose_level=0).affected_root_keys) & set(MANAGED_FIELDS)
    assert ours == theirs, (before, after, ours, theirs)


if __name__ == "__main__":
    check()
    print("ok: _field_changes agrees with DeepDiff.affected_root_keys")
    sys.exit(0)
