/*
 * dnsjob.c — keep the room's DNS server in step with the database while
 * this room feeds it (the active room, and a hot standby): "the data
 * served by a real DNS server" of S0.6, as changes commit.
 *
 * With dns.server set (issue 16, doc/dns.md) the job sends each group of
 * committed changes to the DNS server as DNS UPDATE messages (RFC 2136,
 * TSIG-signed, lib/dnsupdate.c) over one kept-open connection, read from
 * the journal since the last group the server took; the server's SOA
 * serial of each zone is the database serial of exactly what it holds.
 * Changes that commit while a group is in flight go in the next group —
 * a group commit with no fixed delay.  A whole zone is written and
 * reloaded (lib/zonefile.c, lib/knotctl.c) only where it must be: a zone
 * the server does not hold at the database's serial (a new room, a
 * restarted or rebuilt Knot), a journal gap, an import.  Zones reach the
 * server through the catalog zone (RFC 9432, dns.catalog) that it
 * interprets, so knot.conf lists none of them.
 *
 * Without dns.server the configured load steps run after every group of
 * changes (any DNS server that loads zone files).  A failed run raises
 * DNS_UPDATE and is retried; the next success clears it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "alarm_ids.h"
#include "dnsupdate.h"
#include "knotctl.h"
#include "load.h"
#include "log.h"
#include "rfc1982.h"
#include "util.h"
#include "zonefile.h"

#define DNSJOB_RETRY_MS   1000    /* after a failed run */
#define DNSJOB_CHECK_MS   2000    /* re-read the server's serials when idle */
#define DNSJOB_BATCH      5000    /* journal rows per group */
#define DNSJOB_POLL_MS    10      /* waiting for a zone Knot is loading */
#define DNSJOB_STANDBY_MS 50      /* a standby's groups gather this long */

/* A zone as the DNS server holds it. */
struct fed_zone {
	char origin[STORE_ORIGIN_MAX];
	char prefix[STORE_E164_MAX];
	uint32_t serial;              /* the serial the server serves */
	int mark;                     /* scratch */
};

struct dnsfeed {
	struct store *rd;             /* the job's own read-only connection */
	struct dnsupd *u;
	int synced;                   /* cursor and zones below are valid */
	int64_t cursor;               /* every change up to here is served */
	struct fed_zone *zones;
	size_t nzones;
	int64_t last_check;           /* monotonic ms */
	int failing;                  /* DNS_UPDATE raised */

	/* dnsjob_sync's waiters: fed, and the outcome of the last run */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int64_t fed;                  /* journal position served (-1 none) */
	uint64_t runs;                /* finished runs */
	char last_err[ENUMDR_ERRLEN];
	_Atomic int64_t forced_until; /* feed even when not active */
};

/* ---- the load steps (no dns.server) ----------------------------------- */

/* Deep copy of the load steps, taken under cfg_lock (SIGHUP swaps them). */
static size_t
copy_steps(struct agent *ag, struct config_step *out)
{
	size_t n, i, j;

	pthread_mutex_lock(&ag->cfg_lock);
	n = ag->cfg.nsteps;
	for (i = 0; i < n; i++) {
		out[i] = ag->cfg.steps[i];
		for (j = 0; j < out[i].argc; j++)
			out[i].argv[j] = strdup(ag->cfg.steps[i].argv[j]);
		out[i].argv[out[i].argc] = NULL;
	}
	pthread_mutex_unlock(&ag->cfg_lock);
	return n;
}

static void
free_steps(struct config_step *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < s[i].argc; j++)
			free(s[i].argv[j]);
}

/* One run of every load step; 0 when all succeeded. */
static int
run_steps(struct agent *ag, char *err)
{
	struct config_step steps[CONFIG_MAX_STEPS];
	struct load_result res;
	size_t n, i, j;
	int rc = 0;

	memset(steps, 0, sizeof(steps));
	n = copy_steps(ag, steps);
	for (i = 0; i < n && !ag->stopping && rc == 0; i++) {
		for (j = 0; j < steps[i].argc; j++) {
			if (steps[i].argv[j] == NULL) {
				errf(err, "out of memory copying load steps");
				rc = -1;
			}
		}
		if (rc == 0 && load_run_step(&steps[i], &res, err) == -1)
			rc = -1;
	}
	free_steps(steps, n);
	return rc;
}

