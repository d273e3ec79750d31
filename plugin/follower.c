/*
 * follower.c — continuous replication (issue 14, S1.3, S3.1, S0.8;
 * doc/replication.md): one thread per peer follows that peer's change
 * journal over the peer API (a long-poll, lib/peerproto.c) and applies
 * each batch here in one transaction (store_apply_remote: idempotent, per
 * number merge, conflicts kept), then feeds this room's DNS server (the
 * DNS job: hot standby, S1.5).  Every room follows every peer whatever
 * its role, so that rooms that both took changes (a failback, a healed
 * partition) merge as soon as they reach each other.
 *
 * Also here: what waits on replication — synchronous provisioning
 * (repl_confirm, repl_admit), the takeover's catch-up (repl_catchup) —
 * and the alarms REPLICATION_LAG, REPLICATION_GAP, REPLICATION_SYNC and
 * CONFLICT.  The shared state (agent.repl[], under repl_lock, a leaf) is
 * replica.c's; the long-poll of our own journal is peerapi.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alarm_ids.h"
#include "agent.h"
#include "log.h"
#include "peerproto.h"
#include "rowcheck.h"
#include "snapshot.h"
#include "transfer.h"
#include "util.h"

#define FOLLOW_BACKOFF_MIN_MS 200      /* after a failed poll, doubling */
#define FOLLOW_BACKOFF_MAX_MS 2000
#define FOLLOW_GAP_RETRY_MS   5000     /* a gap not healed: look again */
#define FOLLOW_ZONES_MS       5000     /* the peer's zones, asked again */
#define FOLLOW_HEAL_WAIT_MS   2000     /* the peer's snapshot too old to
                                        * heal it: look for its next export
                                        * (its serial file only) */
#define LAG_SAMPLES           4096     /* the lag percentiles' window */

/* One follower's own figures (its thread writes, status reads; under
 * repl_lock like agent.repl[]). */
struct follower {
	struct agent *ag;
	size_t idx;
	int64_t lag[LAG_SAMPLES];
	size_t nlag, lagpos;
	int64_t applied, skipped, conflicts;
	int lag_raised, gap_raised;
};
static struct follower followers[CONFIG_MAX_PEERS];

/* Sleep ms, waking early when the agent stops. */
static void
follow_sleep(struct agent *ag, int ms)
{
	struct timespec ts;

	while (ms > 0 && !atomic_load(&ag->stopping)) {
		int slice = ms < 100 ? ms : 100;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)slice * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		ms -= slice;
	}
}

static void
follow_alarm(struct agent *ag, const char *id, int raise,
    enum alarm_severity sev, const char *what, const char *const *fig)
{
	struct alarm_ctx actx;
	char aerr[ENUMDR_ERRLEN];

	agent_alarm_ctx(ag, &actx);
	if ((raise ? alarm_raise(&actx, id, sev, what, fig, aerr) :
	    alarm_clear(&actx, id, what, fig, aerr)) == -1)
		log_warnx("alarm %s: %s", id, aerr);
}

/* Publish the follower's state (repl_lock taken here). */
static void
follow_publish(struct follower *f, const char *state, const char *uuid,
    int64_t cursor, int64_t peer_last, const char *error)
{
	struct agent *ag = f->ag;
	struct repl_peer *rp = &ag->repl[f->idx];
	char name[CONFIG_NAME_MAX];
	int64_t behind;
	size_t n;

	pthread_mutex_lock(&ag->repl_lock);
	strlcpy_(rp->state, state, sizeof(rp->state));
	if (uuid != NULL)
		strlcpy_(rp->uuid, uuid, sizeof(rp->uuid));
	if (cursor >= 0)
		rp->cursor = cursor;
	if (peer_last >= 0)
		rp->peer_last = peer_last;
	if (strcmp(state, "following") == 0)
		rp->caught_up_ms = util_now_ms();
	strlcpy_(rp->error, error != NULL ? error : "", sizeof(rp->error));
	behind = rp->peer_last > rp->cursor ? rp->peer_last - rp->cursor : 0;
	strlcpy_(name, rp->name, sizeof(name));
	n = ag->nrepl;
	pthread_cond_broadcast(&ag->repl_cond);
	pthread_mutex_unlock(&ag->repl_lock);
	/* The heartbeat says it too: a recovering room's checker keeps
	 * it from the VIP while it catches up (S3.3). */
	pub_set_repl(&ag->pub, f->idx, n, name, state, behind);
}

/* REPLICATION_LAG: raised while the newest change applied from the peer
 * was committed there more than max_lag_ms ago, or the peer's journal
 * is ahead of us and we have not been in step for that long. */
