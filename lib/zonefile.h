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

#endif
