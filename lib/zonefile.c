/*
 * zonefile.c — write RFC 1035 zone files of the enumdr zones (S0.6
 * foreground load), their ZONEMD (RFC 8976) and the catalog zone that
 * lists them (RFC 9432).  See zonefile.h.
 *
 * The ZONEMD digest is computed while the file is written, record by
 * record, never holding the zone in memory.  That works because the
 * records come in DNSSEC canonical order (RFC 4034 6.1) by themselves:
 * the apex first (NS, SOA, then the prefix number's NAPTR: types 2, 6,
 * 35), then the numbers as store_foreach_number returns them, in e164
 * byte order.  A number's owner is its digits after the prefix, reversed,
 * one digit per label, under the origin; canonical order compares labels
 * from the root, so it compares those digits left to right, and a name
 * that is an ancestor of another (a shorter number) sorts first: exactly
 * the byte order of "+PREFIX DIGITS" strings.  zonemd_number checks that
 * the order holds rather than trusting it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libknot/libknot.h>
#include <openssl/evp.h>

#include "zonefile.h"
#include "dnsupdate.h"
#include "naptr.h"
#include "util.h"

struct zone_params {
	char ttl[16];
	char mname[300];
	char rname[300];
	char ns[STORE_PARAM_VALUE_MAX + 1];
	char refresh[16], retry[16], expire[16], minimum[16];
};

/* Parameter name, or def (with ORIGIN substituted for "%s") when absent.
 * The value is checked by the store's rules (store_parameter_valid) before
 * it goes into a zone file: a value from a database is never trusted to be
 * one line of one field. */
static int
param(struct store *st, const char *name, const char *def, const char *origin,
    char *out, size_t outlen, char *err)
{
	char value[STORE_PARAM_VALUE_MAX + 2], verr[ENUMDR_ERRLEN];
	enum store_status s;
	size_t len;

	s = store_get_parameter(st, name, value, sizeof(value), err);
	if (s == STORE_ENOENT) {
		const char *at = strstr(def, "%s");

		if (at == NULL)
			len = (size_t)snprintf(out, outlen, "%s", def);
		else
			len = (size_t)snprintf(out, outlen, "%.*s%s%s",
			    (int)(at - def), def, origin, at + 2);
		if (len >= outlen) {
			errf(err, "zone %s: default of parameter %s too long",
			    origin, name);
			return -1;
		}
		return 0;
	}
	if (s != STORE_OK)
		return -1;
	if (store_parameter_valid(name, value, verr) == -1) {
		errf(err, "zone %s: refusing to write it: %s", origin, verr);
		return -1;
	}
	if (strlcpy_(out, value, outlen) >= outlen) {
		errf(err, "zone %s: parameter %s is longer than %zu bytes",
		    origin, name, outlen - 1);
		return -1;
	}
	return 0;
}

static int
load_params(struct store *st, const char *origin, struct zone_params *p,
    char *err)
{
	if (param(st, "dns.ttl", "3600", origin, p->ttl, sizeof(p->ttl), err) ||
	    param(st, "dns.soa_mname", "ns1.%s.", origin, p->mname,
	    sizeof(p->mname), err) ||
	    param(st, "dns.soa_rname", "hostmaster.%s.", origin, p->rname,
	    sizeof(p->rname), err) ||
	    param(st, "dns.ns", p->mname, origin, p->ns, sizeof(p->ns), err) ||
	    param(st, "dns.soa_refresh", "3600", origin, p->refresh,
	    sizeof(p->refresh), err) ||
	    param(st, "dns.soa_retry", "600", origin, p->retry,
	    sizeof(p->retry), err) ||
	    param(st, "dns.soa_expire", "604800", origin, p->expire,
	    sizeof(p->expire), err) ||
	    param(st, "dns.soa_minimum", "60", origin, p->minimum,
	    sizeof(p->minimum), err))
		return -1;
	return 0;
}

/* ---- ZONEMD (RFC 8976: scheme 1 SIMPLE, hash algorithm 1 SHA-384) ---- */

