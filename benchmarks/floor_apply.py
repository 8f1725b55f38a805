"""The apply-at-scale floor: a bare script making the same creates and polls as `tpdeclare apply`, with
one requests.Session and the same concurrency, and nothing else (no state, no plan, no output).

    python benchmarks/floor_apply.py URL KEY BODIES.json PARALLELISM

BODIES.json is the list of POST /cluster/create bodies tpdeclare sends for the spec (the benchmark
writes it from the loaded spec, so both sides create exactly the same clusters).
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

url, key, bodies_path, parallelism = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(bodies_path) as fh:
    bodies = json.load(fh)
session = requests.Session()
headers = {"Authorization": f"Bearer {key}"}


def one(body: dict) -> str:
    r = session.post(url + "/cluster/create", json=body, headers=headers, timeout=60)
    r.raise_for_status()
    request_id = r.json()["request_id"]
    while True:
        r = session.get(f"{url}/request/info/{request_id}", headers=headers, timeout=60)
        r.raise_for_status()
        status = r.json()["status"]
        if status in ("COMPLETED", "FAILED"):
            return status
        time.sleep(float(r.headers.get("Retry-After", "2")))


with ThreadPoolExecutor(max_workers=parallelism) as pool:
    done = list(pool.map(one, bodies))
assert len(done) == len(bodies) and all(s == "COMPLETED" for s in done), done[:5]
