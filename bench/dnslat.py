#!/usr/bin/python3
"""bench/dnslat.py - provision -> answered: the time from the start of a
change's request to the first DNS answer that carries it (issue 16).

    dnslat.py enumdr --url http://127.0.0.1:PORT --dns 127.0.0.1:PORT
                     --zones PREFIX,... [--samples S] [--rate R]
    dnslat.py knot   --dns 127.0.0.1:PORT --key FILE
                     --zones PREFIX,... [--samples S] [--rate R]

enumdr: each sample POSTs one new number to enumdrd's provisioning
listener (one keep-alive connection) and then asks the DNS server for it
over UDP every millisecond until the answer holds its NAPTR record.
knot:   the baseline, Knot's own incremental update: each sample sends the
same change straight to Knot as one TSIG-signed DNS UPDATE (RFC 2136,
dnspython), and is then asked for the same way.

--zones: the zones' prefixes (digits after +); the samples go to the
first zone.  --rate R: meanwhile a background load of R changes per second
to every zone in turn (enumdr: two keep-alive connections of R/2 each;
knot: one UPDATE per change over UDP, the answers read by a thread), open
loop.  The samples are spaced 50-150 ms apart, after --warmup (5) samples
that are not counted (the first update of a zone opens Knot's journal).  Prints one JSON line:
mode, samples, p50_ms, p90_ms, p99_ms, max_ms, background_rate (what the
load achieved), background_errors.
"""

import argparse
import http.client
import json
import math
import random
import socket
import sys
import threading
import time
import urllib.parse

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update


def pct(sorted_values, p):
    k = math.ceil(p / 100.0 * len(sorted_values)) - 1
    return sorted_values[max(0, min(len(sorted_values) - 1, k))]


def domain(e164):
    return ".".join(reversed(e164.lstrip("+"))) + ".e164.arpa."


def origin(prefix):
    return ".".join(reversed(prefix)) + ".e164.arpa."


def regexp(e164):
    return "!^.*$!sip:%s@ims.example.net!" % e164


def body(e164):
    return json.dumps({"e164": e164, "naptr": [{
        "order": 100, "preference": 10, "flags": "u", "service": "E2U+sip",
        "regexp": regexp(e164), "replacement": "."}]})


def hostport(s):
    h, _, p = s.rpartition(":")
    return h, int(p)


def read_key(path):
    """Knot's key file (keymgr -t): id, algorithm, secret."""
    k = {}
    for line in open(path):
        line = line.strip().lstrip("- ")
        for f in ("id", "algorithm", "secret"):
            if line.startswith(f + ":"):
                k[f] = line.split(":", 1)[1].strip()
    if len(k) != 3:
        sys.exit("dnslat: %s is not a Knot key file" % path)
    return k


