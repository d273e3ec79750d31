/*
 * sync.c — the serial-compare data synchronisation (S0.2), run at every
 * takeover (S0.6) and failback (S0.7) and by `enumdr sync`.
 *
 * The steps are the seed's: read the peer's serial file (failure ends the
 * operation), query the own zone serials (failure ends it), compare per zone
 * with RFC 1982 arithmetic, and import the peer's data only when the peer
 * is newer and we are newer nowhere.  Beyond the seed: when both rooms are
 * newer in different zones (split brain) or a comparison is undefined, the
 * peer's snapshot is first copied aside into the quarantine directory, so
 * that neither side's changes are silently dropped (DESIGN.md "Serial
 * compare"); the policy then decides whether the peer-newer zones are
 * merged in.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rfc1982.h"
#include "snapshot.h"
#include "store.h"
#include "alarm_ids.h"
#include "sync.h"
#include "util.h"

#define KEEP_ATTEMPTS 100   /* names tried for one quarantine directory */

const char *
sync_outcome_name(enum sync_outcome o)
{
	switch (o) {
	case SYNC_EQUAL:
		return "equal";
	case SYNC_OWN_NEWER:
		return "own-newer";
	case SYNC_PEER_NEWER:
		return "peer-newer";
	case SYNC_DIVERGED:
		return "diverged";
	case SYNC_UNDEFINED:
		return "undefined";
	}
	return "unknown";
}

const char *
sync_zone_verdict_name(enum sync_zone_verdict v)
{
	switch (v) {
	case ZONE_SAME:
		return "same";
	case ZONE_OWN_NEWER:
		return "own-newer";
	case ZONE_PEER_NEWER:
		return "peer-newer";
	case ZONE_UNDEFINED:
		return "undefined";
	case ZONE_DIVERGED:
		return "diverged";
	}
	return "unknown";
}

/* ---- zone histories (version vectors) ----------------------------------- */

struct history_entry {
	char zone[STORE_ORIGIN_MAX];
	char actor[64];             /* a database uuid */
	int64_t changes;
};

struct history {
	struct history_entry *e;
	size_t n;
};

/* Rows of one zone_history table: a zone has one row per database that
 * ever changed it, so this is far above any real history. */
#define HISTORY_ROWS_MAX (1 << 20)

/* Read the zone_history table of db; a database without one has none. */
static int
history_read(sqlite3 *db, const char *what, struct history *h, char *err)
{
	struct history_entry *ne;
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc;

	h->e = NULL;
	h->n = 0;
	rc = sqlite3_prepare_v2(db, "SELECT zone, actor, changes FROM"
	    " zone_history ORDER BY zone, actor", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		if (strstr(sqlite3_errmsg(db), "no such table") != NULL)
			return 0;
		errf(err, "read zone history of %s: %s", what,
		    sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		/* the peer's rows are checked before (rowcheck.h); still,
		 * never trust a column to be there */
		if (sqlite3_column_type(q, 0) != SQLITE_TEXT ||
		    sqlite3_column_type(q, 1) != SQLITE_TEXT) {
			errf(err, "read zone history of %s: row %zu is not"
			    " (zone, actor) text", what, h->n + 1);
			rc = SQLITE_MISMATCH;
			break;
		}
		if (h->n == HISTORY_ROWS_MAX) {
			errf(err, "read zone history of %s: more than %d rows",
			    what, HISTORY_ROWS_MAX);
			rc = SQLITE_TOOBIG;
			break;
		}
		if (h->n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((ne = realloc(h->e, cap * sizeof(*ne))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			h->e = ne;
		}
		strlcpy_(h->e[h->n].zone, (const char *)sqlite3_column_text(q,
		    0), sizeof(h->e[h->n].zone));
		strlcpy_(h->e[h->n].actor, (const char *)sqlite3_column_text(q,
		    1), sizeof(h->e[h->n].actor));
		h->e[h->n].changes = sqlite3_column_int64(q, 2);
		h->n++;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_MISMATCH || rc == SQLITE_TOOBIG) {
		free(h->e);
		h->e = NULL;
		h->n = 0;
		return -1;
	}
	if (rc != SQLITE_DONE) {
		errf(err, "read zone history of %s: %s", what,
		    rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errstr(rc));
		free(h->e);
		h->e = NULL;
		h->n = 0;
		return -1;
	}
	return 0;
}

/* Changes actor made to zone according to h (0 when none). */
static int64_t
history_count(const struct history *h, const char *zone, const char *actor)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->e[i].zone, zone) == 0 &&
		    strcmp(h->e[i].actor, actor) == 0)
			return h->e[i].changes;
	return 0;
}

