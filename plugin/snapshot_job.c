/*
 * snapshot_job.c — the periodic snapshot (S0.1 "a timed job backs up the
 * main tables to a fixed directory ... and a transfer job copies them to
 * the standby's fixed directory"; S1.2 first sync): every
 * agent.snapshot_interval_s, and whenever the control socket asks
 * (`snapshot`, used at stand-down, S0.7), export the database and its
 * serial file into snapshot_dir and push both to every peer's transfer_url,
 * the database first and the serial file last (the serial file names the
 * database's checksum, so a peer never accepts a database that its serial
 * file does not describe).
 *
 * The export runs under the writer lock: the agent is the only writer, so
 * the backup API copies a consistent database and never restarts.  When
 * nothing changed since the files in snapshot_dir were written (same
 * database, journal position and zone serials) the export is skipped and
 * the existing files are pushed.  Pushes run outside every lock.
 *
 * A `snapshot` request (struct snapjob_request) waits for the next run and
 * gets that run's result; the control server answers its client from it.
 *
 * Alarms: SNAPSHOT_EXPORT (major) when the export fails, SNAPSHOT_PUSH
 * (major, figures peer, url, error) when a push fails; a push failure is
 * retried within min(interval, 30 s); the next complete success clears
 * the alarm.  A failed export also asks the storage probe (agent_state.c)
 * to look at the database's disk: when that is full too, STORAGE_FULL is
 * raised and the heartbeat says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alarm_ids.h"
#include "agent.h"
#include "log.h"
#include "transfer.h"
#include "util.h"

#define NEVER INT64_MAX

/* What one run needs from the configuration, copied under cfg_lock. */
struct snap_cfg {
	char room[CONFIG_NAME_MAX];
	char snapshot_dir[PATH_MAX];
	int interval_s;
	long connect_ms, transfer_ms;
	char ssh_private_key[PATH_MAX];
	char ssh_public_key[PATH_MAX];
	char ssh_known_hosts[PATH_MAX];
	size_t npeers;
	struct config_peer peers[CONFIG_MAX_PEERS];
	struct alarm_ctx alarms;
};

static void
snap_cfg_copy(struct agent *ag, struct snap_cfg *sc)
{
	pthread_mutex_lock(&ag->cfg_lock);
	strlcpy_(sc->room, ag->cfg.room, sizeof(sc->room));
	strlcpy_(sc->snapshot_dir, ag->cfg.snapshot_dir,
	    sizeof(sc->snapshot_dir));
	sc->interval_s = ag->cfg.snapshot_interval_s;
	sc->connect_ms = ag->cfg.connect_timeout_ms;
	sc->transfer_ms = ag->cfg.transfer_timeout_ms;
	strlcpy_(sc->ssh_private_key, ag->cfg.ssh_private_key,
	    sizeof(sc->ssh_private_key));
	strlcpy_(sc->ssh_public_key, ag->cfg.ssh_public_key,
	    sizeof(sc->ssh_public_key));
	strlcpy_(sc->ssh_known_hosts, ag->cfg.ssh_known_hosts,
	    sizeof(sc->ssh_known_hosts));
	sc->npeers = ag->cfg.npeers;
	memcpy(sc->peers, ag->cfg.peers, sizeof(sc->peers));
	sc->alarms = ag->alarms;
	pthread_mutex_unlock(&ag->cfg_lock);
}

static int
interval_now(struct agent *ag)
{
	int s;

	pthread_mutex_lock(&ag->cfg_lock);
	s = ag->cfg.snapshot_interval_s;
	pthread_mutex_unlock(&ag->cfg_lock);
	return s;
}

/* Do the files in dir already describe this database state? */
static int
export_current(struct store *st, const char *dir, const char *room,
    struct serial_file *sf)
{
	struct pub_zone *zones = NULL;
	char path[PATH_MAX], err[ENUMDR_ERRLEN], uuid[64];
	struct stat sb;
	int64_t journal;
	size_t n, i;
	int same = 0;

