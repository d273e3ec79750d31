/*
 * zonefile.h — the "foreground load" of S0.6: write the zone file of every
 * enumdr zone from SQLite, so that the DNS server (the seed's "background",
 * Knot DNS by default) can load it.  Each file is written under a temporary
 * name, fsync'd and renamed, from one read transaction so that the SOA
 * serial in the file is the serial of exactly the numbers in it.
 *
 * SOA and NS data come from the parameter table (the seed's net_param_conf):
 *   dns.ttl (3600), dns.soa_mname (ns1.ORIGIN.), dns.soa_rname
 *   (hostmaster.ORIGIN.), dns.ns (dns.soa_mname; a space-separated list),
 *   dns.soa_refresh/retry/expire/minimum (3600 600 604800 60).
 */
#ifndef ENUMDR_ZONEFILE_H
#define ENUMDR_ZONEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct zonefile_result {
	char origin[STORE_ORIGIN_MAX];
	uint32_t serial;
	int64_t numbers;
};

/* Write DIR/ORIGIN.zone for every zone (or only `only` when not NULL).
 * results (optional, malloc'd) receives one entry per zone written. */
int zonefile_write_all(struct store *st, const char *dir, const char *only,
    struct zonefile_result **results, size_t *n, char *err);

/* The same with flags: ZONEFILE_ZONEMD adds the zone's ZONEMD record
 * (RFC 8976, scheme SIMPLE, SHA-384) computed over exactly what the file
 * holds, so that a DNS server that generates ZONEMD itself (Knot's
 * zonemd-generate) loads the file without changing its serial, and a
 * secondary that verifies ZONEMD accepts it. */
#define ZONEFILE_ZONEMD 0x1
int zonefile_write(struct store *st, const char *dir, const char *only,
    unsigned flags, struct zonefile_result **results, size_t *n, char *err);

/* The SOA and the record TTL a zone file of origin carries (from the
 * parameters above), for the DNS UPDATE messages of lib/dnsupdate.h.
 * Needs a read transaction or the writer. */
struct dnsupd_soa;
int zonefile_soa(struct store *st, const char *origin, struct dnsupd_soa *soa,
    uint32_t *ttl, char *err);

/* The catalog zone (RFC 9432, version 2) that lists the zones, so that the
 * DNS server (Knot: catalog-role interpret) and its secondaries serve
 * every zone without a hand-kept list: DIR/CATALOG.zone with one member
 * per zone, LABEL.zones.CATALOG. PTR ORIGIN., the label being
 * zonefile_catalog_label (stable: "p" and the zone's prefix digits, which
 * the store keeps unique).  serial: the catalog's SOA serial. */
int zonefile_catalog_label(const char *prefix, char *out, size_t outlen);
int zonefile_write_catalog(const char *dir, const char *catalog,
    const struct zone_info *zones, size_t n, uint32_t serial, char *err);

#endif