/* ---- the incremental feed (dns.server) -------------------------------- */

static struct fed_zone *
fed_find(struct dnsfeed *f, const char *origin)
{
	size_t i;

	for (i = 0; i < f->nzones; i++)
		if (strcmp(f->zones[i].origin, origin) == 0)
			return &f->zones[i];
	return NULL;
}

static struct fed_zone *
fed_add(struct dnsfeed *f, const struct zone_info *z, uint32_t serial)
{
	struct fed_zone *nz, *fz = fed_find(f, z->origin);

	if (fz == NULL) {
		nz = realloc(f->zones, (f->nzones + 1) * sizeof(*nz));
		if (nz == NULL)
			return NULL;
		f->zones = nz;
		fz = &f->zones[f->nzones++];
		strlcpy_(fz->origin, z->origin, sizeof(fz->origin));
		strlcpy_(fz->prefix, z->prefix, sizeof(fz->prefix));
	}
	fz->serial = serial;
	return fz;
}

static void
fed_remove(struct dnsfeed *f, struct fed_zone *fz)
{
	size_t i = (size_t)(fz - f->zones);

	memmove(fz, fz + 1, (f->nzones - i - 1) * sizeof(*fz));
	f->nzones--;
}

/* The connection to the DNS server, opened on first use (dnsupdate.c
 * reconnects by itself after a failure). */
static int
feed_conn(struct agent *ag, struct dnsfeed *f, char *err)
{
	if (f->u != NULL)
		return 0;
	return dnsupd_open(&f->u, ag->cfg.dns_server,
	    ag->cfg.dns_tsig_key[0] ? ag->cfg.dns_tsig_key : NULL,
	    ag->cfg.dns_timeout_ms, err);
}

/* Wait until the server serves origin at exactly the serial want (a zone
 * Knot is loading from its file or adding from the catalog).  A newer
 * serial means Knot changed the zone as it loaded it — a ZONEMD it had to
 * renew: dns.zonemd and knot.conf's zonemd-generate disagree — and would
 * make later changes look old: an error, never taken as it is. */
static int
wait_served(struct agent *ag, struct dnsfeed *f, const char *origin,
    uint32_t want, uint32_t *served, char *err)
{
	int64_t until = util_now_ms() + ag->cfg.dns_timeout_ms;
	struct timespec ts = { 0, DNSJOB_POLL_MS * 1000000L };
	int found;

	for (;;) {
		if (dnsupd_soa_serial(f->u, origin, served, &found, err) == -1)
			return -1;
		if (found && *served == want)
			return 0;
		if (found && rfc1982_cmp(*served, want) == RFC1982_GREATER) {
			errf(err, "zone %s: %s serves serial %u after loading"
			    " the file of serial %u: it changed the zone as it"
			    " loaded it (does knot.conf's zonemd-generate agree"
			    " with dns.zonemd?)", origin, ag->cfg.dns_server,
			    (unsigned)*served, (unsigned)want);
			return -1;
		}
		if (util_now_ms() >= until || ag->stopping) {
			if (found)
				errf(err, "zone %s: %s still serves serial %u"
				    " %d ms after its load of serial %u",
				    origin, ag->cfg.dns_server,
				    (unsigned)*served, ag->cfg.dns_timeout_ms,
				    (unsigned)want);
			else
				errf(err, "zone %s: %s does not serve it %d ms"
				    " after its load%s", origin,
				    ag->cfg.dns_server, ag->cfg.dns_timeout_ms,
				    ag->cfg.dns_catalog[0] ? "" : " (no"
				    " dns.catalog: list it in knot.conf)");
			return -1;
		}
		nanosleep(&ts, NULL);
	}
}

