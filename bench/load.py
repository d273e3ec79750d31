#!/usr/bin/env python3
"""bench/load.py - a provisioning load client for the benchmarks.

Posts COUNT distinct new numbers (POST /v1/numbers, one number each) to an
enumdrd provisioning listener on ONE keep-alive connection (http.client,
Python's standard library only), either paced at a fixed rate or as fast as
the connection goes, and prints one JSON line of what it measured.

    python3 bench/load.py --url http://127.0.0.1:PORT --count N
                          [--rate R] [--start K | --counter FILE]
                          [--log FILE] [--heartbeat]

  --rate R        R changes per second, open loop on one connection: request
                  i is sent at t0 + i/R, or at once when the previous answer
                  came later than that (one connection cannot overlap
                  requests; "late" counts those).  0 (default): as fast as
                  the connection goes (each request right after the answer
                  to the previous one).
  --start K       the first number is +4690 followed by K in 8 digits, then
                  K+1, ... (default 0)
  --counter FILE  take K from FILE (an integer) and write K+COUNT back, so
                  that repeated runs (hyperfine) post numbers nobody posted
                  before
  --log FILE      also append the JSON line to FILE (one line per run)
  --heartbeat     GET /v1/heartbeat instead (answers must be 200): the
                  client's own ceiling, with no commit behind the answer
                  (--url then names the peer API)

Every answer must be 201 (200 with --heartbeat); any other answer or a
broken connection ends the run with exit 1 (the JSON line is printed all
the same, "ok" < "count").  The JSON line: url, request, rate_target,
count, ok, first, last (the numbers), elapsed_s (first send to last
answer), rate (ok / elapsed_s), late (requests sent more than 1 ms after
their slot: the previous answer came late, or the sleep overslept),
latency_p50_ms, latency_p99_ms, latency_max_ms (send to answer), error (the
first failure, or null).
"""

import argparse
import http.client
import json
import math
import os
import sys
import time
import urllib.parse


def percentile(sorted_values, p):
    """The nearest-rank percentile p (0..100) of an ascending list."""
    if not sorted_values:
        return None
    k = math.ceil(p / 100.0 * len(sorted_values)) - 1
    return sorted_values[max(0, min(len(sorted_values) - 1, k))]


def body_for(e164):
    return json.dumps({
        "e164": e164,
        "naptr": [{
            "order": 100, "preference": 10, "flags": "u",
            "service": "E2U+sip",
            "regexp": "!^.*$!sip:%s@ims.example.net!" % e164,
            "replacement": ".",
        }],
    }, separators=(",", ":")).encode("ascii")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--counter")
    ap.add_argument("--log")
    ap.add_argument("--heartbeat", action="store_true")
    args = ap.parse_args()
    if args.count < 1 or args.rate < 0:
        ap.error("--count must be >= 1 and --rate >= 0")

    start = args.start
    if args.counter:
        with open(args.counter) as f:
            start = int(f.read().strip() or "0")
        with open(args.counter + ".tmp", "w") as f:
            f.write("%d\n" % (start + args.count))
        os.replace(args.counter + ".tmp", args.counter)
    if start + args.count > 10 ** 8:
        ap.error("numbers beyond +4690%08d" % (10 ** 8 - 1))

    u = urllib.parse.urlsplit(args.url)
    if u.scheme != "http" or not u.hostname or not u.port:
        ap.error("--url must be http://HOST:PORT")
    base = u.path.rstrip("/")
    if args.heartbeat:
        method, path, want = "GET", base + "/v1/heartbeat", 200
    else:
        method, path, want = "POST", base + "/v1/numbers", 201

    # The bodies are made before the clock starts.
    numbers = ["+4690%08d" % (start + i) for i in range(args.count)]
    if args.heartbeat:
        bodies = [None] * args.count
        headers = {}
    else:
        bodies = [body_for(e) for e in numbers]
        headers = {"Content-Type": "application/json"}

    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.connect()
    lat = []
    ok = 0
    late = 0
    error = None
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    clock = time.monotonic
    t0 = clock()
    t_end = t0
    for i, body in enumerate(bodies):
        if interval:
            slot = t0 + i * interval
            now = clock()
            if now < slot:
                time.sleep(slot - now)
        t_send = clock()
        if interval and t_send - slot > 0.001:
            late += 1
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            error = "%s: %s: %s" % (numbers[i], type(e).__name__, e)
            break
        t_end = clock()
        lat.append(t_end - t_send)
        if resp.status != want:
            error = "%s: HTTP %d %s" % (numbers[i], resp.status,
                                        data[:300].decode("utf-8", "replace"))
            break
        ok += 1
        if resp.will_close:
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            conn.connect()
    conn.close()

    elapsed = t_end - t0
    lat.sort()
    ms = lambda v: None if v is None else round(v * 1000.0, 3)
    out = {
        "url": args.url,
        "request": "%s %s" % (method, path),
        "rate_target": args.rate,
        "count": args.count,
        "ok": ok,
        "first": numbers[0],
        "last": numbers[-1],
        "elapsed_s": round(elapsed, 4),
        "rate": round(ok / elapsed, 1) if elapsed > 0 else None,
        "late": late,
        "latency_p50_ms": ms(percentile(lat, 50)),
        "latency_p99_ms": ms(percentile(lat, 99)),
        "latency_max_ms": ms(lat[-1] if lat else None),
        "error": error,
    }
    line = json.dumps(out, separators=(",", ":"))
    print(line)
    if args.log:
        with open(args.log, "a") as f:
            f.write(line + "\n")
    sys.stdout.flush()
    return 0 if ok == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