#define ZONEMD_SCHEME_SIMPLE 1
#define ZONEMD_HASH_SHA384   1
#define ZONEMD_SHA384_LEN    48
#define RR_CLASS_IN          1

/* The largest rdata hashed: a NAPTR (order, preference, three
 * character-strings, a name); an SOA (two names, five numbers) is
 * smaller. */
#define RDATA_MAX (4 + NAPTR_FLAGS_MAX + NAPTR_SERVICE_MAX + \
    NAPTR_REGEXP_MAX + KNOT_DNAME_MAXLEN)
_Static_assert(2 * KNOT_DNAME_MAXLEN + 20 <= RDATA_MAX, "SOA rdata fits");

/* The canonical wire form of one record's rdata. */
struct rdata {
	size_t len;
	uint8_t data[RDATA_MAX];
};

/* The digest of one zone file, taken as it is written. */
struct zonemd {
	EVP_MD_CTX *md;
	const char *origin;                   /* no final dot */
	uint8_t apex[KNOT_DNAME_MAXLEN];      /* origin, lowercase wire */
	size_t apexlen;
	uint32_t ttl;                         /* every record's (the $TTL) */
	char last[STORE_E164_MAX + 1];        /* the number hashed last */
	struct rdata rd[NAPTR_MAX > 16 ? NAPTR_MAX : 16];  /* one RRset */
};

static uint8_t *
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* A character-string: a length byte and the (unescaped) bytes. */
static uint8_t *
put_string(uint8_t *p, const char *s)
{
	size_t len = strlen(s);

	*p++ = (uint8_t)len;
	memcpy(p, s, len);
	return p + len;
}

/*
 * name as the zone file means it, in text: absolute when it ends in a
 * dot, "@" the origin, else relative to the file's $ORIGIN (origin, no
 * final dot).
 * A name whose wire form would pass 255 bytes is refused (Knot would
 * refuse the zone).
 */
static int
absolute_name(const char *name, const char *origin, char *out,
    size_t outlen, char *err)
{
	uint8_t wire[KNOT_DNAME_MAXLEN];
	size_t len = strlen(name);
	int n;

	if (len > 0 && name[len - 1] == '.')
		n = snprintf(out, outlen, "%s", name);
	else if (strcmp(name, "@") == 0)
		n = snprintf(out, outlen, "%s.", origin);
	else
		n = snprintf(out, outlen, "%s.%s.", name, origin);
	if (n < 0 || (size_t)n >= outlen ||
	    knot_dname_from_str(wire, out, sizeof(wire)) == NULL) {
		errf(err, "zone %s: name \"%s\" is longer than a domain name"
		    " may be (255 bytes) once made absolute", origin, name);
		return -1;
	}
	return 0;
}

/* The lowercase uncompressed wire form of name (absolute_name's rules)
 * at p; *len its length. */
static int
name_wire(const char *name, const char *origin, uint8_t *p, size_t *len,
    char *err)
{
	char text[2 * KNOT_DNAME_MAXLEN + 8];

	if (absolute_name(name, origin, text, sizeof(text), err) == -1)
		return -1;
	if (knot_dname_from_str(p, text, KNOT_DNAME_MAXLEN) == NULL) {
		errf(err, "zone %s: name \"%s\" is not a domain name", origin,
		    name);
		return -1;
	}
	knot_dname_to_lower(p);
	*len = knot_dname_size(p);
	return 0;
}

/* Canonical order of rdata: octet strings, a missing octet first
 * (RFC 4034 6.3). */
