/*
 * agent_state.c — the agent's published state: role, listener, per-zone
 * serials, journal position (S0.7's "number-table sequence number"),
 * latest snapshot, active alarms, and what the peers' heartbeats said.
 * Heartbeats (S0.3, S0.4) and `enumdr agent status` answer from here only,
 * under a lock that is held for microseconds: they never wait on a write.
 *
 * Commits update it directly (pub_commit, under the writer lock); a full
 * re-read of zones and journal on the read-only connection (agent_refresh)
 * runs at start and after the agent's own zone adds, imports and syncs
 * (control_server.c) — dropped when a commit came in between, because the
 * commit's figures are newer.  Nothing polls: the agent is the only writer,
 * and a change made past it (the sqlite3 shell) is not seen until the next
 * start (doc/enumdrd.md: unsupported).
 *
 * Whether the database can be written (S0.5, S0.6: an active room that
 * refuses every change must say so, so that keepalived moves the VIP):
 * every provisioning write goes through agent_store_apply, which notes its
 * outcome.  A write that fails for want of space raises STORAGE_FULL, any
 * other failed write STORAGE_IO (critical while the listener is open,
 * major in a standby); the heartbeat says "storage":"full"|"error" and
 * enumdr-check-service reports the room unhealthy.  While it holds, the
 * main thread probes every AGENT_STORAGE_PROBE_MS: 64 KiB written, fsynced
 * and dropped in the database's directory, then one real commit that
 * leaves the data as it was; the alarm clears when the probe or a real
 * write works again.  Nothing here sleeps, and a probe is bounded work.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "alarm_ids.h"
#include "agent.h"
#include "log.h"
#include "peerproto.h"
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
		strlcpy_(pub->push_error, error != NULL ? error : "unknown error",
		    sizeof(pub->push_error));
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

static const char *
storage_name(int storage)
{
	switch (storage) {
	case AGENT_STORAGE_OK: return "ok";
	case AGENT_STORAGE_FULL: return "full";
	default: return "error";
	}
}

/* The published storage verdict; error is kept as printable ASCII (it goes
 * into JSON strings and a checker's one-line message). */
