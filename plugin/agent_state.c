/*
 * agent_state.c — the agent's published state: role, listener, per-zone
 * serials, journal position (S0.7's "number-table sequence number"),
 * latest snapshot, active alarms, and what the peers' heartbeats said.
 * Heartbeats (S0.3, S0.4) and `enumdr agent status` answer from here only,
 * under a lock that is held for microseconds: they never wait on a write.
 *
 * Commits update it directly (pub_commit, under the writer lock); once a
 * second the main thread re-reads zones and journal on the read-only
 * connection, which catches changes made outside the agent (`enumdr zone
 * add`, an import) — that read is dropped when a commit came in between,
 * because the commit's figures are newer.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "util.h"

void
pub_init(struct published *pub)
{
	memset(pub, 0, sizeof(*pub));
	pthread_mutex_init(&pub->lock, NULL);
	strlcpy_(pub->role, "UNKNOWN", sizeof(pub->role));
	util_utc_iso8601(pub->started, sizeof(pub->started));
}

void
pub_free(struct published *pub)
{
	free(pub->zones);
	pub->zones = NULL;
	pub->nzones = pub->capzones = 0;
	pthread_mutex_destroy(&pub->lock);
}

void
pub_set_open(struct published *pub, int open)
{
	pthread_mutex_lock(&pub->lock);
	pub->listener_open = open;
	pthread_mutex_unlock(&pub->lock);
}

void
pub_set_role(struct published *pub, const char *role)
{
	pthread_mutex_lock(&pub->lock);
	strlcpy_(pub->role, role, sizeof(pub->role));
	pthread_mutex_unlock(&pub->lock);
}

uint64_t
pub_gen(struct published *pub)
{
	uint64_t g;

	pthread_mutex_lock(&pub->lock);
	g = pub->gen;
	pthread_mutex_unlock(&pub->lock);
	return g;
}

static int
zone_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pub_zone *)a)->origin,
	    ((const struct pub_zone *)b)->origin);
}

/* Set origin's serial, adding the zone when it is new (lock held). */
static void
pub_zone_set(struct published *pub, const char *origin, uint32_t serial)
{
	struct pub_zone key, *z, *nz;
	size_t cap;

	memset(&key, 0, sizeof(key));
	strlcpy_(key.origin, origin, sizeof(key.origin));
	z = pub->nzones ? bsearch(&key, pub->zones, pub->nzones,
	    sizeof(*pub->zones), zone_cmp) : NULL;
	if (z != NULL) {
		z->serial = serial;
		return;
	}
	if (pub->nzones == pub->capzones) {
		cap = pub->capzones ? pub->capzones * 2 : 16;
		if ((nz = realloc(pub->zones, cap * sizeof(*nz))) == NULL)
			return;		/* the next refresh brings it */
		pub->zones = nz;
		pub->capzones = cap;
	}
	key.serial = serial;
	pub->zones[pub->nzones++] = key;
	qsort(pub->zones, pub->nzones, sizeof(*pub->zones), zone_cmp);
}

void
pub_commit(struct published *pub, const struct store_change_result *res,
    size_t n)
{
	size_t i;

	pthread_mutex_lock(&pub->lock);
	pub->gen++;
	for (i = 0; i < n; i++) {
		pub_zone_set(pub, res[i].zone, res[i].serial);
		if (res[i].journal_seq > pub->journal)
			pub->journal = res[i].journal_seq;
	}
	pthread_mutex_unlock(&pub->lock);
}

int
pub_replace(struct published *pub, uint64_t gen, const struct pub_zone *zones,
    size_t n, int64_t journal)
{
	struct pub_zone *copy = NULL;

	if (n > 0) {
		if ((copy = malloc(n * sizeof(*copy))) == NULL)
			return -1;
		memcpy(copy, zones, n * sizeof(*copy));
		qsort(copy, n, sizeof(*copy), zone_cmp);
	}
	pthread_mutex_lock(&pub->lock);
	if (pub->gen != gen) {
		pthread_mutex_unlock(&pub->lock);
		free(copy);
		return 0;
	}
	free(pub->zones);
	pub->zones = copy;
	pub->nzones = pub->capzones = n;
	pub->journal = journal;
	pthread_mutex_unlock(&pub->lock);
	return 1;
}

