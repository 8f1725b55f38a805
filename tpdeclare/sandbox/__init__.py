"""The sandbox engine: a local emulator of the TensorPool API.

Modules: `engine` (Engine.handle: pure request handling), `timeline` (statuses and cost from
timestamps), `world` (MemoryWorld / FileWorld stores), `faults` (FaultPlan and its grammar),
`contract` (validators from specs/tensorpool-api.json), `server` (threaded HTTP server),
`serve` (`tpdeclare sandbox serve`), `inprocess` (the `--engine sandbox` requests adapter).
"""