/* Compare the two histories of zone: -1 when neither side has one, else
 * the verdict (a version-vector comparison). */
static int
history_verdict(const struct history *own, const struct history *peer,
    const char *zone)
{
	int any = 0, own_more = 0, peer_more = 0;
	size_t i;

	for (i = 0; i < own->n; i++) {
		int64_t p;

		if (strcmp(own->e[i].zone, zone) != 0)
			continue;
		any = 1;
		p = history_count(peer, zone, own->e[i].actor);
		if (own->e[i].changes > p)
			own_more = 1;
		else if (own->e[i].changes < p)
			peer_more = 1;
	}
	for (i = 0; i < peer->n; i++) {
		if (strcmp(peer->e[i].zone, zone) != 0)
			continue;
		any = 1;
		if (peer->e[i].changes > 0 &&
		    history_count(own, zone, peer->e[i].actor) == 0)
			peer_more = 1;
	}
	if (!any)
		return -1;
	if (own_more && peer_more)
		return ZONE_DIVERGED;
	if (own_more)
		return ZONE_OWN_NEWER;
	if (peer_more)
		return ZONE_PEER_NEWER;
	return ZONE_SAME;
}

void
sync_report_free(struct sync_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->zones);
	rep->zones = NULL;
	rep->nzones = 0;
}

static int
sync_zone_order(const void *a, const void *b)
{
	return strcmp(((const struct sync_zone *)a)->origin,
	    ((const struct sync_zone *)b)->origin);
}

/* The verdict for one zone from what each side has. */
static enum sync_zone_verdict
zone_verdict(const struct sync_zone *z)
{
	if (!z->peer_present)
		return ZONE_OWN_NEWER;
	if (!z->own_present)
		return ZONE_PEER_NEWER;
	switch (rfc1982_cmp(z->own_serial, z->peer_serial)) {
	case RFC1982_EQUAL:
		return ZONE_SAME;
	case RFC1982_GREATER:
		return ZONE_OWN_NEWER;
	case RFC1982_LESS:
		return ZONE_PEER_NEWER;
	case RFC1982_UNDEFINED:
		break;
	}
	return ZONE_UNDEFINED;
}

/*
 * Per-zone verdicts over the union of both sides' zones, sorted by origin,
 * and the outcome: UNDEFINED if any zone is undefined (before DIVERGED),
 * DIVERGED if both sides are newer somewhere, else PEER_NEWER, OWN_NEWER
 * or EQUAL.  rep is overwritten (free an old report first).
 */
static int
compare_zones(struct store *st, const struct serial_file *peer,
    const struct history *own_hist, const struct history *peer_hist,
    struct sync_report *rep, char *err)
{
	struct zone_info *own = NULL;
	struct sync_zone *zones = NULL, *z;
	size_t nown = 0, n = 0, i, nown_newer = 0, npeer_newer = 0;
	size_t nundefined = 0, ndiverged = 0;
	int ret = -1, hv;