/* A whole load of the zones marked: their files written (each from one
 * read transaction), the catalog rewritten and reloaded so that the
 * server holds exactly the database's zones, each marked zone reloaded,
 * and waited for. */
static int
full_load(struct agent *ag, struct dnsfeed *f, struct zone_info *z, size_t nz,
    const int *need, const int *known, char *err)
{
	struct zonefile_result *res;
	uint32_t served, cserial;
	size_t i, nres;
	unsigned flags = ag->cfg.dns_zonemd ? ZONEFILE_ZONEMD : 0;
	int found;

	for (i = 0; i < nz; i++) {
		if (!need[i])
			continue;
		if (zonefile_write(f->rd, ag->cfg.dns_zone_dir, z[i].origin,
		    flags, &res, &nres, err) == -1)
			return -1;
		z[i].serial = res[0].serial;
		free(res);
	}
	if (ag->cfg.dns_catalog[0] != '\0') {
		/* the catalog's serial only goes forward (its secondaries) */
		cserial = (uint32_t)time(NULL);
		if (dnsupd_soa_serial(f->u, ag->cfg.dns_catalog, &served,
		    &found, err) == -1)
			return -1;
		if (found && rfc1982_cmp(cserial, served) != RFC1982_GREATER)
			cserial = rfc1982_add(served, 1);
		if (zonefile_write_catalog(ag->cfg.dns_zone_dir,
		    ag->cfg.dns_catalog, z, nz, cserial, err) == -1 ||
		    knotctl_zone_reload(ag->cfg.dns_control_socket,
		    ag->cfg.dns_catalog, ag->cfg.dns_timeout_ms, err) == -1)
			return -1;
	}
	for (i = 0; i < nz; i++) {
		if (!need[i])
			continue;
		/* a zone new to the server loads its file as it is added */
		if (known[i] && knotctl_zone_reload(ag->cfg.dns_control_socket,
		    z[i].origin, ag->cfg.dns_timeout_ms, err) == -1)
			return -1;
	}
	for (i = 0; i < nz; i++) {
		if (!need[i])
			continue;
		if (wait_served(ag, f, z[i].origin, z[i].serial, &served,
		    err) == -1)
			return -1;
		if (fed_add(f, &z[i], served) == NULL) {
			errf(err, "out of memory");
			return -1;
		}
		log_info("DNS: zone %s loaded whole (serial %u)", z[i].origin,
		    (unsigned)served);
	}
	return 0;
}

/* Learn what the server holds, and load whole what it does not hold at
 * the database's serial: the start of the feed, and after any doubt. */
static int
reconcile(struct agent *ag, struct dnsfeed *f, char *err)
{
	struct zone_info *z = NULL;
	size_t nz = 0, i;
	int64_t pos = 0;
	int *need = NULL, *known = NULL, found, any = 0, ret = -1;
	uint32_t served;

	if (store_zones(f->rd, 0, 0, &z, &nz, &pos, err) != STORE_OK)
		return -1;
	need = calloc(nz + 1, sizeof(*need));
	known = calloc(nz + 1, sizeof(*known));
	if (need == NULL || known == NULL) {
		errf(err, "out of memory");
		goto done;
	}
	f->nzones = 0;
	for (i = 0; i < nz; i++) {
		if (dnsupd_soa_serial(f->u, z[i].origin, &served, &found,
		    err) == -1)
			goto done;
		known[i] = found;
		if (found && served == z[i].serial) {
			if (fed_add(f, &z[i], served) == NULL) {
				errf(err, "out of memory");
				goto done;
			}
			continue;
		}
		need[i] = 1;
		any = 1;
	}
	/* the catalog is rewritten when a zone is missing, or always at the
	 * start: it may list a zone the database no longer has */
	if ((any || ag->cfg.dns_catalog[0] != '\0') &&
	    full_load(ag, f, z, nz, need, known, err) == -1)
		goto done;
	f->cursor = pos;
	f->synced = 1;
	ret = 0;
done:
	free(need);
	free(known);
	free(z);
	return ret;
}

/* Zones added to (or gone from) the database since the last run: a new
 * zone's file is written and it joins the catalog; a gone one leaves. */