	memset(sf, 0, sizeof(*sf));
	if (util_path_join(path, sizeof(path), dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 || serial_file_read(path, sf, err) == -1)
		return 0;
	if (util_path_join(path, sizeof(path), dir, SNAPSHOT_DB_NAME,
	    err) == -1 || stat(path, &sb) == -1 ||
	    (uint64_t)sb.st_size != sf->snapshot_size)
		goto done;
	if (strcmp(sf->room, room) != 0 ||
	    store_identity(st, uuid, sizeof(uuid), err) != STORE_OK ||
	    strcmp(uuid, sf->database_uuid) != 0)
		goto done;
	if (agent_read_zones(st, &zones, &n, &journal, err) == -1 ||
	    journal != sf->journal_pos || n != sf->nzones)
		goto done;
	for (i = 0; i < n; i++)
		if (strcmp(zones[i].origin, sf->zones[i].origin) != 0 ||
		    zones[i].serial != sf->zones[i].serial)
			goto done;
	same = 1;
done:
	free(zones);
	if (!same)
		serial_file_free(sf);
	return same;
}

/* Export under the writer lock; 0 and sf filled, or -1 and err. */
static int
snap_export(struct agent *ag, const struct snap_cfg *sc, struct serial_file *sf,
    int *exported, char *err)
{
	int ret;

	*exported = 0;
	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		errf(err, "agent stopping");
		return -1;
	}
	if (export_current(ag->writer, sc->snapshot_dir, sc->room, sf)) {
		pthread_mutex_unlock(&ag->writer_lock);
		return 0;
	}
	pthread_mutex_lock(&ag->snapfiles_lock);
	ret = snapshot_export(ag->writer, sc->snapshot_dir, sc->room, sf, err);
	pthread_mutex_unlock(&ag->snapfiles_lock);
	pthread_mutex_unlock(&ag->writer_lock);
	if (ret == 0)
		*exported = 1;
	return ret;
}

/* Push both files to one peer: database first, serial file last. */
static int
snap_push(const struct snap_cfg *sc, const struct config_peer *p,
    char *url_out, size_t url_outlen, char *err)
{
	static const char *const names[] = { SNAPSHOT_DB_NAME,
	    SNAPSHOT_SERIALS_NAME };
	struct transfer_opts o;
	char local[PATH_MAX], url[CONFIG_URL_MAX + 64];
	size_t i;

	memset(&o, 0, sizeof(o));
	o.connect_timeout_ms = sc->connect_ms;
	o.total_timeout_ms = sc->transfer_ms;
	o.ssh_private_key = sc->ssh_private_key;
	o.ssh_public_key = sc->ssh_public_key;
	o.ssh_known_hosts = sc->ssh_known_hosts;
	strlcpy_(url_out, p->transfer_url, url_outlen);
	for (i = 0; i < 2; i++) {
		if (util_path_join(local, sizeof(local), sc->snapshot_dir,
		    names[i], err) == -1 ||
		    transfer_url_join(url, sizeof(url), p->transfer_url,
		    names[i], err) == -1)
			return -1;
		strlcpy_(url_out, url, url_outlen);
		if (transfer_put(local, url, &o, err) == -1)
			return -1;
	}
	strlcpy_(url_out, p->transfer_url, url_outlen);
	return 0;
}

/* What one run's pushes gave. */
struct push_outcome {
	size_t npushed;                   /* peers with a transfer_url */
	size_t nfail;                     /* of those, failed */
	char failed[256];                 /* the failed peers' names */
	char first_peer[CONFIG_NAME_MAX]; /* the first failure's */
	char first_url[CONFIG_URL_MAX + 64];
	char first_err[ENUMDR_ERRLEN];
};

/* A run's export (or the files already there) and its alarm: 0 and sf,
 * or -1 and err. */
static int
snap_export_step(struct agent *ag, struct snap_cfg *sc, struct serial_file *sf,
    int *exported, char *err)
{
	char aerr[ENUMDR_ERRLEN];
	int64_t t0 = util_now_ms();

	if (snap_export(ag, sc, sf, exported, err) == -1) {
		const char *fig[] = { "dir", sc->snapshot_dir, "error", err,
		    NULL };

		log_warnx("snapshot: export into %s failed: %s",
		    sc->snapshot_dir, err);
		/* A full disk (ENOSPC, SQLITE_FULL) may be the database's
		 * too: the storage probe looks (STORAGE_FULL). */
		agent_storage_suspect(ag);
		if (alarm_raise(&sc->alarms, ALARM_SNAPSHOT_EXPORT, ALARM_MAJOR,
		    "periodic snapshot export failed", fig, aerr) == -1)
			log_warnx("alarm SNAPSHOT_EXPORT: %s", aerr);
		agent_refresh_alarms(ag);
		return -1;
	}
	if (alarm_clear(&sc->alarms, ALARM_SNAPSHOT_EXPORT, "snapshot exported",
	    NULL, aerr) == -1)
		log_warnx("alarm SNAPSHOT_EXPORT: %s", aerr);
	pub_set_snapshot(&ag->pub, sf);
	if (*exported)
		log_info("snapshot: exported journal %lld, %zu zones, %llu"
		    " bytes into %s in %lld ms", (long long)sf->journal_pos,
		    sf->nzones, (unsigned long long)sf->snapshot_size,
		    sc->snapshot_dir, (long long)(util_now_ms() - t0));
	return 0;
}

/* Push to every peer that has a transfer_url: the reply's "pushed" array,
 * and po. */