static void
follow_lag_check(struct follower *f, int64_t lag_ms, int in_step)
{
	struct agent *ag = f->ag;
	char lag[32], bound[32], what[256];
	const char *fig[] = { "peer", ag->repl[f->idx].name, "lag_ms", lag,
	    "max_lag_ms", bound, NULL };
	int64_t since, now = util_now_ms(), max;
	int over;

	pthread_mutex_lock(&ag->cfg_lock);
	max = ag->cfg.repl_max_lag_ms;
	pthread_mutex_unlock(&ag->cfg_lock);
	pthread_mutex_lock(&ag->repl_lock);
	since = ag->repl[f->idx].caught_up_ms;
	pthread_mutex_unlock(&ag->repl_lock);
	if (!in_step && since > 0 && now - since > lag_ms)
		lag_ms = now - since;
	over = lag_ms > max;
	snprintf(lag, sizeof(lag), "%lld", (long long)lag_ms);
	snprintf(bound, sizeof(bound), "%lld", (long long)max);
	if (over && !f->lag_raised) {
		snprintf(what, sizeof(what), "replication from room %s is %lld"
		    " ms behind (bound %lld ms)", ag->repl[f->idx].name,
		    (long long)lag_ms, (long long)max);
		follow_alarm(ag, ALARM_REPLICATION_LAG, 1, ALARM_MAJOR, what,
		    fig);
		f->lag_raised = 1;
	} else if (!over && in_step && f->lag_raised) {
		snprintf(what, sizeof(what), "replication from room %s in step"
		    " again", ag->repl[f->idx].name);
		follow_alarm(ag, ALARM_REPLICATION_LAG, 0, ALARM_MAJOR, what,
		    fig);
		f->lag_raised = 0;
	}
}

static void
follow_gap(struct follower *f, const char *why)
{
	struct agent *ag = f->ag;
	const char *fig[] = { "peer", ag->repl[f->idx].name, "error", why,
	    NULL };
	char what[512];

	if (!f->gap_raised) {
		snprintf(what, sizeof(what), "changes of room %s cannot be"
		    " followed from its journal: %s", ag->repl[f->idx].name,
		    why);
		follow_alarm(ag, ALARM_REPLICATION_GAP, 1, ALARM_CRITICAL,
		    what, fig);
		log_warnx("replication from %s: gap: %s", ag->repl[f->idx].name,
		    why);
		f->gap_raised = 1;
	}
	follow_publish(f, "gap", NULL, -1, -1, why);
}

static void
follow_gap_clear(struct follower *f)
{
	struct agent *ag = f->ag;
	const char *fig[] = { "peer", ag->repl[f->idx].name, NULL };

	if (!f->gap_raised)
		return;
	follow_alarm(ag, ALARM_REPLICATION_GAP, 0, ALARM_CRITICAL,
	    "following the peer's journal again", fig);
	f->gap_raised = 0;
}

void
repl_conflicts_alarm(struct agent *ag)
{
	char err[ENUMDR_ERRLEN], count[32], what[256];
	const char *fig[] = { "conflicts", count, NULL };
	enum store_status s;
	int64_t n;

	pthread_mutex_lock(&ag->reader_lock);
	s = store_conflicts_open(ag->reader, &n, err);
	pthread_mutex_unlock(&ag->reader_lock);
	if (s != STORE_OK) {
		log_warnx("counting conflicts: %s", err);
		return;
	}
	snprintf(count, sizeof(count), "%lld", (long long)n);
	if (n > 0) {
		snprintf(what, sizeof(what), "%lld number%s changed in two rooms"
		    " since they last agreed: the newer version is served, the"
		    " other kept; decide with `enumdr conflicts`", (long long)n,
		    n == 1 ? "" : "s");
		follow_alarm(ag, ALARM_CONFLICT, 1, ALARM_CRITICAL, what, fig);
	} else {
		follow_alarm(ag, ALARM_CONFLICT, 0, ALARM_CRITICAL,
		    "every conflict decided", fig);
	}
}

/* The peer's zones that this room lacks are added here, with the peer's
 * serials (its heartbeat lists them): a zone added in one room is served
 * by the other too, before any number of it changes.  Zones are not
 * journaled (doc/replication.md); asked at each (re)connection and every
 * FOLLOW_ZONES_MS. */