static int
feed_zones(struct agent *ag, struct dnsfeed *f, char *err)
{
	struct zone_info *z = NULL;
	struct fed_zone *fz;
	char label[64];
	size_t nz = 0, i, added = 0;
	int64_t pos;
	int *need = NULL, ret = -1;

	if (store_zones(f->rd, 0, 0, &z, &nz, &pos, err) != STORE_OK)
		return -1;
	for (i = 0; i < f->nzones; i++)
		f->zones[i].mark = 0;
	if ((need = calloc(nz + 1, sizeof(*need))) == NULL) {
		errf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < nz; i++) {
		if ((fz = fed_find(f, z[i].origin)) != NULL)
			fz->mark = 1;
		else {
			need[i] = 1;
			added++;
		}
	}
	for (i = 0; i < f->nzones; i++) {
		if (f->zones[i].mark || ag->cfg.dns_catalog[0] == '\0')
			continue;
		if (zonefile_catalog_label(f->zones[i].prefix, label,
		    sizeof(label)) == -1 ||
		    dnsupd_queue_catalog(f->u, ag->cfg.dns_catalog, label,
		    f->zones[i].origin, 0, err) == -1 ||
		    dnsupd_flush(f->u, err) == -1)
			goto done;
		log_info("DNS: zone %s left the catalog", f->zones[i].origin);
		fed_remove(f, &f->zones[i]);
		i--;
	}
	if (added == 0) {
		ret = 0;
		goto done;
	}
	/* New zones: their files, then the catalog (an update of its own
	 * zone, as a member joins), then wait until they are served. */
	for (i = 0; i < nz; i++) {
		struct zonefile_result *res;
		size_t nres;

		if (!need[i])
			continue;
		if (zonefile_write(f->rd, ag->cfg.dns_zone_dir, z[i].origin,
		    ag->cfg.dns_zonemd ? ZONEFILE_ZONEMD : 0, &res, &nres,
		    err) == -1)
			goto done;
		z[i].serial = res[0].serial;
		free(res);
		if (ag->cfg.dns_catalog[0] == '\0')
			continue;
		if (zonefile_catalog_label(z[i].prefix, label,
		    sizeof(label)) == -1 ||
		    dnsupd_queue_catalog(f->u, ag->cfg.dns_catalog, label,
		    z[i].origin, 1, err) == -1)
			goto done;
	}
	if (dnsupd_pending(f->u) > 0 && dnsupd_flush(f->u, err) == -1)
		goto done;
	for (i = 0; i < nz; i++) {
		uint32_t served;

		if (!need[i])
			continue;
		if (wait_served(ag, f, z[i].origin, z[i].serial, &served,
		    err) == -1)
			goto done;
		if (fed_add(f, &z[i], served) == NULL) {
			errf(err, "out of memory");
			goto done;
		}
		log_info("DNS: zone %s added (serial %u)", z[i].origin,
		    (unsigned)served);
	}
	ret = 0;
done:
	free(need);
	free(z);
	return ret;
}

/* One zone's rows of a group (rows[first..] of that zone). */
struct zone_group {
	struct fed_zone *fz;
	struct dnsupd_change *c;
	char (*owner)[STORE_ORIGIN_MAX + 2 * STORE_E164_MAX];
	size_t n;
};

/* Send the journal's rows after the cursor, at most DNSJOB_BATCH: 1 when
 * more are waiting, 0 when in step, -1 and err. */