void
pub_set_snapshot(struct published *pub, const struct serial_file *sf)
{
	pthread_mutex_lock(&pub->lock);
	pub->have_snapshot = sf != NULL;
	if (sf != NULL) {
		strlcpy_(pub->snap_created, sf->created_at,
		    sizeof(pub->snap_created));
		pub->snap_journal = sf->journal_pos;
		pub->snap_size = sf->snapshot_size;
		strlcpy_(pub->snap_sha256, sf->snapshot_sha256,
		    sizeof(pub->snap_sha256));
	}
	pthread_mutex_unlock(&pub->lock);
}

void
pub_set_alarms(struct published *pub, int n)
{
	pthread_mutex_lock(&pub->lock);
	pub->alarms = n;
	pthread_mutex_unlock(&pub->lock);
}

void
pub_set_push(struct published *pub, int ok, const char *error)
{
	pthread_mutex_lock(&pub->lock);
	if (ok) {
		util_utc_iso8601(pub->last_push, sizeof(pub->last_push));
		pub->push_error[0] = '\0';
	} else {
		strlcpy_(pub->push_error, error, sizeof(pub->push_error));
	}
	pthread_mutex_unlock(&pub->lock);
}

void
pub_set_peers(struct published *pub, const struct config *cfg)
{
	size_t i;

	pthread_mutex_lock(&pub->lock);
	memset(pub->peers, 0, sizeof(pub->peers));
	pub->npeers = cfg->npeers;
	for (i = 0; i < cfg->npeers; i++)
		strlcpy_(pub->peers[i].name, cfg->peers[i].name,
		    sizeof(pub->peers[i].name));
	pthread_mutex_unlock(&pub->lock);
}

void
pub_set_peer(struct published *pub, const struct pub_peer *p)
{
	size_t i;

	pthread_mutex_lock(&pub->lock);
	for (i = 0; i < pub->npeers; i++) {
		if (strcmp(pub->peers[i].name, p->name) == 0) {
			pub->peers[i] = *p;
			break;
		}
	}
	pthread_mutex_unlock(&pub->lock);
}

/* Lock held. */
static const char *
active_room_locked(const struct published *pub)
{
	size_t i;

	for (i = 0; i < pub->npeers; i++)
		if (pub->peers[i].seen && pub->peers[i].listener_open)
			return pub->peers[i].room;
	return "";
}

void
pub_active_room(struct published *pub, char *out, size_t outlen)
{
	pthread_mutex_lock(&pub->lock);
	strlcpy_(out, active_room_locked(pub), outlen);
	pthread_mutex_unlock(&pub->lock);
}

/* The heartbeat body (lock held). */
static json_t *
heartbeat_locked(const struct published *pub, const char *room)
{
	json_t *o, *zones, *snap;
	char now[32];
	size_t i;

	util_utc_iso8601(now, sizeof(now));
	zones = json_array();
	for (i = 0; zones != NULL && i < pub->nzones; i++)
		json_array_append_new(zones, json_pack("{s:s,s:I}", "origin",
		    pub->zones[i].origin, "serial",
		    (json_int_t)pub->zones[i].serial));
	if (pub->have_snapshot)
		snap = json_pack("{s:s,s:I,s:I,s:s}", "created",
		    pub->snap_created, "journal", (json_int_t)pub->snap_journal,
		    "size", (json_int_t)pub->snap_size, "sha256",
		    pub->snap_sha256);
	else
		snap = json_null();
	o = json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:i,s:s}",
	    "room", room,
	    "role", pub->role,
	    "listener", pub->listener_open ? "open" : "closed",
	    "journal", (json_int_t)pub->journal,
	    "zones", zones,
	    "snapshot", snap,
	    "alarms", pub->alarms,
	    "time", now);
	return o;
}

json_t *
pub_heartbeat_json(struct published *pub, const char *room)
{
	json_t *o;

	pthread_mutex_lock(&pub->lock);
	o = heartbeat_locked(pub, room);
	pthread_mutex_unlock(&pub->lock);
	return o;
}