static void
follow_zones(struct follower *f, const char *url, int connect_ms)
{
	struct agent *ag = f->ag;
	struct peerproto_heartbeat hb;
	char err[ENUMDR_ERRLEN];
	enum store_status s;
	size_t i, added = 0;

	memset(&hb, 0, sizeof(hb));
	if (peerproto_heartbeat_get(url, connect_ms, 2L * connect_ms, &hb, NULL,
	    err) != PEERPROTO_OK) {
		log_debug("replication from %s: zones: %s",
		    ag->repl[f->idx].name, err);
		peerproto_heartbeat_free(&hb);
		return;
	}
	for (i = 0; i < hb.nzones; i++) {
		pthread_mutex_lock(&ag->writer_lock);
		if (ag->writer == NULL) {
			pthread_mutex_unlock(&ag->writer_lock);
			break;
		}
		s = store_add_zone(ag->writer, hb.zones[i].origin,
		    hb.zones[i].serial, err);
		pthread_mutex_unlock(&ag->writer_lock);
		if (s == STORE_OK) {
			added++;
			log_info("replication from %s: zone %s added (serial"
			    " %u), as the peer has it", ag->repl[f->idx].name,
			    hb.zones[i].origin, (unsigned)hb.zones[i].serial);
		} else if (s != STORE_EEXIST) {
			log_warnx("replication from %s: zone %s: %s",
			    ag->repl[f->idx].name, hb.zones[i].origin, err);
		}
	}
	peerproto_heartbeat_free(&hb);
	if (added > 0) {
		if (agent_refresh(ag, err) == -1)
			log_warnx("replication: %s", err);
		dnsjob_kick(ag);
	}
}

/* Apply one answer's rows: 0 done, -1 failed (published), -2 a gap. */
static int
follow_apply(struct follower *f, const char *uuid,
    const struct peerproto_journal *j, int64_t *cursor)
{
	struct agent *ag = f->ag;
	struct store_remote_result res;
	char err[ENUMDR_ERRLEN];
	enum store_status s;
	int64_t last = j->rows[j->nrows - 1].seq, lag = -1;

	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		return -1;
	}
	s = store_apply_remote(ag->writer, uuid, j->room, last, j->rows,
	    j->nrows, &res, err);
	if (s == STORE_OK && res.nzones > 0)
		pub_commit(&ag->pub, res.zones, res.nzones);
	pthread_mutex_unlock(&ag->writer_lock);
	if (s == STORE_EGAP) {
		follow_gap(f, err);
		return -2;
	}
	if (s != STORE_OK) {
		log_warnx("replication from %s: %s", ag->repl[f->idx].name, err);
		follow_publish(f, "error", NULL, -1, -1, err);
		if (s == STORE_EFULL || s == STORE_EIO)
			agent_storage_suspect(ag);
		return -1;
	}
	if (res.zones_overflow && agent_refresh(ag, err) == -1)
		log_warnx("replication: %s", err);
	if (res.journal_seq > 0)
		repl_committed(ag, res.journal_seq);
	if (res.applied > 0)
		dnsjob_kick(ag);
	if (res.conflicts > 0 || res.decided > 0)
		repl_conflicts_alarm(ag);
	if (res.imports > 0)
		log_warnx("replication from %s: its journal holds %zu zone"
		    " import%s (a snapshot sync there): not changes to apply;"
		    " the numbers they changed reach this room with their next"
		    " change", ag->repl[f->idx].name, res.imports,
		    res.imports == 1 ? "" : "s");
	if (res.conflicts > 0)
		log_warnx("replication from %s: %zu conflict%s (see enumdr"
		    " conflicts)", ag->repl[f->idx].name, res.conflicts,
		    res.conflicts == 1 ? "" : "s");
	if (res.last_hlc > 0) {
		lag = util_wall_ms() - (res.last_hlc >> 16);
		if (lag < 0)
			lag = 0;
	}
	pthread_mutex_lock(&ag->repl_lock);
	f->applied += (int64_t)res.applied;
	f->skipped += (int64_t)res.skipped;
	f->conflicts += (int64_t)res.conflicts;
	if (lag >= 0) {
		f->lag[f->lagpos] = lag;
		f->lagpos = (f->lagpos + 1) % LAG_SAMPLES;
		if (f->nlag < LAG_SAMPLES)
			f->nlag++;
		ag->repl[f->idx].lag_ms = lag;
	}
	pthread_mutex_unlock(&ag->repl_lock);
	log_debug("replication from %s: %zu rows to %lld: %zu applied, %zu"
	    " skipped, %zu conflicts", ag->repl[f->idx].name, j->nrows,
	    (long long)last, res.applied, res.skipped, res.conflicts);
	*cursor = last;
	return 0;
}