static int
rdata_cmp(const struct rdata *a, const struct rdata *b)
{
	int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/*
 * Hash one RRset: owner (lowercase wire), type, the n rdata of z->rd in
 * canonical order, each duplicate once (RFC 8976 3.3.2), every record
 * with class IN and the zone's TTL.
 */
static int
zonemd_rrset(struct zonemd *z, const uint8_t *owner, size_t ownerlen,
    uint16_t type, size_t n, char *err)
{
	const struct rdata *order[sizeof(z->rd) / sizeof(z->rd[0])], *t;
	uint8_t hdr[10], *p;
	size_t i, j;

	/* insertion sort: n is at most 16, usually 1 */
	for (i = 0; i < n; i++) {
		t = &z->rd[i];
		for (j = i; j > 0 && rdata_cmp(order[j - 1], t) > 0; j--)
			order[j] = order[j - 1];
		order[j] = t;
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && rdata_cmp(order[i - 1], order[i]) == 0)
			continue;
		p = put16(hdr, type);
		p = put16(p, RR_CLASS_IN);
		p = put32(p, z->ttl);
		put16(p, (uint32_t)order[i]->len);
		if (EVP_DigestUpdate(z->md, owner, ownerlen) != 1 ||
		    EVP_DigestUpdate(z->md, hdr, sizeof(hdr)) != 1 ||
		    EVP_DigestUpdate(z->md, order[i]->data,
		    order[i]->len) != 1) {
			errf(err, "zone %s: SHA-384 of the ZONEMD failed",
			    z->origin);
			return -1;
		}
	}
	return 0;
}

/* Start the digest of zone origin with its apex NS and SOA RRsets (the
 * types that sort before the apex NAPTR). */