static int
feed_rows(struct agent *ag, struct dnsfeed *f, char *err)
{
	struct journal_row *rows = NULL;
	struct zone_group *g = NULL;
	struct dnsupd_soa soa;
	size_t nrows = 0, ntake, ng = 0, i, j;
	int64_t first, last;
	uint32_t ttl;
	int ret = -1;

	if (store_read_begin(f->rd, err) != STORE_OK)
		return -1;
	if (store_journal_bounds(f->rd, &first, &last, err) != STORE_OK)
		goto done;
	if (last <= f->cursor) {
		ret = 0;
		goto done;
	}
	if (first > f->cursor + 1) {
		log_warnx("DNS: the journal no longer holds the changes after"
		    " %lld (it starts at %lld): loading whole",
		    (long long)f->cursor, (long long)first);
		f->synced = 0;
		ret = 1;
		goto done;
	}
	if (store_journal_read(f->rd, f->cursor, DNSJOB_BATCH, &rows, &nrows,
	    err) != STORE_OK)
		goto done;
	g = calloc(nrows + 1, sizeof(*g));
	if (g == NULL) {
		errf(err, "out of memory");
		goto done;
	}
	ntake = nrows;
	for (i = 0; i < ntake; i++) {
		struct journal_row *r = &rows[i];
		struct fed_zone *fz;
		enum rfc1982_order o;

		if (strcmp(r->op, "import") == 0) {
			log_info("DNS: zone %s was imported: loading whole",
			    r->zone);
			f->synced = 0;
			ret = 1;
			goto done;
		}
		if (r->e164[0] == '\0')
			continue;
		if ((fz = fed_find(f, r->zone)) == NULL) {
			/* a zone that came after feed_zones ran: next run */
			ntake = i;
			break;
		}
		o = rfc1982_cmp(r->serial, fz->serial);
		if (o != RFC1982_GREATER)
			continue;       /* a whole load holds it already */
		for (j = 0; j < ng && g[j].fz != fz; j++)
			;
		if (j == ng) {
			g[ng].fz = fz;
			g[ng].c = calloc(nrows, sizeof(*g[ng].c));
			g[ng].owner = calloc(nrows, sizeof(*g[ng].owner));
			if (g[ng].c == NULL || g[ng].owner == NULL) {
				errf(err, "out of memory");
				ng++;
				goto done;
			}
			ng++;
		}
		if (store_e164_to_domain(r->e164, g[j].owner[g[j].n],
		    sizeof(g[j].owner[0]) - 1) == -1) {
			errf(err, "journal row %lld: number %s has no domain",
			    (long long)r->seq, r->e164);
			goto done;
		}
		strcat(g[j].owner[g[j].n], ".");
		g[j].c[g[j].n].owner = g[j].owner[g[j].n];
		g[j].c[g[j].n].naptr = strcmp(r->op, "remove") == 0 ? NULL :
		    r->records;
		g[j].c[g[j].n].serial = r->serial;
		g[j].n++;
	}
	for (j = 0; j < ng; j++) {
		if (zonefile_soa(f->rd, g[j].fz->origin, &soa, &ttl, err) ==
		    -1 || dnsupd_queue_zone(f->u, g[j].fz->origin, ttl, &soa,
		    g[j].c, g[j].n, err) == -1)
			goto done;
	}
	store_read_end(f->rd);
	if (ng > 0 && dnsupd_flush(f->u, err) == -1) {
		/* some zones may have taken theirs: ask, next run resends
		 * only what a zone lacks */
		for (j = 0; j < ng; j++) {
			uint32_t served;
			int found;
			char qerr[ENUMDR_ERRLEN];

			if (dnsupd_soa_serial(f->u, g[j].fz->origin, &served,
			    &found, qerr) == -1 || !found) {
				f->synced = 0;
				break;
			}
			g[j].fz->serial = served;
		}
		ret = -1;
		goto out;
	}
	for (j = 0; j < ng; j++)
		g[j].fz->serial = g[j].c[g[j].n - 1].serial;
	if (ntake > 0)
		f->cursor = rows[ntake - 1].seq;
	ret = f->cursor < last ? 1 : 0;
	goto out;
done:
	store_read_end(f->rd);
out:
	for (j = 0; j < ng; j++) {
		free(g[j].c);
		free(g[j].owner);
	}
	free(g);
	store_journal_free(rows, nrows);
	return ret;
}

/* The server still serves what it was fed?  (A restarted Knot serves its
 * zone files' old serials; a zone may be gone.) */
