"""The verified-state stamp: a checksum of the exact snapshot bytes tpdeclare wrote, so reading them skips the rules.

Every snapshot the local store writes has passed every rule of tpdeclare.state.rules first (the store refuses to
write anything else). Its temporary file gets, before it is renamed into place, an extended attribute
`user.tpdeclare.verified` holding this stamp: the stamp's revision, the tool version, the byte count and two
independent 32-bit checksums of the bytes (CRC-32 and Adler-32, 64 bits together). A later read computes the same
stamp over the bytes it read and, only if the attribute holds exactly that text, builds the state without checking
the rules again (tpdeclare.state.fast_read.read_trusted).

Why this cannot stay valid by accident: the stamp is a function of the bytes alone. Any edit (by hand, a script,
a damaged disk, a restored copy) that changes the bytes changes the byte count or the checksums (CRC-32 catches
every change confined to 32 consecutive bits and every odd number of flipped bits; a random change escapes both
checksums with odd 2^-64), and most tools that rewrite a file make a new one, which carries no attribute at all.
A missing, foreign or stale stamp only means the careful read: every rule checked, every problem named. A change to
the rules means a new STAMP_REVISION (tests/test_state_verified.py holds the rules' digest to remind whoever
changes them), so a stamp written under older rules is not trusted by newer ones; so does another tool version.
Where extended attributes are not supported (some filesystems, other systems), nothing is stamped and every read is
careful. This is a guard against accidents, not against someone who sets the attribute by hand on purpose.
"""

from __future__ import annotations

import os
import zlib

ATTRIBUTE = "user.tpdeclare.verified"
STAMP_REVISION = 5  # bump whenever a rule of state/rules.py, state/volume_rules.py or state/fast_*.py changes


def stamp(raw: bytes) -> bytes:
    """The stamp of snapshot bytes that keep every rule."""
    from tpdeclare import __version__

    return (f"{STAMP_REVISION} {__version__} {len(raw)} {zlib.crc32(raw):08x} {zlib.adler32(raw):08x}"
            .encode("ascii"))


def write_stamp(fd: int, raw: bytes) -> None:
    """Stamp the open file `fd`, which holds exactly `raw` (best effort: without extended attributes, nothing)."""
    setxattr = getattr(os, "setxattr", None)
    if setxattr is None:
        return
    try:
        setxattr(fd, ATTRIBUTE, stamp(raw))
    except OSError:
        pass  # not supported here (or no room for it): later reads check every rule, as without a stamp


def is_stamped(fd: int, raw: bytes) -> bool:
    """Whether the open file `fd`, from which `raw` was read, carries the stamp of exactly these bytes."""
    getxattr = getattr(os, "getxattr", None)
    if getxattr is None:
        return False
    try:
        found = getxattr(fd, ATTRIBUTE)
    except OSError:
        return False  # no stamp (or no extended attributes here)
    return bool(found == stamp(raw))
