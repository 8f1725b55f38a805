"""The state journal on disk, open for appends: a torn tail repaired on opening, one write and one fsync per batch."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tpdeclare.atomic_files import fsync_dir
from tpdeclare.errors import StateError
from tpdeclare.state.journal import JournalHeader, journal_hint, scan_journal


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_data(fd: int) -> None:
    """fdatasync where the platform has it (enough for appended data), else fsync."""
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


class JournalFile:
    """One journal file, kept open between appends; not thread-safe (its store serialises calls)."""

    def __init__(self, path: Path):
        self.path = path
        self.header: JournalHeader | None = None  # the journal's, once open
        self.last_serial = 0  # appended changes must be newer than this
        self._fd: int | None = None
        self._pending_header = b""  # the header line of a new journal, written with the first batch

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self, *, new: JournalHeader | None, after: int) -> JournalHeader:
        """Open for appending, dropping a torn line a crash left; return the journal's header.

        A journal without a header gets `new` (StateError when None). Appends must then be newer
        than `after` and than every change already in the journal."""
        existed = self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open the state journal {self.path}: {exc.strerror or exc}") from exc
        try:
            data = self.path.read_bytes()
            scan = scan_journal(data, source=str(self.path))
            if scan.good_len < len(data):
                os.ftruncate(fd, scan.good_len)  # drop a torn line left by a crash
            os.fchmod(fd, 0o600)
            if not existed:
                fsync_dir(self.path.parent)
            header = scan.header or new
            if header is None:
                raise StateError(f"cannot start the state journal {self.path}: no stack or lineage given")
        except OSError as exc:
            os.close(fd)
            raise StateError(f"cannot open the state journal {self.path}: {exc.strerror or exc}") from exc
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.header = header
        self._pending_header = b"" if scan.header is not None else header.line()
        self.last_serial = max(scan.last_serial, after)
        return header

    def append(self, lines: bytes, last_serial: int) -> int:
        """Write `lines` (and a new journal's header) in one write, then one fdatasync; the bytes written."""
        if self._fd is None:
            raise StateError(f"the state journal {self.path} is not open")
        data = self._pending_header + lines
        try:
            _write_all(self._fd, data)
            _sync_data(self._fd)
        except OSError as exc:
            self.close()  # the next append reopens and repairs a torn tail
            raise StateError(f"cannot append to the state journal {self.path}: {exc.strerror or exc}",
                             hint="the change may not be recorded; check free space and permissions") from exc
        self._pending_header = b""
        self.last_serial = last_serial
        return len(data)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        self.header = None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def remove(self) -> None:
        """Close and delete the journal (its changes are in a durable snapshot now)."""
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return
        fsync_dir(self.path.parent)


__all__ = ["JournalFile", "journal_hint"]