static int
zonemd_begin(struct zonemd *z, const char *origin, const struct zone_params *p,
    uint32_t serial, char *err)
{
	char ns[STORE_PARAM_VALUE_MAX + 1], *tok, *save;
	uint8_t *w;
	size_t n = 0, len;

	memset(z, 0, sizeof(*z));
	z->origin = origin;
	z->ttl = (uint32_t)strtoul(p->ttl, NULL, 10);
	if (name_wire("@", origin, z->apex, &z->apexlen, err) == -1)
		return -1;
	if ((z->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(z->md, EVP_sha384(), NULL) != 1) {
		errf(err, "zone %s: cannot start a SHA-384 digest (libcrypto)",
		    origin);
		return -1;
	}
	strlcpy_(ns, p->ns, sizeof(ns));
	for (tok = strtok_r(ns, " ,", &save); tok; tok = strtok_r(NULL, " ,",
	    &save)) {
		if (n >= sizeof(z->rd) / sizeof(z->rd[0])) {
			errf(err, "zone %s: more than %zu name servers", origin,
			    n);
			return -1;
		}
		if (name_wire(tok, origin, z->rd[n].data, &z->rd[n].len,
		    err) == -1)
			return -1;
		n++;
	}
	if (zonemd_rrset(z, z->apex, z->apexlen, KNOT_RRTYPE_NS, n, err) ==
	    -1)
		return -1;

	w = z->rd[0].data;
	if (name_wire(p->mname, origin, w, &len, err) == -1)
		return -1;
	w += len;
	if (name_wire(p->rname, origin, w, &len, err) == -1)
		return -1;
	w += len;
	w = put32(w, serial);
	w = put32(w, (uint32_t)strtoul(p->refresh, NULL, 10));
	w = put32(w, (uint32_t)strtoul(p->retry, NULL, 10));
	w = put32(w, (uint32_t)strtoul(p->expire, NULL, 10));
	w = put32(w, (uint32_t)strtoul(p->minimum, NULL, 10));
	z->rd[0].len = (size_t)(w - z->rd[0].data);
	return zonemd_rrset(z, z->apex, z->apexlen, KNOT_RRTYPE_SOA, 1, err);
}

/*
 * Hash one number's NAPTR RRset: e164 (checked by owner_name already)
 * in zone of prefix, its records in the store's text form.  Numbers must
 * come in canonical order (see the top of this file).
 */
static int
zonemd_number(struct zonemd *z, const char *prefix, const char *e164,
    const char *naptr, char *err)
{
	struct naptr_record r[NAPTR_MAX];
	uint8_t owner[2 * STORE_E164_MAX + KNOT_DNAME_MAXLEN], *w;
	const char *digits = e164 + 1 + strlen(prefix);
	char verr[ENUMDR_ERRLEN];
	size_t i, n, len, o = 0;

	if (strcmp(z->last, e164) >= 0) {
		errf(err, "zone %s: numbers out of canonical order (%s after"
		    " %s): cannot compute its ZONEMD", z->origin, e164,
		    z->last);
		return -1;
	}
	strlcpy_(z->last, e164, sizeof(z->last));
	for (i = strlen(digits); i > 0; i--) {
		owner[o++] = 1;
		owner[o++] = (uint8_t)digits[i - 1];
	}
	if (o + z->apexlen > KNOT_DNAME_MAXLEN) {
		errf(err, "zone %s: number %s: owner name longer than 255"
		    " bytes", z->origin, e164);
		return -1;
	}
	memcpy(owner + o, z->apex, z->apexlen);
	o += z->apexlen;

	if (naptr_parse(naptr, r, &n, verr) == -1) {
		errf(err, "zone %s: refusing to write it: number %s: %s",
		    z->origin, e164, verr);
		return -1;
	}
	for (i = 0; i < n; i++) {
		w = z->rd[i].data;
		w = put16(w, r[i].order);
		w = put16(w, r[i].preference);
		w = put_string(w, r[i].flags);
		w = put_string(w, r[i].service);
		w = put_string(w, r[i].regexp);
		if (name_wire(r[i].replacement, z->origin, w, &len, verr) ==
		    -1) {
			errf(err, "%s (number %s)", verr, e164);
			return -1;
		}
		z->rd[i].len = (size_t)(w - z->rd[i].data) + len;
	}
	return zonemd_rrset(z, owner, o, KNOT_RRTYPE_NAPTR, n, err);
}

/* Finish the digest: its hex form into hex (2 * 48 + 1 bytes). */
static int
zonemd_end(struct zonemd *z, char *hex, size_t hexlen, char *err)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (EVP_DigestFinal_ex(z->md, digest, &len) != 1 ||
	    len != ZONEMD_SHA384_LEN || hexlen < 2 * (size_t)len + 1) {
		errf(err, "zone %s: SHA-384 of the ZONEMD failed", z->origin);
		return -1;
	}
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

static void
zonemd_free(struct zonemd *z)
{
	EVP_MD_CTX_free(z->md);
	z->md = NULL;
}

/* ---- zone files --------------------------------------------------------- */

struct writer {
	FILE *f;
	const char *origin;   /* the zone, for messages */
	const char *prefix;   /* the zone's digits, e.g. "46" */
	int64_t count;
	struct zonemd *zmd;   /* the digest taken, NULL: no ZONEMD */
	char *err;            /* why write_number stopped */
};

/*
 * The owner name of e164 relative to a zone of prefix: the digits after
 * the prefix, reversed and dotted ("@" for the prefix itself).  Checks
 * what it is given rather than trusting the database: a valid E.164
 * number that starts with the prefix, and an owner that fits outlen.
 */
static int
owner_name(const char *e164, const char *prefix, char *out, size_t outlen,
    char *err)
{
	size_t plen = strlen(prefix), n, i, o = 0;
	const char *digits;

	if (store_e164_valid(e164, err) == -1)
		return -1;
	if (strncmp(e164 + 1, prefix, plen) != 0) {
		errf(err, "number %s does not start with the zone's prefix"
		    " +%s", e164, prefix);
		return -1;
	}
	digits = e164 + 1 + plen;
	n = strlen(digits);
	if ((n == 0 ? 2 : 2 * n) > outlen) {
		errf(err, "number %s: owner name does not fit %zu bytes",
		    e164, outlen);
		return -1;
	}
	if (n == 0)
		out[o++] = '@';
	for (i = n; i > 0; i--) {
		out[o++] = digits[i - 1];
		if (i > 1)
			out[o++] = '.';
	}
	out[o] = '\0';
	return 0;
}

/* One number's NAPTR lines, copied only when the text has the shape of
 * NAPTR records (naptr_text_shape_valid: one pass, no copy — this runs for
 * every number of every zone file), so that nothing but one NAPTR record
 * per line can reach the zone file, whatever the database holds.  The
 * fields' own rules were applied when the row was written or imported
 * (store_apply, rowcheck). */
static int
write_number(void *ctx, const char *e164, const char *naptr)
{
	struct writer *w = ctx;
	char owner[2 * STORE_E164_MAX], verr[ENUMDR_ERRLEN];
	const char *line, *nl;

	if (e164 == NULL || naptr == NULL) {
		errf(w->err, "zone %s: a number row has no value", w->origin);
		return -1;
	}
	if (owner_name(e164, w->prefix, owner, sizeof(owner), verr) == -1) {
		errf(w->err, "zone %s: refusing to write it: %s", w->origin,
		    verr);
		return -1;
	}
	if (naptr_text_shape_valid(naptr, verr) == -1) {
		errf(w->err, "zone %s: refusing to write it: number %s: %s",
		    w->origin, e164, verr);
		return -1;
	}
	if (w->zmd != NULL &&
	    zonemd_number(w->zmd, w->prefix, e164, naptr, w->err) == -1)
		return -1;
	for (line = naptr; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		if (fprintf(w->f, "%s\tNAPTR\t%.*s\n", owner,
		    (int)(nl - line), line) < 0) {
			errf_errno(w->err, "zone %s: write", w->origin);
			return -1;
		}
		if (*nl == '\0')
			break;
	}
	w->count++;
	return 0;
}

/* Open a temporary file for path (path.tmp.PID, into tmp). */
static FILE *
temp_open(const char *path, char *tmp, size_t tmplen, char *err)
{
	FILE *f;

	if (snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)tmplen) {
		errf(err, "path too long: %s", path);
		return NULL;
	}
	if ((f = fopen(tmp, "w")) == NULL)
		errf_errno(err, "create %s", tmp);
	return f;
}