/* The downloaded copy is not kept: the merge wrote what it needed. */
static void
heal_cleanup(const char *dir)
{
	const char *names[] = { SNAPSHOT_DB_NAME, SNAPSHOT_SERIALS_NAME,
	    "serials.peek" };
	char path[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
}

/*
 * Heal a gap (doc/replication.md, "Gaps", S1.2): download the peer's
 * latest snapshot (its fetch_url), verify it and merge it here number by
 * number (snapshot_merge): afterwards this room holds what following the
 * whole journal would have brought, and following resumes at the
 * snapshot's journal position.  0 healed (*cursor moved when the
 * snapshot is of database uuid), -1 not (why says it).
 */
static int
follow_heal(struct follower *f, const char *uuid, int64_t need,
    int64_t *cursor, char *why)
{
	struct agent *ag = f->ag;
	struct transfer_opts o;
	struct store_merge_result mr;
	char url[CONFIG_URL_MAX], dir[PATH_MAX], err[ENUMDR_ERRLEN];
	char row[ROWCHECK_ROW_MAX], name[CONFIG_NAME_MAX];
	int rc;

	pthread_mutex_lock(&ag->cfg_lock);
	strlcpy_(url, ag->cfg.peers[f->idx].fetch_url, sizeof(url));
	strlcpy_(name, ag->cfg.peers[f->idx].name, sizeof(name));
	transfer_opts_from_config(&o, &ag->cfg);
	rc = snprintf(dir, sizeof(dir), "%s/heal-%s", ag->cfg.state_dir,
	    name);
	pthread_mutex_unlock(&ag->cfg_lock);
	o.abort_flag = &ag->stopping;
	if (url[0] == '\0') {
		errf(why, "no fetch_url for room %s: heal it with"
		    " enumdr sync --from its snapshot", name);
		return -1;
	}
	if (rc < 0 || (size_t)rc >= sizeof(dir)) {
		errf(why, "state_dir is too long for a download"
		    " directory");
		return -1;
	}
	{
		struct serial_file sf;
		char surl[CONFIG_URL_MAX], spath[PATH_MAX + 16];
		int old;

		memset(&sf, 0, sizeof(sf));
		if (util_mkdir_p(dir, 0700, err) == -1) {
			errf(why, "healing from its snapshot: %s", err);
			return -1;
		}
		snprintf(spath, sizeof(spath), "%s/serials.peek", dir);
		if (transfer_url_join(surl, sizeof(surl), url,
		    SNAPSHOT_SERIALS_NAME, err) == -1 ||
		    transfer_get(surl, spath, &o, err) == -1 ||
		    serial_file_read(spath, &sf, err) == -1) {
			serial_file_free(&sf);
			errf(why, "healing from its snapshot: %s", err);
			return -1;
		}
		old = strcmp(sf.database_uuid, uuid) == 0 &&
		    sf.journal_pos < need;
		if (old)
			errf(why, "its latest snapshot reaches journal position"
			    " %lld, not yet %lld", (long long)sf.journal_pos,
			    (long long)need);
		serial_file_free(&sf);
		if (old)
			return 1;
	}
	log_info("replication from %s: healing the gap from its snapshot",
	    name);
	if (snapshot_fetch(url, dir, &o, err) == -1) {
		errf(why, "healing from its snapshot: %s", err);
		return -1;
	}
	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		errf(why, "healing from its snapshot: the database"
		    " is closed");
		return -1;
	}
	rc = snapshot_merge(ag->writer, dir, row, sizeof(row), &mr, err);
	if (rc == 0 && mr.r.nzones > 0)
		pub_commit(&ag->pub, mr.r.zones, mr.r.nzones);
	pthread_mutex_unlock(&ag->writer_lock);
	heal_cleanup(dir);
	if (rc != 0) {
		/* REPLICATION_GAP (critical) stays raised; why names the
		 * refused row of an invalid snapshot */
		errf(why, "healing from its snapshot: %s%s%s", err,
		    rc == SNAPSHOT_EINVALID ? "; refused row: " : "",
		    rc == SNAPSHOT_EINVALID ? row : "");
		return -1;
	}
	if ((mr.r.zones_overflow || mr.zones_added > 0) &&
	    agent_refresh(ag, err) == -1)
		log_warnx("replication: %s", err);
	if (mr.r.journal_seq > 0)
		repl_committed(ag, mr.r.journal_seq);
	if (mr.r.applied > 0 || mr.zones_added > 0)
		dnsjob_kick(ag);
	if (mr.r.conflicts > 0)
		repl_conflicts_alarm(ag);
	pthread_mutex_lock(&ag->repl_lock);
	f->applied += (int64_t)mr.r.applied;
	f->conflicts += (int64_t)mr.r.conflicts;
	pthread_mutex_unlock(&ag->repl_lock);
	log_info("replication from %s: merged its snapshot (database %s,"
	    " journal position %lld): %zu versions taken, %zu kept as newer"
	    " here, %zu conflicts, %zu zones added", name, mr.peer_uuid,
	    (long long)mr.peer_position, mr.r.applied, mr.kept,
	    mr.r.conflicts, mr.zones_added);
	if (strcmp(mr.peer_uuid, uuid) == 0 && mr.peer_position > *cursor)
		*cursor = mr.peer_position;
	return 0;
}

