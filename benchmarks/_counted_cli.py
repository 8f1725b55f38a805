"""Run the tpdeclare CLI in this process, then report what it wrote to its state files.

    python benchmarks/_counted_cli.py REPORT.json ARGS...    (= tpdeclare ARGS...)

Exactly `tpdeclare.cli.main(ARGS)`, with every LocalStateStore it makes remembered, so that at exit
their own counters (bytes_written: snapshots + backups + journal; appends; snapshots) can be read.
As an independent check, the process's `wchar` from /proc/self/io (bytes passed to write(2) and
friends: files, and stdout/stderr, but not socket sends) is reported too.
"""

import json
import sys

from tpdeclare.state import local

stores = []
_init = local.LocalStateStore.__init__


def _remembering_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    stores.append(self)


local.LocalStateStore.__init__ = _remembering_init

from tpdeclare.cli import main  # noqa: E402

rc = 1
try:
    rc = main(sys.argv[2:])
finally:
    sys.stdout.flush()
    sys.stderr.flush()
    with open("/proc/self/io") as fh:
        io = {k: int(v) for k, v in (line.split(": ") for line in fh.read().splitlines())}
    report = {
        "bytes_written": sum(s.bytes_written for s in stores),
        "appends": sum(s.appends for s in stores),
        "snapshots": sum(s.snapshots for s in stores),
        "stores": len(stores),
        "wchar": io["wchar"],
        "write_bytes": io["write_bytes"],
    }
    with open(sys.argv[1], "w") as fh:
        json.dump(report, fh)
sys.exit(rc)
