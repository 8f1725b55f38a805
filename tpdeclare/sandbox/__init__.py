"""The sandbox engine: a local emulator of the TensorPool API.

Modules: `engine` (Engine.handle: faults, auth, dispatch), `routes` (route table, matching, bearer
check), `queries` / `mutations` (read and write endpoints), `views` / `message_tables` (bodies per
dialect, text tables), `dialects` (variants of the assumed shapes), `openapi_doc` (GET /openapi.json),
`lax_validation` (FastAPI + pydantic v2 lax-mode request checks), `timeline` (statuses and cost from
timestamps), `billing`, `world_queries`, `request_log` (counters, stats, the request log), `world`
(MemoryWorld / FileWorld stores), `faults` (FaultPlan and its grammar), `contract` (validators from
specs/tensorpool-api.json), `call_context`, `responses`, `server` (threaded HTTP server), `serve`
(`tpdeclare sandbox serve`), `inprocess` (the `--engine sandbox` requests adapter).
"""