static json_t *
snap_push_all(const struct snap_cfg *sc, const struct serial_file *sf,
    struct push_outcome *po)
{
	char err[ENUMDR_ERRLEN], url[CONFIG_URL_MAX + 64];
	json_t *pushed;
	size_t i;

	memset(po, 0, sizeof(*po));
	pushed = json_array();
	for (i = 0; i < sc->npeers; i++) {
		const struct config_peer *p = &sc->peers[i];
		int64_t t1 = util_now_ms();

		if (p->transfer_url[0] == '\0')
			continue;
		po->npushed++;
		if (snap_push(sc, p, url, sizeof(url), err) == 0) {
			log_info("snapshot: pushed journal %lld to peer %s (%s)"
			    " in %lld ms", (long long)sf->journal_pos, p->name,
			    p->transfer_url, (long long)(util_now_ms() - t1));
			json_array_append_new(pushed, json_pack("{s:s,s:s,s:b}",
			    "peer", p->name, "url", p->transfer_url, "ok", 1));
			continue;
		}
		log_warnx("snapshot: push to peer %s failed: %s", p->name, err);
		json_array_append_new(pushed, json_pack("{s:s,s:s,s:b,s:s}",
		    "peer", p->name, "url", p->transfer_url, "ok", 0, "error",
		    err));
		if (po->nfail++ == 0) {
			strlcpy_(po->first_err, err, sizeof(po->first_err));
			strlcpy_(po->first_url, url, sizeof(po->first_url));
			strlcpy_(po->first_peer, p->name,
			    sizeof(po->first_peer));
		}
		snprintf(po->failed + strlen(po->failed), sizeof(po->failed) -
		    strlen(po->failed), "%s%s", po->nfail > 1 ? "," : "",
		    p->name);
	}
	return pushed;
}

/* SNAPSHOT_PUSH after the pushes: raised when the set of failed peers
 * changes (failed_set: the one last raised), cleared when every peer took
 * it; and the published push state. */
static void
snap_push_alarm(struct agent *ag, struct snap_cfg *sc,
    const struct serial_file *sf, const struct push_outcome *po,
    char *failed_set, size_t failed_setlen)
{
	char aerr[ENUMDR_ERRLEN];

	if (po->nfail > 0) {
		char what[320], counts[48];
		const char *fig[] = { "peer", po->first_peer, "url",
		    po->first_url, "error", po->first_err, "failed", po->failed,
		    "pushed", counts, NULL };

		snprintf(counts, sizeof(counts), "%zu/%zu",
		    po->npushed - po->nfail, po->npushed);
		snprintf(what, sizeof(what), "snapshot push to peer%s %s"
		    " failed", po->nfail > 1 ? "s" : "", po->failed);
		/* One alarm line per new condition, not one per retry. */
		if (strcmp(failed_set, po->failed) != 0) {
			if (alarm_raise(&sc->alarms, ALARM_SNAPSHOT_PUSH,
			    ALARM_MAJOR, what, fig, aerr) == -1)
				log_warnx("alarm SNAPSHOT_PUSH: %s", aerr);
			strlcpy_(failed_set, po->failed, failed_setlen);
		}
		pub_set_push(&ag->pub, 0, po->first_err);
	} else {
		char jpos[32];
		const char *fig[] = { "journal", jpos, NULL };

		snprintf(jpos, sizeof(jpos), "%lld",
		    (long long)sf->journal_pos);
		if (alarm_clear(&sc->alarms, ALARM_SNAPSHOT_PUSH,
		    "snapshot pushed to every peer", fig, aerr) == -1)
			log_warnx("alarm SNAPSHOT_PUSH: %s", aerr);
		failed_set[0] = '\0';
		if (po->npushed > 0)
			pub_set_push(&ag->pub, 1, NULL);
	}
}

/* One export + push; the result for the waiting requests. */
static json_t *
snap_run(struct agent *ag, int *okp, char *failed_set, size_t failed_setlen)
{
	struct snap_cfg *sc;
	struct serial_file sf;
	struct push_outcome po;
	char err[ENUMDR_ERRLEN];
	json_t *reply, *pushed;
	int exported;

	*okp = 0;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return json_pack("{s:b,s:s}", "ok", 0, "error",
		    "out of memory");
	snap_cfg_copy(ag, sc);
	memset(&sf, 0, sizeof(sf));
	if (snap_export_step(ag, sc, &sf, &exported, err) == -1) {
		reply = json_pack("{s:b,s:s,s:s}", "ok", 0, "step", "export",
		    "error", err);
		free(sc);
		return reply;
	}
	pushed = snap_push_all(sc, &sf, &po);
	snap_push_alarm(ag, sc, &sf, &po, failed_set, failed_setlen);
	agent_refresh_alarms(ag);
	*okp = po.nfail == 0;
	reply = json_pack("{s:b,s:s,s:{s:s,s:I,s:I,s:s,s:b},s:o}",
	    "ok", po.nfail == 0, "room", sc->room,
	    "snapshot", "created", sf.created_at, "journal",
	    (json_int_t)sf.journal_pos, "size", (json_int_t)sf.snapshot_size,
	    "sha256", sf.snapshot_sha256, "exported", exported,
	    "pushed", pushed);
	if (reply != NULL && po.nfail > 0)
		json_object_set_new(reply, "error", json_string(po.first_err));
	serial_file_free(&sf);
	free(sc);
	return reply;
}