static int
check_served(struct agent *ag, struct dnsfeed *f, char *err)
{
	uint32_t served;
	size_t i;
	int found;

	for (i = 0; i < f->nzones; i++) {
		if (dnsupd_soa_serial(f->u, f->zones[i].origin, &served,
		    &found, err) == -1)
			return -1;
		if (found && served == f->zones[i].serial)
			continue;
		log_warnx("DNS: %s serves zone %s %s%u, it was fed serial %u:"
		    " loading again", ag->cfg.dns_server, f->zones[i].origin,
		    found ? "at serial " : "(not at all) ", found ?
		    (unsigned)served : 0, (unsigned)f->zones[i].serial);
		f->synced = 0;
		return 0;
	}
	return 0;
}

/* One run of the feed: 1 more to do now, 0 in step, -1 failed. */
static int
feed(struct agent *ag, struct dnsfeed *f, char *err)
{
	int rc;

	if (feed_conn(ag, f, err) == -1)
		return -1;
	if (!f->synced)
		return reconcile(ag, f, err) == -1 ? -1 : 1;
	if (feed_zones(ag, f, err) == -1)
		return -1;
	if ((rc = feed_rows(ag, f, err)) != 0)
		return rc;
	if (util_now_ms() - f->last_check >= DNSJOB_CHECK_MS) {
		f->last_check = util_now_ms();
		if (check_served(ag, f, err) == -1)
			return -1;
		if (!f->synced)
			return 1;
	}
	return 0;
}

/* ---- the job ---------------------------------------------------------- */

static void
run_failed(struct agent *ag, struct dnsfeed *f, const char *err)
{
	struct alarm_ctx actx;
	char aerr[ENUMDR_ERRLEN];
	const char *fig[3] = { "server", NULL, NULL };

	/* one alarm line per failure, not one per retry */
	if (f->failing)
		return;
	fig[1] = ag->cfg.dns_server[0] ? ag->cfg.dns_server : "load steps";
	agent_alarm_ctx(ag, &actx);
	alarm_raise(&actx, ALARM_DNS_UPDATE, ALARM_MAJOR, err, fig, aerr);
	log_warnx("DNS update: %s (retried every %d ms)", err,
	    DNSJOB_RETRY_MS);
	f->failing = 1;
}

static void
run_ok(struct agent *ag, struct dnsfeed *f)
{
	struct alarm_ctx actx;
	char aerr[ENUMDR_ERRLEN];

	if (!f->failing)
		return;
	agent_alarm_ctx(ag, &actx);
	alarm_clear(&actx, ALARM_DNS_UPDATE, "DNS server in step again", NULL,
	    aerr);
	log_info("DNS update: in step again");
	f->failing = 0;
}

static void
run_done(struct dnsfeed *f, int64_t fed, const char *err)
{
	pthread_mutex_lock(&f->lock);
	if (fed >= 0)
		f->fed = fed;
	f->runs++;
	strlcpy_(f->last_err, err != NULL ? err : "", sizeof(f->last_err));
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* The job's work (job.h): one group, right away (job.c runs it again at
 * once when a change committed while it ran). */