class Poster:
    """One keep-alive connection to enumdrd's provisioning listener."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    def post(self, e164):
        self.conn.request("POST", "/v1/numbers", body=body(e164),
                          headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        r.read()
        if r.status != 201:
            raise RuntimeError("POST %s: HTTP %d" % (e164, r.status))


class Updater:
    """DNS UPDATEs straight to Knot over UDP, TSIG-signed."""

    def __init__(self, server, key):
        self.addr = server
        self.ring = dns.tsigkeyring.from_text({key["id"]: key["secret"]})
        self.keyname = key["id"]
        self.alg = dns.name.from_text(key["algorithm"])
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.errors = 0
        self.answers = 0
        self.why = {}
        threading.Thread(target=self.drain, daemon=True).start()

    def drain(self):
        while True:
            try:
                wire, _ = self.sock.recvfrom(65535)
                # the answer's rcode (its TSIG is Knot's business here:
                # the probe asks Knot what it serves)
                rcode = wire[3] & 0x0F if len(wire) >= 12 else -1
                if rcode != 0:
                    self.errors += 1
                    k = dns.rcode.to_text(rcode) if rcode >= 0 else "short"
                    self.why[k] = self.why.get(k, 0) + 1
                self.answers += 1
            except Exception as e:
                self.errors += 1
                k = type(e).__name__
                self.why[k] = self.why.get(k, 0) + 1

    def send(self, prefix, e164):
        u = dns.update.UpdateMessage(origin(prefix), keyring=self.ring,
                                     keyname=self.keyname,
                                     keyalgorithm=self.alg)
        u.replace(domain(e164), 3600, "NAPTR",
                  '100 10 "u" "E2U+sip" "%s" .' % regexp(e164))
        self.sock.sendto(u.to_wire(), self.addr)


def answered(server, e164, deadline):
    """Ask every ms until the NAPTR of e164 is answered; the time or None."""
    q = dns.message.make_query(domain(e164), dns.rdatatype.NAPTR)
    want = "sip:%s@" % e164
    while time.monotonic() < deadline:
        try:
            r = dns.query.udp(q, server[0], port=server[1], timeout=0.2)
            for rrset in r.answer:
                if want in rrset.to_text():
                    return time.monotonic()
        except Exception:
            pass
        time.sleep(0.001)
    return None


def background(args, stop, stats, zones):
    """R changes/s across the zones, open loop, until stop."""
    n = 0
    if args.mode == "enumdr":
        per = args.rate / 2.0

        def worker(w):
            p = Poster(args.url)
            t0 = time.monotonic()
            i = 0
            while not stop.is_set():
                slot = t0 + i / per
                now = time.monotonic()
                if slot > now:
                    time.sleep(slot - now)
                z = zones[(2 * i + w) % len(zones)]
                e = "+%s7%d%05d" % (z, w, i % 100000)
                try:
                    p.post(e)
                    stats["done"] += 1
                except Exception:
                    stats["errors"] += 1
                    p = Poster(args.url)
                i += 1
        ts = [threading.Thread(target=worker, args=(w,)) for w in (0, 1)]
        for t in ts:
            t.start()
        stop.wait()
        for t in ts:
            t.join()
        return
    u = args.updater
    t0 = time.monotonic()
    while not stop.is_set():
        slot = t0 + n / args.rate
        now = time.monotonic()
        if slot > now:
            time.sleep(slot - now)
        z = zones[n % len(zones)]
        u.send(z, "+%s7%06d" % (z, n % 1000000))
        stats["done"] += 1
        n += 1
    stats["errors"] = u.errors
    stats["why"] = u.why


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("enumdr", "knot"))
    ap.add_argument("--url")
    ap.add_argument("--dns", required=True)
    ap.add_argument("--key")
    ap.add_argument("--zones", required=True)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--tag", default="")
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    zones = args.zones.split(",")
    server = hostport(args.dns)
    if args.mode == "enumdr":
        if not args.url:
            sys.exit("dnslat: enumdr needs --url")
        poster = Poster(args.url)
    else:
        if not args.key:
            sys.exit("dnslat: knot needs --key")
        args.updater = Updater(server, read_key(args.key))
    stop = threading.Event()
    stats = {"done": 0, "errors": 0}
    bg = None
    if args.rate > 0:
        bg = threading.Thread(target=background,
                              args=(args, stop, stats, zones))
        bg.start()
        time.sleep(1.0)             # let the load settle
    lat, lost = [], 0
    tag = args.tag or ("%d" % random.randrange(1000))
    t_bg = time.monotonic()
    done0 = stats["done"]
    try:
        for i in range(-args.warmup, args.samples):
            e = "+%s8%s%04d" % (zones[0], tag[-1:], i + args.warmup)
            t0 = time.monotonic()
            if args.mode == "enumdr":
                poster.post(e)
            else:
                args.updater.send(zones[0], e)
            t1 = answered(server, e, t0 + 10.0)
            if i < 0:
                pass            # a warmup sample: not counted
            elif t1 is None:
                lost += 1
            else:
                lat.append((t1 - t0) * 1000.0)
            time.sleep(random.uniform(0.05, 0.15))
    finally:
        stop.set()
        if bg is not None:
            bg.join()
    elapsed = time.monotonic() - t_bg
    lat.sort()
    out = {"mode": args.mode, "samples": len(lat), "unanswered": lost,
           "p50_ms": round(pct(lat, 50), 1), "p90_ms": round(pct(lat, 90), 1),
           "p99_ms": round(pct(lat, 99), 1), "max_ms": round(lat[-1], 1),
           "background_rate": round((stats["done"] - done0) / elapsed)
           if args.rate > 0 else 0,
           "background_errors": stats["errors"],
           "background_error_kinds": stats.get("why", {})}
    print(json.dumps(out))
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
