"""The `state list|show|rm|mv` commands' volume part: addresses written `storage.ADDR` name volume records."""

from __future__ import annotations

import dataclasses
import json

from tpdeclare import errors
from tpdeclare.identifiers import is_address
from tpdeclare.state.model import State
from tpdeclare.state.volumes import VolumeRecord, split_volume_address, volume_address

UNTOUCHED = "untouched and still bills; `tpdeclare orphans` lists it."


def list_lines(state: State) -> list[str]:
    """One line per volume record, as `state list` prints clusters: address, ID, status, name, attachments."""
    return [f"{volume_address(a)}\t{v.storage_id or '-'}\t{v.status.value}\t{v.name}"
            + (f"\tattached: {', '.join(sorted(v.attached))}" if v.attached else "")
            for a, v in sorted(state.volumes.items())]


def recorded_volume(state: State, shown: str, where: str) -> VolumeRecord:
    address = split_volume_address(shown) or shown
    if address not in state.volumes:
        raise errors.TpdeclareError(f"no volume at address '{shown}' in {where}",
                                    hint="see `tpdeclare state list` for the recorded addresses")
    return state.volumes[address]


def format_volume(rec: VolumeRecord) -> str:
    data = {"address": volume_address(rec.address), **rec.to_json()}
    return json.dumps(data, indent=2, sort_keys=True)


def removed(state: State, shown: list[str], where: str, say: list[str]) -> State:
    """`state` without the volume records named (each must exist); the lines to print go to `say`."""
    volumes = dict(state.volumes)
    for name in shown:
        rec = recorded_volume(state, name, where)
        del volumes[rec.address]
        say.append(f"Removed {name} ({rec.storage_id or 'no id'}) from state. The volume itself is {UNTOUCHED}")
    return dataclasses.replace(state, volumes=volumes, serial=state.serial + 1)


def moved(state: State, source: str, destination: str, where: str) -> tuple[State, str]:
    rec = recorded_volume(state, source, where)
    target = split_volume_address(destination)
    if target is None or not is_address(target):
        raise errors.TpdeclareError(f"'{destination}' is not a valid volume address",
                                    hint="a volume is moved to storage.ADDR: lowercase letters, digits and hyphens")
    if target in state.volumes:
        raise errors.TpdeclareError(f"address '{destination}' is already in state",
                                    hint="remove it first with `tpdeclare state rm`, or pick another address")
    volumes = dict(state.volumes)
    del volumes[rec.address]
    volumes[target] = dataclasses.replace(rec, address=target)
    return (dataclasses.replace(state, volumes=volumes, serial=state.serial + 1),
            f"Moved {source} to {destination} ({rec.storage_id or 'no id'}).")