static void
pub_set_storage(struct published *pub, int storage, const char *error)
{
	char *c;

	pthread_mutex_lock(&pub->lock);
	if (storage == AGENT_STORAGE_OK) {
		pub->storage_error[0] = '\0';
		pub->storage_since[0] = '\0';
	} else {
		if (pub->storage == AGENT_STORAGE_OK)
			util_utc_iso8601(pub->storage_since,
			    sizeof(pub->storage_since));
		strlcpy_(pub->storage_error, error != NULL && *error != '\0' ?
		    error : storage_name(storage), sizeof(pub->storage_error));
		for (c = pub->storage_error; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
	}
	pub->storage = storage;
	pthread_mutex_unlock(&pub->lock);
}

/* The heartbeat body (lock held), built by the peer protocol's one
 * emitter (lib/peerproto.c), so that what the agent sends is what every
 * reader parses (S0.3, S0.4, S0.7). */
static json_t *
heartbeat_locked(const struct published *pub, const char *room)
{
	struct peerproto_heartbeat hb;
	char err[ENUMDR_ERRLEN];
	json_t *o;
	size_t i;

	memset(&hb, 0, sizeof(hb));
	strlcpy_(hb.room, room, sizeof(hb.room));
	strlcpy_(hb.role, pub->role, sizeof(hb.role));
	hb.listener_open = pub->listener_open;
	hb.journal = pub->journal;
	if (pub->nzones > 0 && (hb.zones = calloc(pub->nzones,
	    sizeof(*hb.zones))) == NULL)
		return NULL;
	for (i = 0; i < pub->nzones; i++) {
		strlcpy_(hb.zones[i].origin, pub->zones[i].origin,
		    sizeof(hb.zones[i].origin));
		hb.zones[i].serial = pub->zones[i].serial;
	}
	hb.nzones = pub->nzones;
	hb.have_snapshot = pub->have_snapshot;
	if (pub->have_snapshot) {
		strlcpy_(hb.snapshot.created, pub->snap_created,
		    sizeof(hb.snapshot.created));
		hb.snapshot.journal = pub->snap_journal;
		hb.snapshot.size = pub->snap_size;
		strlcpy_(hb.snapshot.sha256, pub->snap_sha256,
		    sizeof(hb.snapshot.sha256));
	}
	hb.alarms = pub->alarms;
	hb.storage = pub->storage == AGENT_STORAGE_OK ? PEERPROTO_STORAGE_OK :
	    pub->storage == AGENT_STORAGE_FULL ? PEERPROTO_STORAGE_FULL :
	    PEERPROTO_STORAGE_ERROR;
	if (hb.storage != PEERPROTO_STORAGE_OK)
		strlcpy_(hb.storage_error, pub->storage_error,
		    sizeof(hb.storage_error));
	util_utc_iso8601(hb.time, sizeof(hb.time));
	o = peerproto_heartbeat_json(&hb, err);
	peerproto_heartbeat_free(&hb);
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
		json_object_set_new(o, "storage_since", pub->storage ==
		    AGENT_STORAGE_OK ? json_null() :
		    json_string(pub->storage_since));
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
	struct zone_info *zi = NULL;
	struct pub_zone *z = NULL;
	size_t n = 0, i;

	*zonesp = NULL;
	*np = 0;
	/* Zones and journal of the same commit; no number count. */
	if (store_zones(st, 0, 0, &zi, &n, journal, err) != STORE_OK)
		return -1;
	if (n > 0 && (z = calloc(n, sizeof(*z))) == NULL) {
		errf(err, "out of memory reading zone serials");
		free(zi);
		return -1;
	}
	for (i = 0; i < n; i++) {
		strlcpy_(z[i].origin, zi[i].origin, sizeof(z[i].origin));
		z[i].serial = zi[i].serial;
	}
	free(zi);
	*zonesp = z;
	*np = n;
	return 0;
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
	/* The journal's long-polls: after an import, a sync, at start. */
	repl_committed(ag, journal);
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

/* ---- can the database be written ------------------------------------- */

static const char *
storage_alarm_id(int storage)
{
	return storage == AGENT_STORAGE_FULL ? ALARM_STORAGE_FULL : ALARM_STORAGE_IO;
}

/* Raise the alarm of state storage (storage_lock held). */
static void
storage_raise(struct agent *ag, int storage, const char *error,
    const char *source, int open)
{
	struct alarm_ctx actx;
	enum alarm_severity sev = open ? ALARM_CRITICAL : ALARM_MAJOR;
	char what[256], aerr[ENUMDR_ERRLEN], line[1024];
	const char *fig[] = { "database", ag->cfg.database, "error", error,
	    "source", source, "listener", open ? "open" : "closed", NULL };
	const char *id = storage_alarm_id(storage);
	int rc;

	agent_alarm_ctx(ag, &actx);
	snprintf(what, sizeof(what), "the database cannot be written (%s)%s",
	    storage == AGENT_STORAGE_FULL ? "disk full" : "write error",
	    open ? ": every provisioning change is refused" :
	    ": this room could not take provisioning");
	/* Formatted first: a raise that fails after this point has still
	 * been sent, only its state file is missing. */
	if (alarm_format(&actx, id, 1, sev, what, fig, line,
	    sizeof(line)) == -1) {
		log_warnx("alarm %s: cannot format the line", id);
		return;
	}
	rc = alarm_raise(&actx, id, sev, what, fig, aerr);
	if (rc == -1)
		log_warnx("alarm %s: %s", id, aerr);
	if (ag->storage_raised != storage) {
		ag->storage_unrecorded = rc == -1;
		log_warnx("database %s cannot be written (%s, %s): %s;"
		    " probing every %d ms", ag->cfg.database,
		    storage_name(storage), source, error,
		    AGENT_STORAGE_PROBE_MS);
	} else if (rc == 0) {
		ag->storage_unrecorded = 0;
	}
	ag->storage_raised = storage;
	ag->storage_raised_sev = sev;
}

/* Clear alarm id (storage_lock held); also the raise whose state file
 * could not be written (a full state_dir), whose clear alarm_clear would
 * not send: every raise has its clear (doc/alarms.md). */
static void
storage_clear(struct agent *ag, const char *id, const char *what,
    const char *source, int unrecorded)
{
	struct alarm_ctx actx;
	char aerr[ENUMDR_ERRLEN], line[1024];
	const char *fig[] = { "database", ag->cfg.database, "source", source,
	    NULL };
	int rc;

	agent_alarm_ctx(ag, &actx);
	rc = alarm_clear(&actx, id, what, fig, aerr);
	if (rc == -1)
		log_warnx("alarm %s: %s", id, aerr);
	else if (rc == 0 && unrecorded && alarm_format(&actx, id, 0,
	    (enum alarm_severity)ag->storage_raised_sev, what, fig, line,
	    sizeof(line)) == 0)
		agent_alarm_sender(&actx, LOG_NOTICE, line);
}

/*
 * Move to state storage.  With check_gen, only when no other verdict came
 * in since the caller read storage_gen == gen (a probe's result must not
 * undo a later write's).  A new failure raises its alarm, a failure that
 * persists updates the published error (and re-raises when the listener
 * opened or closed since: the severity follows it), a success clears.
 */
static void
storage_set(struct agent *ag, int storage, const char *error,
    const char *source, int check_gen, unsigned int gen)
{
	int prev, open;

	pthread_mutex_lock(&ag->storage_lock);
	if (check_gen && atomic_load(&ag->storage_gen) != gen) {
		pthread_mutex_unlock(&ag->storage_lock);
		return;
	}
	prev = atomic_load(&ag->storage);
	if (storage != prev) {
		atomic_store(&ag->storage, storage);
		atomic_fetch_add(&ag->storage_gen, 1);
	}
	pub_set_storage(&ag->pub, storage, error);
	if (storage == AGENT_STORAGE_OK) {
		if (ag->storage_raised != AGENT_STORAGE_OK) {
			storage_clear(ag, storage_alarm_id(ag->storage_raised),
			    "the database can be written again", source,
			    ag->storage_unrecorded);
			log_info("database %s can be written again (%s)",
			    ag->cfg.database, source);
		}
		if (ag->storage_stale) {
			/* An alarm of a previous run that ended while it
			 * held: sent only when its state file is there. */
			storage_clear(ag, ALARM_STORAGE_FULL, "the database can be"
			    " written again", source, 0);
			storage_clear(ag, ALARM_STORAGE_IO, "the database can be"
			    " written again", source, 0);
		}
		ag->storage_raised = AGENT_STORAGE_OK;
		ag->storage_unrecorded = 0;
	} else {
		pthread_mutex_lock(&ag->pub.lock);
		open = ag->pub.listener_open;
		pthread_mutex_unlock(&ag->pub.lock);
		if (ag->storage_raised != AGENT_STORAGE_OK &&
		    ag->storage_raised != storage) {
			storage_clear(ag, storage_alarm_id(ag->storage_raised),
			    storage == AGENT_STORAGE_FULL ? "the write error"
			    " became a full disk" : "the full disk became a"
			    " write error", source, ag->storage_unrecorded);
			ag->storage_raised = AGENT_STORAGE_OK;
		}
		if (ag->storage_stale)
			storage_clear(ag, storage_alarm_id(storage ==
			    AGENT_STORAGE_FULL ? AGENT_STORAGE_ERROR :
			    AGENT_STORAGE_FULL), "no longer the reason the"
			    " database cannot be written", source, 0);
		if (ag->storage_raised != storage ||
		    ag->storage_raised_sev != (open ? ALARM_CRITICAL :
		    ALARM_MAJOR))
			storage_raise(ag, storage, error, source, open);
	}
	ag->storage_stale = 0;
	pthread_mutex_unlock(&ag->storage_lock);
}

void
agent_storage_init(struct agent *ag)
{
	pthread_mutex_init(&ag->storage_lock, NULL);
	atomic_store(&ag->storage, AGENT_STORAGE_OK);
	atomic_store(&ag->storage_gen, 0);
	/* The first tick probes: it finds a disk that was full before the
	 * start, and clears what a previous run left raised. */
	atomic_store(&ag->storage_probe_asked, 1);
	ag->storage_next_probe = 0;
	ag->storage_raised = AGENT_STORAGE_OK;
	ag->storage_raised_sev = ALARM_MAJOR;
	ag->storage_unrecorded = 0;
	ag->storage_stale = 1;
}

enum store_status
agent_store_apply(struct agent *ag, const struct store_change *changes,
    size_t n, struct store_change_result *results, size_t *failed,
    char *err)
{
	enum store_status s;

	s = store_apply(ag->writer, changes, n, results, failed, err);
	switch (s) {
	case STORE_OK:
		/* The fast path reads one atomic: no lock per write. */
		if (n > 0 && atomic_load(&ag->storage) != AGENT_STORAGE_OK)
			storage_set(ag, AGENT_STORAGE_OK, NULL, "write", 0, 0);
		break;
	case STORE_EFULL:
		storage_set(ag, AGENT_STORAGE_FULL, err, "write", 0, 0);
		break;
	case STORE_EIO:
		storage_set(ag, AGENT_STORAGE_ERROR, err, "write", 0, 0);
		break;
	default:
		break;	/* the request's fault, or a lock: not the disk's */
	}
	return s;
}

void
agent_storage_suspect(struct agent *ag)
{
	atomic_store(&ag->storage_probe_asked, 1);
}

/* Write, fsync and drop AGENT_STORAGE_PROBE_BYTES in dir: an unnamed
 * O_TMPFILE where the filesystem has it (nothing is left behind by a
 * crash), else probe_path, which the next probe truncates and removes. */
static int
probe_file(const char *dir, const char *probe_path, char *err)
{
	static const char zeros[8192];
	const char *what = "create";
	size_t left = AGENT_STORAGE_PROBE_BYTES, chunk;
	ssize_t w;
	int fd, named = 0, ret = -1, saved;

	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL)) {
		named = 1;
		fd = open(probe_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
	}
	if (fd == -1)
		goto fail;
	what = "write";
	while (left > 0) {
		chunk = left < sizeof(zeros) ? left : sizeof(zeros);
		if ((w = write(fd, zeros, chunk)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		left -= (size_t)w;
	}
	what = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	ret = 0;
fail:
	saved = errno;
	if (ret == -1)
		errf_errno(err, "probe: %s %d KiB in %s", what,
		    AGENT_STORAGE_PROBE_BYTES / 1024, dir);
	if (fd != -1)
		close(fd);
	if (named)
		unlink(probe_path);
	errno = saved;		/* the caller tells ENOSPC from the rest */
	return ret;
}

/* One real commit that leaves the data as it was: the identity row's
 * schema_version up and back in one transaction (a same-value update
 * would not reach the disk: SQLite skips unchanged cells). */
static int
probe_commit(struct agent *ag, char *err)
{
	enum store_status s;
	char *msg = NULL;
	sqlite3 *db;
	int rc, ret;

	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		return -2;	/* stopping: no verdict */
	}
	db = store_handle(ag->writer);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE;"
	    " UPDATE database_identity SET schema_version = schema_version + 1"
	    " WHERE id = 1;"
	    " UPDATE database_identity SET schema_version = schema_version - 1"
	    " WHERE id = 1;"
	    " COMMIT", NULL, NULL, &msg);
	if (rc == SQLITE_OK) {
		ret = AGENT_STORAGE_OK;
	} else {
		s = store_sqlite_error(ag->writer, rc, "probe: commit", err);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		ret = s == STORE_EFULL ? AGENT_STORAGE_FULL : s == STORE_EBUSY ?
		    -2 : AGENT_STORAGE_ERROR;
	}
	sqlite3_free(msg);
	pthread_mutex_unlock(&ag->writer_lock);
	return ret;
}

/* The probe's verdict: enum agent_storage, or -2 for none (locked). */
static int
storage_probe(struct agent *ag, char *err)
{
	char dir[PATH_MAX], probe_path[PATH_MAX + 16];
	const char *slash;

	/* cfg.database never changes after start: no cfg_lock needed. */
	strlcpy_(dir, ag->cfg.database, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy_(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		dir[slash - dir] = '\0';
	snprintf(probe_path, sizeof(probe_path), "%s.space-probe",
	    ag->cfg.database);
	if (probe_file(dir, probe_path, err) == -1) {
		if (errno == ENOSPC || errno == EDQUOT)
			return AGENT_STORAGE_FULL;
		/* A directory the agent may not create files in says
		 * nothing about the database: the commit decides. */
		if (errno != EACCES && errno != EPERM)
			return AGENT_STORAGE_ERROR;
	}
	return probe_commit(ag, err);
}

void
agent_storage_tick(struct agent *ag)
{
	char err[ENUMDR_ERRLEN];
	unsigned int gen;
	int64_t now = util_now_ms();
	int asked, verdict;

	asked = atomic_exchange(&ag->storage_probe_asked, 0);
	if (atomic_load(&ag->storage) == AGENT_STORAGE_OK && !asked)
		return;
	if (!asked && now < ag->storage_next_probe)
		return;
	ag->storage_next_probe = now + AGENT_STORAGE_PROBE_MS;
	gen = atomic_load(&ag->storage_gen);
	err[0] = '\0';
	if ((verdict = storage_probe(ag, err)) == -2)
		return;
	storage_set(ag, verdict, err, "probe", 1, gen);
}