	memset(rep, 0, sizeof(*rep));
	strlcpy_(rep->peer_room, peer->room, sizeof(rep->peer_room));
	rep->peer_journal = peer->journal_pos;
	if (store_list_zones(st, &own, &nown, err) != STORE_OK)
		return -1;
	if (nown + peer->nzones > 0) {
		zones = calloc(nown + peer->nzones, sizeof(*zones));
		if (zones == NULL) {
			errf(err, "out of memory comparing %zu zones",
			    nown + peer->nzones);
			goto done;
		}
	}
	for (i = 0; i < nown; i++) {
		z = &zones[n++];
		strlcpy_(z->origin, own[i].origin, sizeof(z->origin));
		z->own_present = 1;
		z->own_serial = own[i].serial;
	}
	/* own zones sorted for bsearch; peer-only zones go after them */
	if (nown > 0)
		qsort(zones, nown, sizeof(*zones), sync_zone_order);
	for (i = 0; i < peer->nzones; i++) {
		struct sync_zone key;

		memset(&key, 0, sizeof(key));
		strlcpy_(key.origin, peer->zones[i].origin, sizeof(key.origin));
		z = nown > 0 ? bsearch(&key, zones, nown, sizeof(*zones),
		    sync_zone_order) : NULL;
		if (z == NULL) {
			z = &zones[n++];
			strlcpy_(z->origin, peer->zones[i].origin,
			    sizeof(z->origin));
		}
		if (z->peer_present) {
			errf(err, "peer serial file lists zone %s twice",
			    z->origin);
			goto done;
		}
		z->peer_present = 1;
		z->peer_serial = peer->zones[i].serial;
	}
	if (n > 0)
		qsort(zones, n, sizeof(*zones), sync_zone_order);
	for (i = 0; i < n; i++) {
		zones[i].verdict = zone_verdict(&zones[i]);
		/* Where a history is known, it decides (zones on both sides;
		 * an undefined serial comparison stays undefined). */
		if (own_hist != NULL && peer_hist != NULL &&
		    zones[i].verdict != ZONE_UNDEFINED &&
		    zones[i].own_present && zones[i].peer_present &&
		    (hv = history_verdict(own_hist, peer_hist,
		    zones[i].origin)) != -1)
			zones[i].verdict = (enum sync_zone_verdict)hv;
		if (zones[i].verdict == ZONE_DIVERGED)
			ndiverged++;
		else if (zones[i].verdict == ZONE_OWN_NEWER)
			nown_newer++;
		else if (zones[i].verdict == ZONE_PEER_NEWER)
			npeer_newer++;
		else if (zones[i].verdict == ZONE_UNDEFINED)
			nundefined++;
	}
	if (nundefined > 0)
		rep->outcome = SYNC_UNDEFINED;
	else if (ndiverged > 0 || (nown_newer > 0 && npeer_newer > 0))
		rep->outcome = SYNC_DIVERGED;
	else if (npeer_newer > 0)
		rep->outcome = SYNC_PEER_NEWER;
	else if (nown_newer > 0)
		rep->outcome = SYNC_OWN_NEWER;
	else
		rep->outcome = SYNC_EQUAL;
	rep->zones = zones;
	rep->nzones = n;
	zones = NULL;
	ret = 0;
done:
	free(zones);
	free(own);
	return ret;
}

int
sync_compare(struct store *st, const struct serial_file *peer,
    struct sync_report *rep, char *err)
{
	return compare_zones(st, peer, NULL, NULL, rep, err);
}