json_t *
pub_status_json(struct published *pub, const char *room)
{
	json_t *o, *peers, *p;
	const char *active;
	size_t i;

	pthread_mutex_lock(&pub->lock);
	o = heartbeat_locked(pub, room);
	peers = json_array();
	for (i = 0; o != NULL && peers != NULL && i < pub->npeers; i++) {
		const struct pub_peer *pp = &pub->peers[i];

		p = json_pack("{s:s,s:b}", "name", pp->name, "reachable",
		    pp->reachable);
		if (p == NULL)
			continue;
		if (pp->seen) {
			json_object_set_new(p, "room", json_string(pp->room));
			json_object_set_new(p, "role", json_string(pp->role));
			json_object_set_new(p, "listener", json_string(
			    pp->listener_open ? "open" : "closed"));
			json_object_set_new(p, "last_seen",
			    json_string(pp->last_seen));
		}
		if (pp->polled && !pp->reachable)
			json_object_set_new(p, "error",
			    json_string(pp->error));
		json_array_append_new(peers, p);
	}
	active = active_room_locked(pub);
	if (o != NULL) {
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "started", json_string(pub->started));
		json_object_set_new(o, "peers", peers);
		json_object_set_new(o, "active_room", active[0] != '\0' ?
		    json_string(active) : json_null());
		json_object_set_new(o, "last_push", pub->last_push[0] != '\0' ?
		    json_string(pub->last_push) : json_null());
		json_object_set_new(o, "push_error", pub->push_error[0] !=
		    '\0' ? json_string(pub->push_error) : json_null());
	} else {
		json_decref(peers);
	}
	pthread_mutex_unlock(&pub->lock);
	return o;
}

/* ---- reading the database into the published state -------------------- */

int
agent_read_zones(struct store *st, struct pub_zone **zonesp, size_t *np,
    int64_t *journal, char *err)
{
	struct pub_zone *z = NULL, *nz;
	sqlite3_stmt *q = NULL;
	size_t n = 0, cap = 0;
	int rc, ret = -1;

	*zonesp = NULL;
	*np = 0;
	/* One read transaction: zones and journal of the same commit. */
	rc = sqlite3_exec(store_handle(st), "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(st, rc, "begin read", err);
		return -1;
	}
	/* Not store_list_zones: its number count is a scan per zone. */
	rc = sqlite3_prepare_v2(store_handle(st), "SELECT origin, serial FROM"
	    " zone ORDER BY origin", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(st, rc, "read zone serials", err);
		goto fail;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nz = realloc(z, cap * sizeof(*z))) == NULL) {
				errf(err, "out of memory reading zone serials");
				goto fail;
			}
			z = nz;
		}
		strlcpy_(z[n].origin, (const char *)sqlite3_column_text(q, 0),
		    sizeof(z[n].origin));
		z[n].serial = (uint32_t)sqlite3_column_int64(q, 1);
		n++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(st, rc, "read zone serials", err);
		goto fail;
	}
	if (store_journal_position(st, journal, err) != STORE_OK)
		goto fail;
	*zonesp = z;
	*np = n;
	z = NULL;
	ret = 0;
fail:
	sqlite3_finalize(q);
	sqlite3_exec(store_handle(st), "COMMIT", NULL, NULL, NULL);
	free(z);
	return ret;
}

int
agent_refresh(struct agent *ag, char *err)
{
	struct pub_zone *zones;
	size_t n;
	int64_t journal;
	uint64_t gen;
	int rc;

	gen = pub_gen(&ag->pub);
	pthread_mutex_lock(&ag->reader_lock);
	rc = agent_read_zones(ag->reader, &zones, &n, &journal, err);
	pthread_mutex_unlock(&ag->reader_lock);
	if (rc == -1)
		return -1;
	if (pub_replace(&ag->pub, gen, zones, n, journal) == -1) {
		errf(err, "out of memory publishing zone serials");
		rc = -1;
	}
	free(zones);
	return rc;
}

void
agent_alarm_ctx(struct agent *ag, struct alarm_ctx *out)
{
	pthread_mutex_lock(&ag->cfg_lock);
	*out = ag->alarms;
	pthread_mutex_unlock(&ag->cfg_lock);
}

void
agent_refresh_alarms(struct agent *ag)
{
	struct alarm_active *list = NULL;
	struct alarm_ctx actx;
	char err[ENUMDR_ERRLEN];
	size_t n = 0;

	agent_alarm_ctx(ag, &actx);
	if (alarm_list(&actx, &list, &n, err) == -1) {
		log_debug("alarm list: %s", err);
		return;
	}
	free(list);
	pub_set_alarms(&ag->pub, (int)n);
}
