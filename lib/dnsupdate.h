/*
 * dnsupdate.h — feed a DNS server (Knot DNS) incrementally: DNS UPDATE
 * (RFC 2136) messages, TSIG-signed (RFC 8945), over one kept-open TCP
 * connection (RFC 7766: the messages of one flush are pipelined, their
 * answers matched by message ID), and the SOA serial query over the same
 * connection (unsigned: the serial is public).  Messages are built and parsed with libknot, never by hand.
 *
 * The key file is Knot's own key format, as `keymgr -t NAME hmac-sha256`
 * prints it, so that the same file is included by knot.conf:
 *     key:
 *       - id: enumdr
 *         algorithm: hmac-sha256
 *         secret: BASE64
 * (one key; comments and blank lines allowed).
 */
#ifndef ENUMDR_DNSUPDATE_H
#define ENUMDR_DNSUPDATE_H

#include <stddef.h>
#include <stdint.h>

struct dnsupd;

/* One number's new state: its owner name (absolute, "4.3.2.1.6.4.e164.arpa.")
 * and its NAPTR lines in the store's text form (lib/naptr.h), or NULL / ""
 * when the number is removed.  An update replaces everything at the name. */
struct dnsupd_change {
	const char *owner;
	const char *naptr;
	uint32_t serial;          /* the zone serial after this change */
};

/* The zone's SOA as the zone files carry it (zonefile_soa). */
struct dnsupd_soa {
	uint32_t ttl;
	char mname[256], rname[256];  /* absolute names, final dot */
	uint32_t refresh, retry, expire, minimum;
};

/* Connect to server ("ADDR:PORT", IPv4 or [IPv6]:PORT) with the key file
 * (NULL: unsigned messages).  Every wait of every later call is bounded
 * by timeout_ms.  0, or -1 and err. */
int dnsupd_open(struct dnsupd **out, const char *server, const char *keyfile,
    int timeout_ms, char *err);
void dnsupd_close(struct dnsupd *u);

/* Queue the changes of one zone, in order (later changes of a name win):
 * as many messages as they need, each ending with the SOA carrying the
 * serial of the last change it holds (so the server's serial is always
 * the database serial of exactly what it holds).  ttl: the NAPTR TTL. */
int dnsupd_queue_zone(struct dnsupd *u, const char *origin, uint32_t ttl,
    const struct dnsupd_soa *soa, const struct dnsupd_change *c, size_t n,
    char *err);
/* Queue adding (add=1) or removing a member of a catalog zone (RFC 9432):
 * LABEL.zones.CATALOG. PTR ZONE. */
int dnsupd_queue_catalog(struct dnsupd *u, const char *catalog,
    const char *label, const char *zone, int add, char *err);
/* Send what is queued and wait for every answer (NOERROR, TSIG verified).
 * On any failure the connection is dropped (the next call reconnects) and
 * err names the zone and the server's answer; some messages may have
 * been applied: ask the serials (dnsupd_soa_serial) to know which. */
int dnsupd_flush(struct dnsupd *u, char *err);
/* Messages queued and not yet flushed. */
size_t dnsupd_pending(const struct dnsupd *u);

/* The server's SOA serial of origin: 0 and *found=1, 0 and *found=0 when
 * the server does not serve the zone (REFUSED, NOTAUTH, SERVFAIL, no
 * SOA), -1 and err on a transport failure or another answer. */
int dnsupd_soa_serial(struct dnsupd *u, const char *origin, uint32_t *serial,
    int *found, char *err);

#endif