int
sync_compare_history(struct store *st, const struct serial_file *peer,
    const char *peer_db, struct sync_report *rep, char *err)
{
	struct history own_hist = { NULL, 0 }, peer_hist = { NULL, 0 };
	sqlite3 *db = NULL;
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	/* which side failed: the peer's file or our own database */
	rep->step = SYNC_STEP_READ_SNAPSHOT;
	if (sqlite3_open_v2(peer_db, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		errf(err, "open peer snapshot %s: %s", peer_db,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto done;
	}
	if (history_read(db, peer_db, &peer_hist, err) == -1)
		goto done;
	rep->step = SYNC_STEP_QUERY_OWN;
	if (history_read(store_handle(st), store_path(st), &own_hist,
	    err) == -1)
		goto done;
	ret = compare_zones(st, peer, &own_hist, &peer_hist, rep, err);
	if (ret == 0)
		rep->step = SYNC_STEP_NONE;
done:
	sqlite3_close(db);
	free(own_hist.e);
	free(peer_hist.e);
	return ret;
}

/*
 * Keep a copy of the peer's snapshot (database first, serial file last,
 * so a serial file in the quarantine always describes a complete copy) in
 * a new directory QUARANTINE/<room>-<UTC time>[-N]; its path in kept.
 */
static int
keep_peer_copy(const char *peer_dir, const struct serial_file *peer,
    const char *quarantine_dir, char *kept, size_t keptlen, char *err)
{
	char name[128], stamp[32], src[PATH_MAX], dst[PATH_MAX];
	struct tm tm;
	time_t now;
	int i;

	if (quarantine_dir == NULL || quarantine_dir[0] == '\0') {
		errf(err, "no quarantine directory configured to keep the"
		    " peer's snapshot from %s", peer_dir);
		return -1;
	}
	if (util_mkdir_p(quarantine_dir, 0750, err) == -1)
		return -1;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; ; i++) {
		if (i == KEEP_ATTEMPTS) {
			errf(err, "%s: %d quarantine directories named %s-%s"
			    " exist already", quarantine_dir, KEEP_ATTEMPTS,
			    peer->room, stamp);
			return -1;
		}
		if (i == 0)
			snprintf(name, sizeof(name), "%s-%s", peer->room,
			    stamp);
		else
			snprintf(name, sizeof(name), "%s-%s-%d", peer->room,
			    stamp, i);
		if (util_path_join(kept, keptlen, quarantine_dir, name,
		    err) == -1)
			return -1;
		if (mkdir(kept, 0750) == 0)
			break;
		if (errno != EEXIST) {
			errf_errno(err, "create directory %s", kept);
			return -1;
		}
	}
	if (util_path_join(src, sizeof(src), peer_dir, peer->snapshot_name,
	    err) == -1 ||
	    util_path_join(dst, sizeof(dst), kept, peer->snapshot_name,
	    err) == -1 ||
	    util_copy_file(src, dst, err) == -1)
		return -1;
	if (util_path_join(src, sizeof(src), peer_dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 ||
	    util_path_join(dst, sizeof(dst), kept, SNAPSHOT_SERIALS_NAME,
	    err) == -1 ||
	    util_copy_file(src, dst, err) == -1)
		return -1;
	return 0;
}

/* Import the zones the peer has newer (verdict PEER_NEWER). */
static int
import_peer_newer(struct store *st, const char *peer_dir,
    struct sync_report *rep, char *err)
{
	const char **list;
	size_t i, n = 0;
	int ret;

	if ((list = calloc(rep->nzones ? rep->nzones : 1,
	    sizeof(*list))) == NULL) {
		errf(err, "out of memory listing zones to import");
		return -1;
	}
	for (i = 0; i < rep->nzones; i++)
		if (rep->zones[i].verdict == ZONE_PEER_NEWER)
			list[n++] = rep->zones[i].origin;
	ret = 0;
	if (n > 0)
		ret = snapshot_import_checked(st, peer_dir, list, n,
		    rep->invalid_row, sizeof(rep->invalid_row), err);
	if (ret == 0) {
		rep->imported = n > 0;
		rep->nimported = n;
	}
	free(list);
	return ret;
}

static const struct {
	const char *name;
	const char *alarm;
} steps[] = {
	[SYNC_STEP_NONE] = { "none", NULL },
	[SYNC_STEP_READ_SERIALS] = { "read peer serial file", ALARM_SYNC_READ },
	[SYNC_STEP_READ_SNAPSHOT] = { "read peer snapshot", ALARM_SYNC_IMPORT },
	[SYNC_STEP_VALIDATE] = { "validate peer snapshot",
	    ALARM_SNAPSHOT_INVALID },
	[SYNC_STEP_QUERY_OWN] = { "query own serials", ALARM_SYNC_QUERY },
	[SYNC_STEP_KEEP_COPY] = { "keep peer copy", ALARM_SYNC_IMPORT },
	[SYNC_STEP_IMPORT] = { "import peer snapshot", ALARM_SYNC_IMPORT },
};

const char *
sync_step_name(enum sync_step step)
{
	if ((size_t)step >= sizeof(steps) / sizeof(steps[0]))
		return "unknown";
	return steps[step].name;
}

enum sync_step
sync_step_from_name(const char *name)
{
	size_t i;

	for (i = 1; name != NULL && i < sizeof(steps) / sizeof(steps[0]); i++)
		if (strcmp(steps[i].name, name) == 0)
			return (enum sync_step)i;
	return SYNC_STEP_NONE;
}

const char *
sync_step_alarm(enum sync_step step)
{
	if ((size_t)step >= sizeof(steps) / sizeof(steps[0]))
		return NULL;
	return steps[step].alarm;
}

/* Name the failed step in rep and prefix it to err. */
static int
step_failed(struct sync_report *rep, enum sync_step step, char *err)
{
	char cause[ENUMDR_ERRLEN];

	rep->step = step;
	strlcpy_(cause, err != NULL ? err : "", sizeof(cause));
	errf(err, "sync: %s: %s", sync_step_name(step), cause);
	return -1;
}

/* rowcheck the database at path (read-only): 0, SNAPSHOT_EINVALID with
 * rep->invalid_row, or -1 when it cannot be read. */
static int
check_rows(const char *path, struct sync_report *rep, char *err)
{
	sqlite3 *db = NULL;
	int ret = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		errf(err, "open peer snapshot %s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto done;
	}
	/* a crafted schema runs no function of its choosing */
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (rowcheck_database(db, "main", path, rep->invalid_row,
	    sizeof(rep->invalid_row), err) == -1) {
		ret = rep->invalid_row[0] != '\0' ? SNAPSHOT_EINVALID : -1;
		goto done;
	}
	ret = 0;
done:
	sqlite3_close(db);
	return ret;
}

int
sync_run(struct store *st, const char *peer_dir, const struct sync_opts *opts,
    struct sync_report *rep, char *err)
{
	struct serial_file peer;
	char path[PATH_MAX];
	int ret = -1, rc;

	memset(rep, 0, sizeof(*rep));
	memset(&peer, 0, sizeof(peer));

	/* 1. the peer's serial file, from the fixed directory */
	if (util_path_join(path, sizeof(path), peer_dir,
	    SNAPSHOT_SERIALS_NAME, err) == -1 ||
	    serial_file_read(path, &peer, err) == -1)
		return step_failed(rep, SYNC_STEP_READ_SERIALS, err);

	/* 2. our own zone serials, and 3. the comparison, with both sides'
	 * zone histories (the peer's from its snapshot database) */
	/* the peer's database must be the one its serial file describes
	 * before its zone histories are read from it */
	if (snapshot_verify(peer_dir, &peer, err) == -1) {
		step_failed(rep, SYNC_STEP_READ_SNAPSHOT, err);
		goto done;
	}
	/* every row of it by the store's rules before any is read for the
	 * comparison: an invalid snapshot is refused whole, whatever the
	 * outcome would have been (the import checks again, inside its
	 * transaction, what it copies) */
	if (util_path_join(path, sizeof(path), peer_dir, SNAPSHOT_DB_NAME,
	    err) == -1) {
		step_failed(rep, SYNC_STEP_READ_SNAPSHOT, err);
		goto done;
	}
	if ((rc = check_rows(path, rep, err)) != 0) {
		step_failed(rep, rc == SNAPSHOT_EINVALID ? SYNC_STEP_VALIDATE :
		    SYNC_STEP_READ_SNAPSHOT, err);
		goto done;
	}
	if (sync_compare_history(st, &peer, path, rep, err) == -1) {
		step_failed(rep, rep->step != SYNC_STEP_NONE ? rep->step :
		    SYNC_STEP_QUERY_OWN, err);
		goto done;
	}

	/* 4. act on the outcome */
	switch (rep->outcome) {
	case SYNC_EQUAL:
	case SYNC_OWN_NEWER:
		break;
	case SYNC_PEER_NEWER:
		if (opts->dry_run)
			break;
		if (import_peer_newer(st, peer_dir, rep, err) != 0) {
			step_failed(rep, rep->invalid_row[0] != '\0' ?
			    SYNC_STEP_VALIDATE : SYNC_STEP_IMPORT, err);
			goto done;
		}
		break;
	case SYNC_DIVERGED:
	case SYNC_UNDEFINED:
		if (opts->dry_run)
			break;
		/* nothing silently dropped: the peer's copy is kept first */
		if (keep_peer_copy(peer_dir, &peer, opts->quarantine_dir,
		    rep->kept_dir, sizeof(rep->kept_dir), err) == -1) {
			rep->kept_dir[0] = '\0';
			step_failed(rep, SYNC_STEP_KEEP_COPY, err);
			goto done;
		}
		if (rep->outcome == SYNC_DIVERGED &&
		    opts->on_diverged == DIVERGED_MERGE_ZONES &&
		    import_peer_newer(st, peer_dir, rep, err) != 0) {
			step_failed(rep, rep->invalid_row[0] != '\0' ?
			    SYNC_STEP_VALIDATE : SYNC_STEP_IMPORT, err);
			goto done;
		}
		if (rep->outcome == SYNC_DIVERGED &&
		    opts->on_diverged == DIVERGED_MERGE) {
			/* both rooms changed: each number from the side that
			 * has the later version, concurrent ones conflicts
			 * (doc/replication.md "Gaps") */
			struct store_merge_result mr;

			if ((rc = snapshot_merge(st, peer_dir, rep->invalid_row,
			    sizeof(rep->invalid_row), &mr, err)) != 0) {
				step_failed(rep, rc == SNAPSHOT_EINVALID ?
				    SYNC_STEP_VALIDATE : SYNC_STEP_IMPORT, err);
				goto done;
			}
			rep->merged = 1;
			rep->imported = mr.r.applied > 0 || mr.zones_added > 0;
			rep->merge_taken = mr.r.applied;
			rep->merge_kept = mr.kept;
			rep->merge_conflicts = mr.r.conflicts;
		}
		break;
	}
	ret = 0;
done:
	serial_file_free(&peer);
	return ret;
}