static int64_t
dnsjob_run(void *arg)
{
	struct agent *ag = arg;
	struct dnsfeed *f = ag->dnsf;
	char err[ENUMDR_ERRLEN];
	int64_t t0 = util_now_ms(), pos = -1;
	int rc;

	if (ag->stopping)
		return JOB_IDLE;
	if (!ag->dns_active(ag) && util_now_ms() >= f->forced_until)
		return JOB_IDLE;
	/* The active room's groups go at once; a hot standby's Knot answers
	 * no client until a takeover (whose dns-sync sends what is left), so
	 * its groups gather for DNSJOB_STANDBY_MS: each update costs Knot a
	 * walk of the zone (its ZONEMD), and the standby shares the machine
	 * with its follower.  (job.c reads this on this thread.) */
	ag->dns_job.coalesce_ms = provision_listener_open(ag) ? 0 :
	    DNSJOB_STANDBY_MS;
	err[0] = '\0';
	if (ag->cfg.dns_server[0] == '\0') {
		if (ag->cfg.nsteps == 0)
			return JOB_IDLE;
		if (store_journal_position(f->rd, &pos, err) != STORE_OK ||
		    run_steps(ag, err) == -1) {
			run_failed(ag, f, err);
			run_done(f, -1, err);
			return DNSJOB_RETRY_MS;
		}
		run_ok(ag, f);
		run_done(f, pos, NULL);
		log_debug("DNS update: %zu load steps in %lld ms",
		    ag->cfg.nsteps, (long long)(util_now_ms() - t0));
		return JOB_IDLE;
	}
	do {
		rc = feed(ag, f, err);
	} while (rc == 1 && !ag->stopping && util_now_ms() - t0 < 1000);
	if (rc == -1) {
		/* after any failure the server is asked again what it holds
		 * (a run that sends nothing must not pass for "in step") */
		f->synced = 0;
		run_failed(ag, f, err);
		run_done(f, -1, err);
		return DNSJOB_RETRY_MS;
	}
	run_ok(ag, f);
	run_done(f, rc == 0 ? f->cursor : -1, NULL);
	return rc == 1 ? 0 : DNSJOB_CHECK_MS;
}

void
dnsjob_kick(struct agent *ag)
{
	job_wake(&ag->dns_job);
}

int
dnsjob_sync(struct agent *ag, int timeout_ms, char *why, size_t whylen)
{
	struct dnsfeed *f = ag->dnsf;
	struct timespec ts;
	int64_t pos, until = util_now_ms() + timeout_ms;
	uint64_t runs;
	char err[ENUMDR_ERRLEN];

	pthread_mutex_lock(&ag->repl_lock);
	pos = ag->repl_journal;
	pthread_mutex_unlock(&ag->repl_lock);
	/* this room feeds its server now, whatever its role says, for as
	 * long as the takeover may take to open the listener */
	f->forced_until = until + 60000;
	pthread_mutex_lock(&f->lock);
	runs = f->runs;
	pthread_mutex_unlock(&f->lock);
	job_wake(&ag->dns_job);
	pthread_mutex_lock(&f->lock);
	for (;;) {
		/* a run that ended after this request, well, having fed up
		 * to pos */
		if (f->runs > runs && f->last_err[0] == '\0' && f->fed >= pos)
			break;
		if (util_now_ms() >= until || ag->stopping) {
			strlcpy_(err, f->last_err[0] ? f->last_err :
			    "the DNS server is not in step yet", sizeof(err));
			pthread_mutex_unlock(&f->lock);
			snprintf(why, whylen, "DNS server not in step with"
			    " journal position %lld after %d ms: %s",
			    (long long)pos, timeout_ms, err);
			return -1;
		}
		ts.tv_sec = (time_t)(util_now_ms() / 1000);
		ts.tv_nsec = (long)(util_now_ms() % 1000) * 1000000L + 20000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int
dnsjob_start(struct agent *ag, int (*active)(struct agent *), char *err)
{
	struct dnsfeed *f;
	pthread_condattr_t ca;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		errf(err, "DNS update job: out of memory");
		return -1;
	}
	if (store_open(ag->cfg.database, STORE_READONLY, &f->rd, err) !=
	    STORE_OK) {
		free(f);
		return -1;
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	f->fed = -1;
	ag->dnsf = f;
	ag->dns_active = active;
	ag->dns_job.name = "DNS update job";
	ag->dns_job.run = dnsjob_run;
	ag->dns_job.arg = ag;
	ag->dns_job.coalesce_ms = 0;
	ag->dns_job.first_ms = 0;   /* learn the server's state at start */
	return job_start(&ag->dns_job, err);
}

int
dnsjob_stop(struct agent *ag, int wait_ms)
{
	struct dnsfeed *f = ag->dnsf;
	int rc = job_stop(&ag->dns_job, wait_ms);

	if (rc == 0 && f != NULL) {
		dnsupd_close(f->u);
		store_close(f->rd);
		free(f->zones);
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
		free(f);
		ag->dnsf = NULL;
	}
	return rc;
}
