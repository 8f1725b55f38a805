"""The sandbox's fault plan: which endpoints misbehave, how often, parsed from a compact spec string.

Grammar (whitespace is ignored; the empty string means no faults):

    FAULTS   := SECTION (";" SECTION)*
    SECTION  := TARGETS ":" SETTING ("," SETTING)*
    TARGETS  := TARGET ("|" TARGET)*
    TARGET   := "*" | health | healthz | openapi | create | request_info | list | info | edit | delete
              | ssh | storage_create | storage_list | storage_info | storage_edit | storage_delete
              | storage_attach | storage_detach | provision
    SETTING  := KEY "=" NUMBER
    KEY      := latency                   seconds to wait before answering (>= 0)
              | 500 | 502 | 503 | 504 | 429
                                          probability (0..1) of answering with that status instead of
                                          handling the request; decided before any state change;
                                          429 and 503 carry a Retry-After header
              | drop                      probability (0..1) that the request is handled (a create or
                                          delete is committed) and then the connection is closed with
                                          no answer at all
              | failed                    (provision only) probability that a create's provisioning
                                          ends FAILED; decided when the create is accepted

`*` means every API endpoint except `healthz` and `openapi` (so readiness checks and discovery stay
reliable unless a test targets them by name). An endpoint's own section overrides `*` key by key, and
a later section overrides an earlier one. For each endpoint the error probabilities must add up to at most 1.

Example: `*:latency=0.05,500=0.1,503=0.05;create:drop=0.2,429=0.1;provision:failed=0.2`
"""

from __future__ import annotations

import math
from dataclasses import field

from tpdeclare.errors import TpdeclareError
from tpdeclare.frozen_values import frozen

ENDPOINTS: tuple[str, ...] = ("health", "healthz", "openapi", "create", "request_info", "list", "info", "edit",
                              "delete", "ssh", "storage_create", "storage_list", "storage_info", "storage_edit",
                              "storage_delete", "storage_attach", "storage_detach")
SPARED_BY_STAR = frozenset({"healthz", "openapi"})
ERROR_STATUSES: tuple[int, ...] = (500, 502, 503, 504, 429)
RETRY_AFTER_STATUSES: frozenset[int] = frozenset({429, 503})
_TARGETS = ENDPOINTS + ("*", "provision")
_ENDPOINT_KEYS = ("latency", "drop") + tuple(str(s) for s in ERROR_STATUSES)

GRAMMAR_HELP = (
    "FAULTS is SECTION[;SECTION...], SECTION is TARGET[|TARGET...]:KEY=NUMBER[,KEY=NUMBER...]; "
    f"TARGET is * or one of {', '.join(ENDPOINTS)}, provision; "
    "KEY is latency (seconds), 500/502/503/504/429 (probability of that error), "
    "drop (probability of commit-then-close), or failed (provision only: probability of FAILED). "
    "Example: '*:latency=0.05,500=0.1;create:drop=0.2;provision:failed=0.2'"
)


@frozen
class EndpointFaults:
    """The faults that apply to one endpoint."""

    latency: float = 0.0
    errors: tuple[tuple[int, float], ...] = ()  # (status, probability), in ERROR_STATUSES order
    drop: float = 0.0

    @property
    def error_rate(self) -> float:
        return sum(rate for _, rate in self.errors)

    def pick_error(self, u: float) -> int | None:
        """The error status a uniform draw `u` in [0, 1) selects, or None for no error."""
        cumulative = 0.0
        for status, rate in self.errors:
            cumulative += rate
            if u < cumulative:
                return status
        return None


@frozen
class FaultPlan:
    """A parsed fault spec: per-endpoint faults plus the provisioning-failure rate."""

    spec: str = ""
    endpoints: dict[str, EndpointFaults] = field(default_factory=dict)
    provision_failed: float = 0.0

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        """Parse a fault spec (grammar in the module docstring); TpdeclareError names the bad part."""
        text = "".join((spec or "").split())
        if not text:
            return cls()
        settings: dict[str, dict[str, float]] = {}  # target -> key -> value, in order of appearance
        for section in text.split(";"):
            if not section:
                continue
            targets_text, sep, body = section.partition(":")
            if not sep or not targets_text or not body:
                raise _bad(spec, section, "expected TARGET:KEY=NUMBER[,KEY=NUMBER...]")
            targets = targets_text.split("|")
            for target in targets:
                if target not in _TARGETS:
                    raise _bad(spec, target, f"unknown target; use * or one of {', '.join(_TARGETS[:-2])}, provision")
            for setting in body.split(","):
                key, eq, value_text = setting.partition("=")
                if not eq or not key or not value_text:
                    raise _bad(spec, setting, "expected KEY=NUMBER")
                try:
                    value = float(value_text)
                except ValueError:
                    raise _bad(spec, setting, f"{value_text!r} is not a number") from None
                if not math.isfinite(value) or value < 0:
                    raise _bad(spec, setting, "the number must be finite and >= 0")
                for target in targets:
                    allowed = ("failed",) if target == "provision" else _ENDPOINT_KEYS
                    if key not in allowed:
                        raise _bad(spec, setting, f"unknown key for {target}; use {', '.join(allowed)}")
                    if key != "latency" and value > 1:
                        raise _bad(spec, setting, "a probability must be between 0 and 1")
                    settings.setdefault(target, {})[key] = value
        provision_failed = settings.pop("provision", {}).get("failed", 0.0)
        star = settings.get("*", {})
        endpoints: dict[str, EndpointFaults] = {}
        for name in ENDPOINTS:
            merged = dict(star) if name not in SPARED_BY_STAR else {}
            merged.update(settings.get(name, {}))
            if not merged:
                continue
            errors = tuple((s, merged[str(s)]) for s in ERROR_STATUSES if merged.get(str(s), 0.0) > 0)
            faults = EndpointFaults(latency=merged.get("latency", 0.0), errors=errors, drop=merged.get("drop", 0.0))
            if faults.error_rate > 1.0 + 1e-9:
                raise _bad(spec, name, f"error probabilities for {name} add up to {faults.error_rate:g} (> 1)")
            if faults != EndpointFaults():
                endpoints[name] = faults
        return cls(spec=text, endpoints=endpoints, provision_failed=provision_failed)

    def for_endpoint(self, name: str) -> EndpointFaults:
        """The faults for one endpoint (none if it is not mentioned)."""
        return self.endpoints.get(name, _NO_FAULTS)

    def __bool__(self) -> bool:
        return bool(self.endpoints) or self.provision_failed > 0


_NO_FAULTS = EndpointFaults()


def _bad(spec: str | None, part: str, why: str) -> TpdeclareError:
    return TpdeclareError(f"invalid fault spec {spec!r}: {part!r}: {why}", hint=GRAMMAR_HELP)
