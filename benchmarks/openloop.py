"""An open-loop HTTP load generator: requests leave on a fixed schedule, whatever the server's pace.

wrk keeps a fixed number of connections busy, so a slow response delays the next request and hides the
wait it caused (coordinated omission). Here request ``i`` is due at ``start + i / rate`` and its latency is
measured from that moment, so queueing in the client counts too. Run by ``benchmarks.load`` in a process of
its own::

    python -m benchmarks.openloop --url URL --bodies FILE --header 'Authorization: Bearer KEY' --rate 200 --duration 30

``FILE`` holds one request body per line, sent in turn, with ``__N__`` replaced by a number unique to the
request (and ``--run``). Prints one JSON object with the latency percentiles.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time

import aiohttp
import numpy as np
import uvloop


# uvloop's loop.time() counts whole milliseconds (libuv's clock): latencies are read off this clock instead.
_now = time.perf_counter


async def _send(session, url: str, body: bytes, due: float, latencies: list, statuses: dict) -> None:
    try:
        async with session.post(url, data=body) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        status = type(error).__name__
    latencies.append(_now() - due)
    statuses[status] = statuses.get(status, 0) + 1


async def run(url: str, bodies: list[bytes], headers: dict, rate: float, duration: float, warmup: float,
              connections: int, timeout_s: float = 10.0, run_id: str = "open") -> dict:
    """Send ``rate`` requests a second for ``warmup + duration`` seconds; report those after the warm-up.

    A request that has no answer ``timeout_s`` after it was due counts as an error, with that latency: past
    its capacity the server's queue would otherwise grow for as long as the run.
    """
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    measured: list[float] = []
    statuses: dict = {}
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:
        tasks = []
        start = _now() + 0.1
        for i in range(int((warmup + duration) * rate)):
            due = start + i / rate
            delay = due - _now()
            if delay > 0:
                await asyncio.sleep(delay)
            in_window = due - start >= warmup
            body = bodies[i % len(bodies)].replace(b"__N__", f"{run_id}-{i}".encode())
            tasks.append(asyncio.create_task(_send(session, url, body, due,
                                                   measured if in_window else [], statuses if in_window else {})))
        sent_by = _now()
        await asyncio.gather(*tasks)
        finished = _now()
    latencies = np.asarray(measured) * 1000
    ok = statuses.get(200, 0)
    return {"rate": rate, "duration_s": duration, "requests": len(measured), "ok": ok,
            "errors": {str(k): v for k, v in statuses.items() if k != 200},
            "offered_rate": round(len(measured) / duration, 1),
            "completed_per_s": round(len(measured) / (finished - start - warmup), 1),
            "ok_per_s": round(ok / (finished - start - warmup), 1),
            "schedule_lag_ms": round((sent_by - (start + (warmup + duration))) * 1000, 1),
            "latency_ms": {name: round(float(np.percentile(latencies, q)), 2) for name, q in
                           (("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9))}
            | {"max": round(float(latencies.max()), 2), "mean": round(float(latencies.mean()), 2)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", required=True, help="File of request bodies, one JSON document a line.")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable.")
    parser.add_argument("--rate", type=float, default=200.0, help="Requests a second.")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds measured.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Seconds sent first and not measured.")
    parser.add_argument("--connections", type=int, default=64, help="Most connections open at once.")
    parser.add_argument("--run", default="open", help="Prefix of the numbers that replace __N__ in bodies.")
    args = parser.parse_args(argv)
    with open(args.bodies, "rb") as handle:
        bodies = [line.rstrip(b"\n") for line in handle if line.strip()]
    headers = {"Content-Type": "application/json"}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    started = time.perf_counter()
    # The client's own pauses would count as the server's latency: libuv's event loop costs less per request
    # than asyncio's, and the collector stays off during the run (a run allocates a few tens of MB at most).
    gc.collect()
    gc.freeze()
    gc.disable()
    result = uvloop.run(run(args.url, bodies, headers, args.rate, args.duration, args.warmup, args.connections,
                            run_id=args.run))
    gc.enable()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