static void *
follow_main(void *arg)
{
	struct follower *f = arg;
	struct agent *ag = f->ag;
	struct peerproto_client *client;
	struct peerproto_journal j;
	char url[CONFIG_URL_MAX], name[CONFIG_NAME_MAX], room[CONFIG_NAME_MAX];
	char uuid[STORE_UUID_MAX] = "";
	char err[ENUMDR_ERRLEN], why[512];
	int64_t cursor = -1, c2;
	int connect_ms, wait_ms, batch, backoff = FOLLOW_BACKOFF_MIN_MS;
	int in_step = 0, rc;
	int64_t zones_at = 0;

	if ((client = peerproto_client_new()) == NULL) {
		follow_publish(f, "error", NULL, -1, -1, "out of memory");
		return NULL;
	}
	peerproto_client_abort_on(client, &ag->stopping);
	while (!atomic_load(&ag->stopping)) {
		pthread_mutex_lock(&ag->cfg_lock);
		strlcpy_(url, ag->cfg.peers[f->idx].journal_url, sizeof(url));
		strlcpy_(name, ag->cfg.peers[f->idx].name, sizeof(name));
		strlcpy_(room, ag->cfg.room, sizeof(room));
		connect_ms = ag->cfg.connect_timeout_ms;
		wait_ms = ag->cfg.repl_poll_wait_ms;
		batch = ag->cfg.repl_batch;
		pthread_mutex_unlock(&ag->cfg_lock);
		if (cursor < 0) {
			pthread_mutex_lock(&ag->reader_lock);
			rc = store_peer_cursor_by_room(ag->reader, name, uuid,
			    sizeof(uuid), &cursor, err) == STORE_OK ? 0 : -1;
			pthread_mutex_unlock(&ag->reader_lock);
			if (rc == -1) {
				follow_publish(f, "error", NULL, -1, -1, err);
				cursor = -1;
				follow_sleep(ag, FOLLOW_BACKOFF_MAX_MS);
				continue;
			}
			follow_publish(f, "connecting", uuid, cursor, -1, NULL);
		}
		memset(&j, 0, sizeof(j));
		rc = peerproto_journal_get(client, url, room, cursor, batch,
		    in_step ? wait_ms : 0, connect_ms, &j, err);
		if (atomic_load(&ag->stopping)) {
			peerproto_journal_free(&j);
			break;
		}
		if (rc != PEERPROTO_OK) {
			follow_publish(f, rc == PEERPROTO_EUNREACHABLE ?
			    "connecting" : "error", NULL, -1, -1, err);
			if (in_step)
				log_info("replication from %s: %s", name, err);
			in_step = 0;
			follow_sleep(ag, backoff);
			backoff = backoff * 2 > FOLLOW_BACKOFF_MAX_MS ?
			    FOLLOW_BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = FOLLOW_BACKOFF_MIN_MS;
		if (strcmp(j.database, uuid) != 0) {
			/* Another database answers for the room: our cursor
			 * in its journal (0 when it is new to us). */
			pthread_mutex_lock(&ag->reader_lock);
			rc = store_peer_cursor(ag->reader, j.database, &c2,
			    err) == STORE_OK ? 0 : -1;
			pthread_mutex_unlock(&ag->reader_lock);
			if (uuid[0] != '\0')
				log_warnx("replication from %s: its database"
				    " is now %s (was %s)", name, j.database,
				    uuid);
			strlcpy_(uuid, j.database, sizeof(uuid));
			peerproto_journal_free(&j);
			if (rc == -1) {
				follow_publish(f, "error", uuid, -1, -1, err);
				follow_sleep(ag, FOLLOW_BACKOFF_MAX_MS);
				continue;
			}
			cursor = c2;
			follow_publish(f, "connecting", uuid, cursor, -1, NULL);
			continue;
		}
		if (j.last < cursor) {
			snprintf(why, sizeof(why), "its journal went back from"
			    " %lld to %lld (its database restored from a"
			    " backup?): changes it makes now could be taken"
			    " for ones we have; give it a new database and let"
			    " it heal from a snapshot", (long long)cursor,
			    (long long)j.last);
			peerproto_journal_free(&j);
			in_step = 0;
			follow_gap(f, why);
			follow_sleep(ag, FOLLOW_GAP_RETRY_MS);
			continue;
		}
		if (cursor + 1 < j.first && j.last > cursor) {
			char hwhy[ENUMDR_ERRLEN];

			snprintf(why, sizeof(why), "it keeps its journal from %lld"
			    " on, we have applied it up to %lld",
			    (long long)j.first, (long long)cursor);
			peerproto_journal_free(&j);
			in_step = 0;
			follow_gap(f, why);
			hwhy[0] = '\0';
			rc = follow_heal(f, uuid, j.first - 1, &cursor, hwhy);
			if (rc == 0 && cursor + 1 >= j.first)
				continue;
			if (rc == -1)
				log_warnx("replication from %s: gap not healed:"
				    " %s", name, hwhy);
			else
				log_info("replication from %s: waiting for its"
				    " next snapshot export: %s", name, rc == 1 ?
				    hwhy : "the one merged is older than its"
				    " journal's start");
			follow_sleep(ag, rc == -1 ? FOLLOW_GAP_RETRY_MS :
			    FOLLOW_HEAL_WAIT_MS);
			continue;
		}
		/* at each (re)connection, and now and then: a zone added
		 * there is served here too (zones are not journaled) */
		if (!in_step || util_now_ms() - zones_at >= FOLLOW_ZONES_MS) {
			char hburl[CONFIG_URL_MAX];

			zones_at = util_now_ms();
			pthread_mutex_lock(&ag->cfg_lock);
			strlcpy_(hburl, ag->cfg.peers[f->idx].heartbeat_url,
			    sizeof(hburl));
			pthread_mutex_unlock(&ag->cfg_lock);
			follow_zones(f, hburl, connect_ms);
		}
		if (j.nrows > 0) {
			rc = follow_apply(f, uuid, &j, &cursor);
			if (rc == -2) {
				/* a hole, a merged version, a row from before
				 * schema 2: the snapshot decides */
				char hwhy[ENUMDR_ERRLEN];
				int64_t before = cursor;

				peerproto_journal_free(&j);
				in_step = 0;
				rc = follow_heal(f, uuid, cursor + 1, &cursor,
				    hwhy);
				if (rc == 0 && cursor > before)
					continue;
				if (rc == -1)
					log_warnx("replication from %s: gap not"
					    " healed: %s", name, hwhy);
				/* else a snapshot from before the hole: the
				 * peer's next export is newer */
				follow_sleep(ag, rc == -1 ? FOLLOW_GAP_RETRY_MS :
				    FOLLOW_HEAL_WAIT_MS);
				continue;
			}
			if (rc != 0) {
				peerproto_journal_free(&j);
				in_step = 0;
				follow_sleep(ag, FOLLOW_BACKOFF_MAX_MS);
				continue;
			}
		}
		follow_gap_clear(f);
		in_step = cursor >= j.last;
		follow_publish(f, in_step ? "following" : "catching-up", uuid,
		    cursor, j.last, NULL);
		/* in step and nothing new: no change is waiting, so nothing
		 * lags (the last change's own lag stays in the status) */
		follow_lag_check(f, in_step && j.nrows == 0 ? 0 :
		    ag->repl[f->idx].lag_ms, in_step);
		peerproto_journal_free(&j);
	}
	peerproto_client_free(client);
	return NULL;
}

int
replica_start(struct agent *ag, char *err)
{
	size_t i;
	int rc;

	if (ag->cfg.repl_mode == REPL_OFF) {
		pthread_mutex_lock(&ag->repl_lock);
		for (i = 0; i < ag->nrepl; i++)
			strlcpy_(ag->repl[i].state, "off",
			    sizeof(ag->repl[i].state));
		pthread_mutex_unlock(&ag->repl_lock);
		return 0;
	}
	for (i = 0; i < ag->nrepl; i++) {
		memset(&followers[i], 0, sizeof(followers[i]));
		followers[i].ag = ag;
		followers[i].idx = i;
		if ((rc = pthread_create(&ag->repl_threads[i], NULL,
		    follow_main, &followers[i])) != 0) {
			errno = rc;
			errf_errno(err, "start the follower of %s",
			    ag->repl[i].name);
			ag->repl_started = (int)i;
			return -1;
		}
	}
	ag->repl_started = (int)ag->nrepl;
	return 0;
}

void
replica_stop(struct agent *ag)
{
	int i;

	/* stopping is set: the long-polls end within their timeout. */
	pthread_mutex_lock(&ag->repl_lock);
	pthread_cond_broadcast(&ag->repl_cond);
	pthread_mutex_unlock(&ag->repl_lock);
	for (i = 0; i < ag->repl_started; i++)
		pthread_join(ag->repl_threads[i], NULL);
	ag->repl_started = 0;
}

/* ---- what waits on replication -------------------------------------- */

/* Absolute CLOCK_REALTIME deadline ms from now (repl_cond's clock). */
static void
deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* A standby holds our journal up to pos (repl_lock held). */
static int
confirmed_locked(const struct agent *ag, int64_t pos)
{
	size_t i;

	for (i = 0; i < ag->nrepl; i++)
		if (ag->repl[i].acked_ms > 0 && ag->repl[i].acked >= pos)
			return 1;
	return 0;
}

static void
sync_alarm(struct agent *ag, int raise, const char *what)
{
	const char *fig[] = { "mode", config_repl_mode_name(ag->cfg.repl_mode),
	    NULL };

	follow_alarm(ag, ALARM_REPLICATION_SYNC, raise, ALARM_MAJOR, what, fig);
}

int
repl_admit(struct agent *ag, char *why, size_t whylen)
{
	int degraded;

	if (ag->cfg.repl_mode != REPL_STRICT)
		return 0;
	pthread_mutex_lock(&ag->repl_lock);
	degraded = ag->repl_degraded;
	pthread_mutex_unlock(&ag->repl_lock);
	if (!degraded)
		return 0;
	snprintf(why, whylen, "synchronous replication (strict): no standby"
	    " has confirmed this room's changes in time; changes are refused"
	    " until one is back in step");
	return -1;
}

int
repl_confirm(struct agent *ag, int64_t pos, char *why, size_t whylen)
{
	struct timespec ts;
	int timeout_ms, ok, was;

	if (ag->cfg.repl_mode != REPL_SYNC && ag->cfg.repl_mode != REPL_STRICT)
		return 0;
	pthread_mutex_lock(&ag->cfg_lock);
	timeout_ms = ag->cfg.repl_sync_timeout_ms;
	pthread_mutex_unlock(&ag->cfg_lock);
	pthread_mutex_lock(&ag->repl_lock);
	if (ag->repl_degraded && ag->cfg.repl_mode == REPL_SYNC) {
		/* Fallen back: asynchronous until a standby is in step. */
		pthread_mutex_unlock(&ag->repl_lock);
		return 0;
	}
	deadline(&ts, timeout_ms);
	while (!(ok = confirmed_locked(ag, pos)) &&
	    !atomic_load(&ag->stopping))
		if (pthread_cond_timedwait(&ag->repl_cond, &ag->repl_lock,
		    &ts) == ETIMEDOUT) {
			ok = confirmed_locked(ag, pos);
			break;
		}
	was = ag->repl_degraded;
	if (!ok)
		ag->repl_degraded = 1;
	pthread_mutex_unlock(&ag->repl_lock);
	if (ok)
		return 0;
	if (!was) {
		char what[256];

		snprintf(what, sizeof(what), "no standby confirmed journal"
		    " position %lld within %d ms: %s", (long long)pos,
		    timeout_ms, ag->cfg.repl_mode == REPL_STRICT ?
		    "changes are refused (strict)" :
		    "provisioning goes on asynchronously");
		sync_alarm(ag, 1, what);
		log_warnx("synchronous replication: %s", what);
	}
	snprintf(why, whylen, "committed in room %s at journal position %lld"
	    " but no standby confirmed it within %d ms", ag->cfg.room,
	    (long long)pos, timeout_ms);
	return ag->cfg.repl_mode == REPL_STRICT ? -1 : 0;
}

/* From repl_note_ack's caller side: a standby back in step ends the
 * fallback.  Called by the long-poll handler after repl_note_ack. */
void
repl_ack_check(struct agent *ag)
{
	int clear = 0;

	pthread_mutex_lock(&ag->repl_lock);
	if (ag->repl_degraded && confirmed_locked(ag, ag->repl_journal)) {
		ag->repl_degraded = 0;
		clear = 1;
	}
	pthread_mutex_unlock(&ag->repl_lock);
	if (clear) {
		sync_alarm(ag, 0, "a standby is in step again: synchronous"
		    " replication resumes");
		log_info("synchronous replication: a standby is in step again");
	}
}

int
repl_catchup(struct agent *ag, const char *room, int64_t pos, int wait_ms,
    char *why, size_t whylen)
{
	struct timespec ts;
	struct repl_peer *rp = NULL;
	size_t i;
	int rc = -1;

	if (ag->cfg.repl_mode == REPL_OFF) {
		snprintf(why, whylen, "replication is off");
		return -1;
	}
	pthread_mutex_lock(&ag->repl_lock);
	for (i = 0; i < ag->nrepl; i++)
		if (strcmp(ag->repl[i].name, room) == 0)
			rp = &ag->repl[i];
	if (rp == NULL) {
		pthread_mutex_unlock(&ag->repl_lock);
		snprintf(why, whylen, "no peer %s", room);
		return -1;
	}
	deadline(&ts, wait_ms);
	for (;;) {
		if (rp->uuid[0] != '\0' && rp->cursor >= pos &&
		    strcmp(rp->state, "gap") != 0) {
			rc = 0;
			break;
		}
		if (strcmp(rp->state, "gap") == 0) {
			snprintf(why, whylen, "gap in the journal of %s: %s",
			    room, rp->error);
			break;
		}
		if (atomic_load(&ag->stopping)) {
			snprintf(why, whylen, "the agent stops");
			break;
		}
		if (pthread_cond_timedwait(&ag->repl_cond, &ag->repl_lock,
		    &ts) == ETIMEDOUT) {
			snprintf(why, whylen, "after %d ms at position %lld of"
			    " %s's journal, not %lld (%s%s%s)", wait_ms,
			    (long long)rp->cursor, room, (long long)pos,
			    rp->state, rp->error[0] ? ": " : "", rp->error);
			break;
		}
	}
	pthread_mutex_unlock(&ag->repl_lock);
	return rc;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

json_t *
repl_status_json(struct agent *ag)
{
	static int64_t sorted[LAG_SAMPLES];
	static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
	json_t *o, *peers, *p;
	int64_t now = util_now_ms();
	size_t i, n;

	peers = json_array();
	o = json_pack("{s:s,s:b,s:I,s:o}", "mode",
	    config_repl_mode_name(ag->cfg.repl_mode), "degraded",
	    ag->repl_degraded, "journal", (json_int_t)0, "peers", peers);
	if (o == NULL)
		return NULL;
	pthread_mutex_lock(&sort_lock);
	pthread_mutex_lock(&ag->repl_lock);
	json_object_set_new(o, "degraded", json_boolean(ag->repl_degraded));
	json_object_set_new(o, "journal", json_integer(ag->repl_journal));
	for (i = 0; i < ag->nrepl; i++) {
		const struct repl_peer *rp = &ag->repl[i];
		const struct follower *f = &followers[i];
		int64_t p50 = -1, p99 = -1, behind;

		n = f->ag == ag ? f->nlag : 0;
		if (n > 0) {
			memcpy(sorted, f->lag, n * sizeof(*sorted));
			qsort(sorted, n, sizeof(*sorted), cmp_i64);
			p50 = sorted[(n - 1) / 2];
			p99 = sorted[(n - 1) * 99 / 100];
		}
		behind = rp->peer_last > rp->cursor ? rp->peer_last -
		    rp->cursor : 0;
		p = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "name",
		    rp->name, "state", rp->state[0] ? rp->state : "off",
		    "cursor", (json_int_t)rp->cursor, "peer_journal",
		    (json_int_t)rp->peer_last, "behind", (json_int_t)behind,
		    "lag_ms", (json_int_t)rp->lag_ms, "acked",
		    (json_int_t)rp->acked, "acked_age_ms", (json_int_t)
		    (rp->acked_ms > 0 ? now - rp->acked_ms : -1));
		if (p == NULL)
			continue;
		json_object_set_new(p, "uuid", rp->uuid[0] ?
		    json_string(rp->uuid) : json_null());
		json_object_set_new(p, "lag_p50_ms", p50 >= 0 ?
		    json_integer(p50) : json_null());
		json_object_set_new(p, "lag_p99_ms", p99 >= 0 ?
		    json_integer(p99) : json_null());
		json_object_set_new(p, "lag_samples", json_integer((json_int_t)n));
		json_object_set_new(p, "applied", json_integer(f->applied));
		json_object_set_new(p, "skipped", json_integer(f->skipped));
		json_object_set_new(p, "conflicts", json_integer(f->conflicts));
		json_object_set_new(p, "error", rp->error[0] ?
		    json_string(rp->error) : json_null());
		json_array_append_new(peers, p);
	}
	pthread_mutex_unlock(&ag->repl_lock);
	pthread_mutex_unlock(&sort_lock);
	return o;
}
