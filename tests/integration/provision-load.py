#!/usr/bin/env python3
"""provision-load.py — a provisioning load client for the integration tests
(issue 14): one keep-alive HTTP connection, distinct numbers, a log of every
acknowledged one.

    provision-load.py --url http://192.0.2.53:8053 --prefix +467012 \
        --log acked.log [--start 0] [--digits 7] [--rate N] [--count N]
        [--timeout 2] [--domain ims.example]

It POSTs /v1/numbers {"e164": PREFIX + COUNTER, "naptr": [one sip record]}
for COUNTER = start, start+1, ... (zero-padded to --digits), each number
once, as fast as the answers come or at --rate requests per second, until
SIGTERM/SIGINT (or --count numbers were sent).  Every number answered
HTTP 201 is appended to the log as "RECV_MS NUMBER SENT_MS" (ms since the
epoch when the answer arrived / when the request was sent), flushed per
line, so the log holds every acknowledged number even when the client is
killed.  A request in flight when SIGTERM arrives is finished first (its
answer may be a 201: it is logged).

A number whose request failed without an answer (connection refused or
reset, timeout) is not sent again: it may or may not have been committed,
and the test checks only acknowledged numbers.  On such an error the
connection is closed and opened again (after 20 ms, so that a VIP that is
moving does not make it spin).

At exit it prints one line:
    load: acked=N sent=N elapsed=S rate=R/s refused: 503=N ... errors: ConnectionRefusedError=N ...
python3 standard library only.
"""
import argparse
import http.client
import json
import signal
import sys
import time
import urllib.parse

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def now_ms():
    return int(time.time() * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True,
                    help="provisioning listener, http://HOST:PORT")
    ap.add_argument("--prefix", required=True,
                    help="'+' and the country code and more digits")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--digits", type=int, default=7,
                    help="the counter's width (zero-padded)")
    ap.add_argument("--log", required=True,
                    help="file the acknowledged numbers are appended to")
    ap.add_argument("--rate", type=float, default=0,
                    help="requests per second (0: as fast as possible)")
    ap.add_argument("--count", type=int, default=0,
                    help="stop after this many numbers (0: until SIGTERM)")
    ap.add_argument("--timeout", type=float, default=2.0,
                    help="seconds per request (connect, send, answer)")
    ap.add_argument("--domain", default="ims.example",
                    help="the SIP URI's host: sip:NUMBER@DOMAIN")
    a = ap.parse_args()

    u = urllib.parse.urlsplit(a.url)
    if u.scheme != "http" or not u.hostname:
        ap.error("--url must be http://HOST[:PORT]")
    host, port = u.hostname, u.port or 80
    if not a.prefix.startswith("+") or not a.prefix[1:].isdigit():
        ap.error("--prefix must be '+' and digits")
    if len(a.prefix) - 1 + a.digits > 15:
        ap.error("prefix and counter make more than 15 digits")
    if a.start < 0 or a.start >= 10 ** a.digits:
        ap.error("--start does not fit in --digits")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    log = open(a.log, "a", buffering=1)
    conn = None
    acked = sent = 0
    refused = {}
    errors = {}
    counter = a.start
    t0 = time.monotonic()
    while not stop:
        if a.count and sent >= a.count:
            break
        if counter >= 10 ** a.digits:
            break
        if a.rate > 0:
            due = t0 + sent / a.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
                if stop:
                    break
        num = "%s%0*d" % (a.prefix, a.digits, counter)
        counter += 1
        body = json.dumps({"e164": num, "naptr": [{
            "order": 100, "preference": 10, "flags": "u",
            "service": "E2U+sip",
            "regexp": "!^.*$!sip:%s@%s!" % (num, a.domain),
            "replacement": "."}]}, separators=(",", ":"))
        sent += 1
        t_sent = now_ms()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port,
                                                  timeout=a.timeout)
            conn.request("POST", "/v1/numbers", body=body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            status = r.status
            if r.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            name = type(e).__name__
            errors[name] = errors.get(name, 0) + 1
            if conn is not None:
                conn.close()
                conn = None
            if not stop:
                time.sleep(0.02)
            continue
        if status == 201:
            acked += 1
            log.write("%d %s %d\n" % (now_ms(), num, t_sent))
        else:
            refused[status] = refused.get(status, 0) + 1
    elapsed = time.monotonic() - t0
    if conn is not None:
        conn.close()
    log.close()
    line = "load: acked=%d sent=%d elapsed=%.3f rate=%.1f/s refused:" % (
        acked, sent, elapsed, acked / elapsed if elapsed > 0 else 0.0)
    line += "".join(" %s=%d" % kv for kv in sorted(refused.items())) or " none"
    line += " errors:"
    line += "".join(" %s=%d" % kv for kv in sorted(errors.items())) or " none"
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