/* Flush, fsync and close f, then rename tmp to path; tmp is removed on
 * failure.  The caller fsyncs the directory. */
static int
temp_commit(FILE *f, const char *tmp, const char *path, char *err)
{
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
		errf_errno(err, "write %s", tmp);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0) {
		errf_errno(err, "close %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		errf_errno(err, "rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
write_zone(struct store *st, const struct zone_info *z, const char *dir,
    unsigned flags, struct zonefile_result *res, char *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], *tok, *save;
	char ns[STORE_PARAM_VALUE_MAX + 1], hex[2 * ZONEMD_SHA384_LEN + 1];
	char prefix[STORE_E164_MAX], werr[ENUMDR_ERRLEN];
	struct zone_params p;
	struct zonemd *zmd = NULL;
	struct writer w;
	FILE *f = NULL;
	int ret = -1;

	/* the zone row itself: its prefix must be its origin's digits */
	if (store_origin_valid(z->origin, prefix, err) == -1)
		return -1;
	if (strcmp(prefix, z->prefix) != 0) {
		errf(err, "zone %s: refusing to write it: its prefix \"%s\" is"
		    " not the origin's digits %s", z->origin, z->prefix, prefix);
		return -1;
	}
	if (load_params(st, z->origin, &p, err) == -1)
		return -1;
	if (snprintf(path, sizeof(path), "%s/%s.zone", dir, z->origin) >=
	    (int)sizeof(path)) {
		errf(err, "zone file path too long for %s", z->origin);
		return -1;
	}
	if (flags & ZONEFILE_ZONEMD) {
		if ((zmd = malloc(sizeof(*zmd))) == NULL) {
			errf(err, "zone %s: out of memory", z->origin);
			return -1;
		}
		if (zonemd_begin(zmd, z->origin, &p, z->serial, err) == -1)
			goto done;
	}
	if ((f = temp_open(path, tmp, sizeof(tmp), err)) == NULL)
		goto done;
	fprintf(f, "; enumdr zone %s serial %u — generated, do not edit\n"
	    "$ORIGIN %s.\n$TTL %s\n"
	    "@\tSOA\t%s %s %u %s %s %s %s\n", z->origin, z->serial, z->origin,
	    p.ttl, p.mname, p.rname, z->serial, p.refresh, p.retry, p.expire,
	    p.minimum);
	strlcpy_(ns, p.ns, sizeof(ns));
	for (tok = strtok_r(ns, " ,", &save); tok; tok = strtok_r(NULL, " ,",
	    &save))
		fprintf(f, "@\tNS\t%s\n", tok);
	w.f = f;
	w.origin = z->origin;
	w.prefix = z->prefix;
	w.count = 0;
	w.zmd = zmd;
	w.err = werr;
	werr[0] = '\0';
	if (store_foreach_number(st, z->origin, write_number, &w, err) !=
	    STORE_OK) {
		if (werr[0] != '\0')
			strlcpy_(err, werr, ENUMDR_ERRLEN);
		goto fail;
	}
	if (zmd != NULL) {
		if (zonemd_end(zmd, hex, sizeof(hex), err) == -1)
			goto fail;
		fprintf(f, "@\tZONEMD\t%u %d %d %s\n", z->serial,
		    ZONEMD_SCHEME_SIMPLE, ZONEMD_HASH_SHA384, hex);
	}
	ret = temp_commit(f, tmp, path, err);
	f = NULL;
	if (ret == -1)
		goto done;
	strlcpy_(res->origin, z->origin, sizeof(res->origin));
	res->serial = z->serial;
	res->numbers = w.count;
	goto done;
fail:
	fclose(f);
	unlink(tmp);
done:
	if (zmd != NULL) {
		zonemd_free(zmd);
		free(zmd);
	}
	return ret;
}

int
zonefile_write_all(struct store *st, const char *dir, const char *only,
    struct zonefile_result **results, size_t *np, char *err)
{
	return zonefile_write(st, dir, only, 0, results, np, err);
}

int
zonefile_write(struct store *st, const char *dir, const char *only,
    unsigned flags, struct zonefile_result **results, size_t *np, char *err)
{
	struct zonefile_result *res = NULL;
	struct zone_info *z = NULL;
	size_t nz = 0, i, n = 0;
	int ret = -1;

	if (results)
		*results = NULL;
	if (np)
		*np = 0;
	if (flags & ~(unsigned)ZONEFILE_ZONEMD) {
		errf(err, "zone files: unknown flags 0x%x", flags);
		return -1;
	}
	if (util_mkdir_p(dir, 0755, err) == -1 ||
	    util_remove_stale_temps(dir, 0, NULL, err) == -1)
		return -1;
	/* One read transaction: serials and numbers from the same state. */
	if (store_read_begin(st, err) != STORE_OK)
		return -1;
	/* not counted: write_zone counts what it writes */
	if (store_zones(st, 0, 0, &z, &nz, NULL, err) != STORE_OK)
		goto done;
	res = calloc(nz ? nz : 1, sizeof(*res));
	if (res == NULL) {
		errf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < nz; i++) {
		if (only && strcmp(only, z[i].origin) != 0)
			continue;
		if (write_zone(st, &z[i], dir, flags, &res[n], err) == -1)
			goto done;
		n++;
	}
	if (only && n == 0) {
		errf(err, "no zone %s in %s", only, store_path(st));
		goto done;
	}
	if (util_fsync_dir(dir, err) == -1)
		goto done;
	ret = 0;
done:
	store_read_end(st);
	free(z);
	if (ret == 0 && results) {
		*results = res;
		res = NULL;
	}
	if (ret == 0 && np)
		*np = n;
	free(res);
	return ret;
}

/* ---- the SOA for DNS UPDATE ------------------------------------------- */

int
zonefile_soa(struct store *st, const char *origin, struct dnsupd_soa *soa,
    uint32_t *ttl, char *err)
{
	char zone[STORE_ORIGIN_MAX];
	struct zone_params p;
	size_t len;

	/* the origin as the zone files name it: without the final dot */
	len = strlcpy_(zone, origin, sizeof(zone));
	if (len >= sizeof(zone)) {
		errf(err, "zone \"%s\": name too long", origin);
		return -1;
	}
	if (len > 0 && zone[len - 1] == '.')
		zone[len - 1] = '\0';
	if (store_origin_valid(zone, NULL, err) == -1 ||
	    load_params(st, zone, &p, err) == -1 ||
	    absolute_name(p.mname, zone, soa->mname, sizeof(soa->mname),
	    err) == -1 ||
	    absolute_name(p.rname, zone, soa->rname, sizeof(soa->rname),
	    err) == -1)
		return -1;
	/* the values are checked decimals 0 ... 2^31-1 (load_params) */
	soa->ttl = (uint32_t)strtoul(p.ttl, NULL, 10);
	soa->refresh = (uint32_t)strtoul(p.refresh, NULL, 10);
	soa->retry = (uint32_t)strtoul(p.retry, NULL, 10);
	soa->expire = (uint32_t)strtoul(p.expire, NULL, 10);
	soa->minimum = (uint32_t)strtoul(p.minimum, NULL, 10);
	if (ttl != NULL)
		*ttl = soa->ttl;
	return 0;
}

/* ---- the catalog zone (RFC 9432) -------------------------------------- */

int
zonefile_catalog_label(const char *prefix, char *out, size_t outlen)
{
	size_t len = strlen(prefix), i;

	if (len == 0 || len >= STORE_E164_MAX || len + 2 > outlen)
		return -1;
	for (i = 0; i < len; i++)
		if (prefix[i] < '0' || prefix[i] > '9')
			return -1;
	out[0] = 'p';
	memcpy(out + 1, prefix, len + 1);
	return 0;
}

int
zonefile_write_catalog(const char *dir, const char *catalog,
    const struct zone_info *zones, size_t n, uint32_t serial, char *err)
{
	char name[STORE_ORIGIN_MAX * 2], path[PATH_MAX], tmp[PATH_MAX + 32];
	char label[STORE_E164_MAX + 2], prefix[STORE_E164_MAX];
	uint8_t wire[KNOT_DNAME_MAXLEN];
	size_t len, i;
	FILE *f;

	/* the catalog's name, without its final dot, becomes a file name */
	len = strlcpy_(name, catalog, sizeof(name));
	if (len > 0 && len < sizeof(name) && name[len - 1] == '.')
		name[--len] = '\0';
	if (len == 0 || len >= sizeof(name) || strcmp(name, ".") == 0 ||
	    !naptr_domain_valid(name) ||
	    knot_dname_from_str(wire, name, sizeof(wire)) == NULL) {
		errf(err, "catalog zone \"%s\" is not a domain name", catalog);
		return -1;
	}
	if (util_path_join(path, sizeof(path), dir, name, err) == -1 ||
	    strlen(path) + 5 >= sizeof(path)) {
		errf(err, "catalog zone file path too long for %s", name);
		return -1;
	}
	strcat(path, ".zone");
	if (util_mkdir_p(dir, 0755, err) == -1 ||
	    (f = temp_open(path, tmp, sizeof(tmp), err)) == NULL)
		return -1;
	fprintf(f, "; enumdr catalog zone %s serial %u — generated, do not"
	    " edit\n$ORIGIN %s.\n"
	    "@\t0\tSOA\tinvalid. invalid. %u 3600 600 2147483646 0\n"
	    "@\t0\tNS\tinvalid.\n"
	    "version\t0\tTXT\t\"2\"\n", name, serial, name, serial);
	for (i = 0; i < n; i++) {
		/* a member's origin and label are checked like a zone's */
		if (store_origin_valid(zones[i].origin, prefix, err) == -1)
			goto fail;
		if (strcmp(prefix, zones[i].prefix) != 0 ||
		    zonefile_catalog_label(zones[i].prefix, label,
		    sizeof(label)) == -1) {
			errf(err, "catalog %s: refusing member %s: its prefix"
			    " \"%s\" is not the origin's digits", name,
			    zones[i].origin, zones[i].prefix);
			goto fail;
		}
		fprintf(f, "%s.zones\t0\tPTR\t%s.\n", label, zones[i].origin);
	}
	if (temp_commit(f, tmp, path, err) == -1 ||
	    util_fsync_dir(dir, err) == -1)
		return -1;
	return 0;
fail:
	fclose(f);
	unlink(tmp);
	return -1;
}