/* When the next run is due (monotonic ms), or NEVER. */
static int64_t
next_due(int64_t last, int interval_s, int failed)
{
	int64_t retry;

	if (failed) {
		retry = interval_s > 0 && interval_s < AGENT_RETRY_MAX_S ?
		    interval_s : AGENT_RETRY_MAX_S;
		return last + retry * 1000;
	}
	if (interval_s <= 0)
		return NEVER;
	return last + (int64_t)interval_s * 1000;
}

/* Give every request the run's reply, and let its client answer. */
static void
finish(struct snapjob_request **reqs, size_t n, json_t *reply)
{
	size_t i;

	for (i = 0; i < n; i++) {
		reqs[i]->result = json_incref(reply);
		reqs[i]->done(reqs[i]);
	}
	json_decref(reply);
}

/* The requests waiting for a run, taken off the queue. */
static size_t
take_requests(struct agent *ag, struct snapjob_request **reqs)
{
	size_t n;

	pthread_mutex_lock(&ag->snap_lock);
	n = ag->nsnap_waiting;
	memcpy(reqs, ag->snap_waiting, n * sizeof(reqs[0]));
	ag->nsnap_waiting = 0;
	pthread_mutex_unlock(&ag->snap_lock);
	return n;
}

/* The ms until the schedule is looked at again: the next run's due time,
 * at most a minute away. */
static int64_t
schedule_wait(struct agent *ag)
{
	int64_t due, now;

	due = next_due(ag->snap_last, interval_now(ag), ag->snap_failed);
	now = util_now_ms();
	if (due <= now)
		return 0;
	return due - now < 60000 ? due - now : 60000;
}

/* The job's work (job.h), when woken (a request, a reload) or when the
 * schedule said: a run when one is asked for or due. */
static int64_t
snapjob_tick(void *arg)
{
	struct agent *ag = arg;
	struct snapjob_request *reqs[SNAPJOB_WAITING_MAX];
	size_t n;
	json_t *reply;
	int64_t wait_ms;
	int ok;

	if (ag->stopping)
		return JOB_IDLE;	/* snapjob_stop finishes the requests */
	n = take_requests(ag, reqs);
	if (n == 0 && (wait_ms = schedule_wait(ag)) > 0)
		return wait_ms;
	reply = snap_run(ag, &ok, ag->snap_failed_set,
	    sizeof(ag->snap_failed_set));
	finish(reqs, n, reply);
	ag->snap_failed = !ok;
	ag->snap_last = util_now_ms();
	return schedule_wait(ag);
}

int
snapjob_request(struct agent *ag, struct snapjob_request *req,
    const char **why)
{
	pthread_mutex_lock(&ag->snap_lock);
	if (ag->stopping || ag->nsnap_waiting == SNAPJOB_WAITING_MAX) {
		pthread_mutex_unlock(&ag->snap_lock);
		*why = ag->stopping ? "agent stopping" :
		    "too many snapshot requests waiting";
		return -1;
	}
	ag->snap_waiting[ag->nsnap_waiting++] = req;
	pthread_mutex_unlock(&ag->snap_lock);
	job_wake(&ag->snap_job);
	return 0;
}

/* A reload: look at the schedule again (the interval may have changed). */
void
snapjob_wake(struct agent *ag)
{
	job_wake(&ag->snap_job);
}

int
snapjob_start(struct agent *ag, char *err)
{
	ag->snap_last = util_now_ms();
	ag->snap_job.name = "snapshot job";
	ag->snap_job.run = snapjob_tick;
	ag->snap_job.arg = ag;
	ag->snap_job.first_ms = 0;
	return job_start(&ag->snap_job, err);
}

int
snapjob_stop(struct agent *ag, int wait_ms)
{
	struct snapjob_request *reqs[SNAPJOB_WAITING_MAX];
	size_t n;
	int rc;

	/* A push may be inside a transfer timeout: wait a bounded time. */
	rc = job_stop(&ag->snap_job, wait_ms);
	n = take_requests(ag, reqs);
	finish(reqs, n, json_pack("{s:b,s:s}", "ok", 0, "error",
	    "agent stopping"));
	return rc;
}
