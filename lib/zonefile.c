/*
 * zonefile.c — write RFC 1035 zone files of the enumdr zones (S0.6
 * foreground load).  See zonefile.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zonefile.h"
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

struct writer {
	FILE *f;
	const char *origin;   /* the zone, for messages */
	const char *prefix;   /* the zone's digits, e.g. "46" */
	int64_t count;
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

static int
write_zone(struct store *st, const struct zone_info *z, const char *dir,
    struct zonefile_result *res, char *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], *tok, *save;
	char ns[STORE_PARAM_VALUE_MAX + 1];
	char prefix[STORE_E164_MAX], werr[ENUMDR_ERRLEN];
	struct zone_params p;
	struct writer w;
	FILE *f;

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
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (f == NULL) {
		errf_errno(err, "create %s", tmp);
		return -1;
	}
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
	w.err = werr;
	werr[0] = '\0';
	if (store_foreach_number(st, z->origin, write_number, &w, err) !=
	    STORE_OK) {
		if (werr[0] != '\0')
			strlcpy_(err, werr, ENUMDR_ERRLEN);
		fclose(f);
		unlink(tmp);
		return -1;
	}
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
	strlcpy_(res->origin, z->origin, sizeof(res->origin));
	res->serial = z->serial;
	res->numbers = w.count;
	return 0;
}

int
zonefile_write_all(struct store *st, const char *dir, const char *only,
    struct zonefile_result **results, size_t *np, char *err)
{
	struct zonefile_result *res = NULL;
	struct zone_info *z = NULL;
	size_t nz = 0, i, n = 0;
	int ret = -1;

	if (results)
		*results = NULL;
	if (np)
		*np = 0;
	if (util_mkdir_p(dir, 0755, err) == -1 ||
	    util_remove_stale_temps(dir, 0, NULL, err) == -1)
		return -1;
	/* One read transaction: serials and numbers from the same state. */
	if (store_read_begin(st, err) != STORE_OK)
		return -1;
	if (store_list_zones(st, &z, &nz, err) != STORE_OK)
		goto done;
	res = calloc(nz ? nz : 1, sizeof(*res));
	if (res == NULL) {
		errf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < nz; i++) {
		if (only && strcmp(only, z[i].origin) != 0)
			continue;
		if (write_zone(st, &z[i], dir, &res[n], err) == -1)
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
