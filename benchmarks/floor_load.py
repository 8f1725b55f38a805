"""The plan benchmark's floor: only read the inputs a plan needs, as fast as Python can.

Loads every spec file with libyaml's C loader (yaml.CSafeLoader) and the state with json.load, and
does nothing else: no validation, no source map, no planning, no output.

    python benchmarks/floor_load.py SPEC_DIR_OR_FILE STATE_JSON
"""

import json
import os
import sys

import yaml

spec, state = sys.argv[1], sys.argv[2]
files = [os.path.join(spec, f) for f in sorted(os.listdir(spec)) if f.endswith((".yaml", ".yml"))] \
    if os.path.isdir(spec) else [spec]
docs = []
for path in files:
    with open(path, "rb") as fh:
        docs.append(yaml.load(fh, Loader=yaml.CSafeLoader))
with open(state, "rb") as fh:
    doc = json.load(fh)
assert sum(len(d["clusters"]) for d in docs) > 0 and "resources" in doc
