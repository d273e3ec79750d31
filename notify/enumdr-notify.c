/*
 * enumdr-notify — what keepalived runs on every VRRP transition.
 *
 *   -> MASTER (S0.6; failback S0.7, S4.3): tell the agent MASTER-LOADING;
 *      serial-compare sync (S0.2) against every peer: wait for a peer that
 *      still has its listener open to stand down, take its newest snapshot,
 *      ask its journal position (S0.7: alarm and continue on failure),
 *      import when the peer is newer; then the load steps in order
 *      (foreground, background — S0.6); then open the provisioning listener
 *      and tell the agent MASTER.  Every step has a timeout; any failure
 *      raises an alarm naming the step, leaves the listener closed and sets
 *      the role MASTER-FAILED, which enumdr-check-service reports unhealthy
 *      so keepalived can move the VIP on.  Success clears earlier alarms.
 *   -> BACKUP / FAULT / STOP (S0.7 first half): close the listener first,
 *      set the role, then export and push a snapshot to the peers.
 *
 * Two ways to be run (doc/enumdr-notify.md):
 *   enumdr-notify [-c CONFIG] --fifo FIFO    keepalived's notify_fifo_script:
 *       events arrive in order on the FIFO; before acting, and between
 *       the steps of a takeover, pending lines are read and the latest
 *       state wins — a MASTER followed by a BACKUP never opens the listener.
 *   enumdr-notify [-c CONFIG] TYPE NAME STATE [PRIORITY]   notify / notify_*:
 *       runs are serialised by a lock in STATE_DIR; each run records its
 *       event first, and a takeover gives up as soon as a newer event has
 *       been recorded.  keepalived does not promise the order of separate
 *       notify runs, so the FIFO is the recommended way.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "alarm.h"
#include "config.h"
#include "control.h"
#include "exitcodes.h"
#include "load.h"
#include "log.h"
#include "snapshot.h"
#include "store.h"
#include "sync.h"
#include "transfer.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/enumdr/enumdr.yaml"
#define LINE_MAX_LEN 512

enum vrrp_state { ST_NONE, ST_MASTER, ST_BACKUP, ST_FAULT, ST_STOP };

struct event {
	char type[16];          /* INSTANCE or GROUP */
	char name[128];
	enum vrrp_state state;
	int priority;
};

struct notify {
	struct config cfg;
	struct alarm_ctx alarms;
	const char *instance;   /* --instance filter, NULL = any */
	int fifo_fd;            /* FIFO mode: the FIFO; -1 otherwise */
	struct event pending;   /* FIFO mode: a newer event read mid-sequence */
	int have_pending;
	char gen_path[PATH_MAX];/* args mode: the event generation file */
	long generation;        /* args mode: our event's generation */
};

static volatile sig_atomic_t stopping;

static const char *
state_name(enum vrrp_state s)
{
	switch (s) {
	case ST_MASTER: return "MASTER";
	case ST_BACKUP: return "BACKUP";
	case ST_FAULT: return "FAULT";
	case ST_STOP: return "STOP";
	default: return "NONE";
	}
}

static enum vrrp_state
state_from(const char *s)
{
	if (strcmp(s, "MASTER") == 0) return ST_MASTER;
	if (strcmp(s, "BACKUP") == 0) return ST_BACKUP;
	if (strcmp(s, "FAULT") == 0) return ST_FAULT;
	if (strcmp(s, "STOP") == 0 || strcmp(s, "DELETED") == 0) return ST_STOP;
	return ST_NONE;
}

static void
usage(FILE *out)
{
	fprintf(out,
"usage: enumdr-notify [-c CONFIG] [--instance NAME] --fifo FIFO\n"
"       enumdr-notify [-c CONFIG] TYPE NAME STATE [PRIORITY]\n"
"\n"
"  TYPE      INSTANCE or GROUP (keepalived's notify arguments)\n"
"  STATE     MASTER, BACKUP, FAULT or STOP\n"
"  --fifo    read keepalived's notify FIFO (notify_fifo_script; keepalived\n"
"            appends the FIFO name), lines like: INSTANCE \"VI_1\" MASTER 100\n"
"\n"
"Exit codes: 0 done, 1 a transition step failed (alarm raised), 64 usage,\n"
"78 configuration error.  Messages go to syslog (keepalived discards output).\n");
}

/* ---- events ------------------------------------------------------------ */

/* Parse a notify FIFO line: TYPE "NAME" STATE [PRIORITY].  0 when it is a
 * state event for us; 1 when it is to be ignored; -1 when malformed. */
static int
parse_fifo_line(const char *line, struct event *ev)
{
	char state[32];
	const char *p = line, *q;
	size_t n;

	memset(ev, 0, sizeof(*ev));
	q = strchr(p, ' ');
	if (q == NULL || (size_t)(q - p) >= sizeof(ev->type))
		return -1;
	memcpy(ev->type, p, (size_t)(q - p));
	p = q + 1;
	if (*p == '"') {
		q = strchr(p + 1, '"');
		if (q == NULL)
			return -1;
		n = (size_t)(q - p - 1);
		if (n >= sizeof(ev->name))
			return -1;
		memcpy(ev->name, p + 1, n);
		p = q + 1;
	} else {
		q = strchr(p, ' ');
		if (q == NULL || (size_t)(q - p) >= sizeof(ev->name))
			return -1;
		memcpy(ev->name, p, (size_t)(q - p));
		p = q;
	}
	while (*p == ' ')
		p++;
	if (sscanf(p, "%31s %d", state, &ev->priority) < 1)
		return -1;
	if (strcmp(ev->type, "INSTANCE") != 0 && strcmp(ev->type, "GROUP") != 0)
		return 1;       /* VS/RS lines of the checker side */
	ev->state = state_from(state);
	if (ev->state == ST_NONE)
		return 1;       /* MASTER_RX_LOWER_PRI, *_PRIORITY */
	return 0;
}

static int
event_is_ours(const struct notify *n, const struct event *ev)
{
	return n->instance == NULL || strcmp(n->instance, ev->name) == 0;
}

/* FIFO mode: read every line available now (waiting at most wait_ms for
 * the first) and keep the latest event of ours in n->pending. */
static void
fifo_drain(struct notify *n, int wait_ms)
{
	static char buf[8192];
	static size_t fill;
	struct pollfd p = { .fd = n->fifo_fd, .events = POLLIN };
	char *nl;
	ssize_t r;

	while (poll(&p, 1, wait_ms) > 0) {
		wait_ms = 0;
		r = read(n->fifo_fd, buf + fill, sizeof(buf) - fill - 1);
		if (r <= 0) {
			if (r == 0) {
				/* keepalived closed its end: it has stopped. */
				stopping = 1;
			}
			break;
		}
		fill += (size_t)r;
		buf[fill] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			struct event ev;

			*nl = '\0';
			if (strlen(buf) > LINE_MAX_LEN)
				log_warnx("notify FIFO line too long, ignored");
			else if (parse_fifo_line(buf, &ev) == -1)
				log_warnx("notify FIFO line not understood: \"%.80s\"",
				    buf);
			else if (parse_fifo_line(buf, &ev) == 0 &&
			    event_is_ours(n, &ev)) {
				log_info("event %s %s %s %d", ev.type, ev.name,
				    state_name(ev.state), ev.priority);
				n->pending = ev;
				n->have_pending = 1;
			}
			fill -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, fill + 1);
		}
		if (fill == sizeof(buf) - 1) {
			log_warnx("notify FIFO line too long, dropped");
			fill = 0;
		}
	}
}

/* Args mode: the generation counter of recorded events (under the lock). */
static long
read_generation(const struct notify *n)
{
	char *text = NULL, err[ENUMDR_ERRLEN];
	long g = 0;

	if (util_read_file(n->gen_path, 64, &text, NULL, err) == 0) {
		g = strtol(text, NULL, 10);
		free(text);
	}
	return g;
}

/* Has a newer event superseded the one being acted on? */
static int
superseded(struct notify *n, enum vrrp_state current)
{
	if (stopping)
		return 1;
	if (n->fifo_fd != -1) {
		fifo_drain(n, 0);
		return n->have_pending && n->pending.state != current;
	}
	return read_generation(n) != n->generation;
}

/* ---- talking to the agent --------------------------------------------- */

/* Send a control request; 0 when the agent answered "ok":true. */
static int
agent(struct notify *n, const char *line, char *err)
{
	char reply[CONTROL_REPLY_MAX];
	json_error_t jerr;
	json_t *j;
	int ok;

	/* "close" waits out a running transaction or export, "snapshot" an
	 * export plus one push per peer: bound by the transfer timeout. */
	int timeout = 5000 + n->cfg.transfer_timeout_ms *
	    (int)(1 + n->cfg.npeers);

	if (control_request(n->cfg.control_socket, line, reply, sizeof(reply),
	    timeout, err) == -1)
		return -1;
	j = json_loads(reply, 0, &jerr);
	if (j == NULL) {
		errf(err, "agent reply to \"%s\" is not JSON: %s", line,
		    jerr.text);
		return -1;
	}
	ok = json_is_true(json_object_get(j, "ok"));
	if (!ok) {
		const char *e = json_string_value(json_object_get(j, "error"));
		errf(err, "agent refused \"%s\": %s", line, e ? e : reply);
	}
	json_decref(j);
	return ok ? 0 : -1;
}

static void
fig2(const char **fig, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	fig[0] = k1; fig[1] = v1; fig[2] = k2; fig[3] = v2; fig[4] = NULL;
}

/* ---- the peer's side of a takeover ------------------------------------- */

struct peer_view {
	int reachable;
	char room[64];
	int listener_open;
	long long journal;
	long long snapshot_journal;   /* -1 when it has none */
};

static int
heartbeat(struct notify *n, const struct config_peer *peer,
    struct peer_view *v, char *err)
{
	struct transfer_opts o;
	char *body = NULL;
	size_t len;
	long status = 0;
	json_error_t jerr;
	json_t *j, *snap;

	memset(v, 0, sizeof(*v));
	v->snapshot_journal = -1;
	memset(&o, 0, sizeof(o));
	o.connect_timeout_ms = n->cfg.connect_timeout_ms;
	o.total_timeout_ms = n->cfg.connect_timeout_ms * 2;
	if (transfer_http_get(peer->heartbeat_url, &o, 1 << 20, &body, &len,
	    &status, err) == -1)
		return -1;
	if (status != 200) {
		errf(err, "heartbeat %s answered HTTP %ld", peer->heartbeat_url,
		    status);
		free(body);
		return -1;
	}
	j = json_loadb(body, len, 0, &jerr);
	free(body);
	if (j == NULL) {
		errf(err, "heartbeat %s: not JSON (%s)", peer->heartbeat_url,
		    jerr.text);
		return -1;
	}
	v->reachable = 1;
	strlcpy_(v->room, json_string_value(json_object_get(j, "room")) ?
	    json_string_value(json_object_get(j, "room")) : "?",
	    sizeof(v->room));
	v->listener_open = json_string_value(json_object_get(j, "listener")) &&
	    strcmp(json_string_value(json_object_get(j, "listener")),
	    "open") == 0;
	v->journal = json_integer_value(json_object_get(j, "journal"));
	snap = json_object_get(j, "snapshot");
	if (json_is_object(snap))
		v->snapshot_journal = json_integer_value(
		    json_object_get(snap, "journal"));
	json_decref(j);
	return 0;
}

/* Fetch the peer's newest snapshot from its fetch_url into dir. */
static int
fetch_peer_snapshot(struct notify *n, const struct config_peer *peer,
    const char *dir, char *err)
{
	const char *names[] = { SNAPSHOT_DB_NAME, SNAPSHOT_SERIALS_NAME };
	char url[CONFIG_URL_MAX + 64], path[PATH_MAX];
	struct transfer_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.connect_timeout_ms = n->cfg.connect_timeout_ms;
	o.total_timeout_ms = n->cfg.transfer_timeout_ms;
	o.ssh_private_key = n->cfg.ssh_private_key;
	o.ssh_public_key = n->cfg.ssh_public_key;
	o.ssh_known_hosts = n->cfg.ssh_known_hosts;
	if (util_mkdir_p(dir, 0750, err) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if (transfer_url_join(url, sizeof(url), peer->fetch_url,
		    names[i], err) == -1 ||
		    util_path_join(path, sizeof(path), dir, names[i], err) == -1 ||
		    transfer_get(url, path, &o, err) == -1)
			return -1;
	}
	return 0;
}

/* Journal position recorded in the serial file in dir; -1 if none. */
static long long
dir_journal(const char *dir)
{
	struct serial_file sf;
	char path[PATH_MAX], err[ENUMDR_ERRLEN];
	long long j;

	memset(&sf, 0, sizeof(sf));
	if (util_path_join(path, sizeof(path), dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 || serial_file_read(path, &sf, err) == -1)
		return -1;
	j = sf.journal_pos;
	serial_file_free(&sf);
	return j;
}

/*
 * Bring the newest data of one peer here (S0.2, S0.7).  Sets *dir_out to
 * the directory to sync from ("" when there is nothing to compare).
 */
static int
gather_peer(struct notify *n, const struct config_peer *peer,
    char *dir_out, size_t dirlen, char *err)
{
	struct peer_view v;
	char herr[ENUMDR_ERRLEN], fetched[PATH_MAX], aerr[ENUMDR_ERRLEN];
	const char *fig[5];
	int64_t deadline = util_now_ms() + n->cfg.transfer_timeout_ms;

	dir_out[0] = '\0';
	if (heartbeat(n, peer, &v, herr) == -1) {
		/* The peer is down (the usual takeover): use what it pushed. */
		log_info("peer %s unreachable (%s); using its last pushed"
		    " snapshot in %s", peer->name, herr, n->cfg.incoming_dir);
		fig2(fig, "peer", peer->name, "error", herr);
		alarm_raise(&n->alarms, "JOURNAL_POSITION", ALARM_MINOR,
		    "peer's journal position could not be asked", fig, aerr);
		strlcpy_(dir_out, n->cfg.incoming_dir, dirlen);
		return 0;
	}
	/* S0.7: the standby stands down (closes its listener) first. */
	while (v.listener_open) {
		if (util_now_ms() > deadline) {
			errf(err, "peer %s still has its listener open after"
			    " %d ms (it has not stood down)", peer->name,
			    n->cfg.transfer_timeout_ms);
			return -1;
		}
		if (superseded(n, ST_MASTER)) {
			errf(err, "superseded by a newer event");
			return -1;
		}
		usleep(200000);
		if (heartbeat(n, peer, &v, herr) == -1)
			break;  /* it went away meanwhile: use its push */
	}
	alarm_clear(&n->alarms, "JOURNAL_POSITION", "peer journal position read",
	    NULL, aerr);
	log_info("peer %s: listener %s, journal %lld, snapshot journal %lld",
	    peer->name, v.listener_open ? "open" : "closed", v.journal,
	    v.snapshot_journal);
	if (v.journal == 0) {
		log_info("peer %s has never recorded a change: nothing to"
		    " compare", peer->name);
		return 0;
	}
	if (util_path_join(fetched, sizeof(fetched), n->cfg.state_dir,
	    "fetched", err) == -1)
		return -1;
	/* Wait (bounded) until a snapshot covering its journal is here. */
	for (;;) {
		if (peer->fetch_url[0] != '\0' &&
		    fetch_peer_snapshot(n, peer, fetched, herr) == 0 &&
		    dir_journal(fetched) >= v.journal) {
			strlcpy_(dir_out, fetched, dirlen);
			return 0;
		}
		if (dir_journal(n->cfg.incoming_dir) >= v.journal) {
			strlcpy_(dir_out, n->cfg.incoming_dir, dirlen);
			return 0;
		}
		if (util_now_ms() > deadline) {
			errf(err, "no snapshot of peer %s covering its journal"
			    " position %lld arrived within %d ms", peer->name,
			    v.journal, n->cfg.transfer_timeout_ms);
			return -1;
		}
		if (superseded(n, ST_MASTER)) {
			errf(err, "superseded by a newer event");
			return -1;
		}
		usleep(200000);
	}
}

/* ---- transitions ---------------------------------------------------------- */

static int
takeover_failed(struct notify *n, const char *step, const char *msg)
{
	char aerr[ENUMDR_ERRLEN], rerr[ENUMDR_ERRLEN];
	const char *fig[5];

	fig2(fig, "step", step, NULL, NULL);
	alarm_raise(&n->alarms, "LOAD_STEP", ALARM_CRITICAL, msg, fig, aerr);
	log_warnx("takeover failed at step %s: %s", step, msg);
	if (agent(n, "close", rerr) == -1)
		log_warnx("%s", rerr);
	if (agent(n, "role MASTER-FAILED", rerr) == -1)
		log_warnx("%s", rerr);
	return -1;
}

static int
sync_step(struct notify *n, char *err)
{
	char dir[PATH_MAX], quarantine[PATH_MAX], aerr[ENUMDR_ERRLEN],
	    path[PATH_MAX];
	struct sync_report rep;
	struct sync_opts opts;
	struct store *st;
	const char *fig[5];
	size_t i;
	int rc = 0;

	if (util_path_join(quarantine, sizeof(quarantine), n->cfg.state_dir,
	    "diverged", err) == -1)
		return -1;
	for (i = 0; i < n->cfg.npeers && rc == 0; i++) {
		const struct config_peer *peer = &n->cfg.peers[i];

		if (gather_peer(n, peer, dir, sizeof(dir), err) == -1)
			return -1;
		if (dir[0] == '\0')
			continue;
		if (util_path_join(path, sizeof(path), dir,
		    SNAPSHOT_SERIALS_NAME, err) == -1)
			return -1;
		if (access(path, F_OK) == -1 && errno == ENOENT) {
			log_info("no snapshot of peer %s in %s: nothing to"
			    " compare", peer->name, dir);
			continue;
		}
		if (store_open(n->cfg.database, 0, &st, err) != STORE_OK) {
			fig2(fig, "database", n->cfg.database, NULL, NULL);
			alarm_raise(&n->alarms, "SYNC_QUERY", ALARM_MAJOR, err,
			    fig, aerr);
			return -1;
		}
		memset(&opts, 0, sizeof(opts));
		opts.on_diverged = n->cfg.on_diverged;
		opts.quarantine_dir = quarantine;
		memset(&rep, 0, sizeof(rep));
		if (sync_run(st, dir, &opts, &rep, err) == -1) {
			const char *id = strstr(rep.step, "own") ? "SYNC_QUERY" :
			    strstr(rep.step, "serial file") ? "SYNC_READ" :
			    "SYNC_IMPORT";
			fig2(fig, "peer", peer->name, "step", rep.step);
			alarm_raise(&n->alarms, id, ALARM_MAJOR, err, fig, aerr);
			rc = -1;
		} else {
			log_info("sync with %s (%s): %s%s", peer->name, dir,
			    sync_outcome_name(rep.outcome),
			    rep.imported ? ", imported" : "");
			alarm_clear(&n->alarms, "SYNC_READ", "sync ok", NULL, aerr);
			alarm_clear(&n->alarms, "SYNC_QUERY", "sync ok", NULL, aerr);
			alarm_clear(&n->alarms, "SYNC_IMPORT", "sync ok", NULL, aerr);
			if (rep.outcome == SYNC_DIVERGED ||
			    rep.outcome == SYNC_UNDEFINED) {
				/* Both sides kept; serve and tell the operator. */
				fig2(fig, "peer", peer->name, "kept",
				    rep.kept_dir);
				alarm_raise(&n->alarms, rep.outcome ==
				    SYNC_DIVERGED ? "SYNC_DIVERGED" :
				    "SYNC_UNDEFINED", ALARM_CRITICAL,
				    "rooms diverged; peer data kept aside", fig,
				    aerr);
			}
		}
		sync_report_free(&rep);
		store_close(st);
	}
	return rc;
}

static int
do_master(struct notify *n)
{
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN];
	struct load_result res;
	int64_t t0 = util_now_ms();
	size_t i;

	log_info("-> MASTER: takeover sequence (S0.6)");
	if (agent(n, "close", err) == -1 ||
	    agent(n, "role MASTER-LOADING", err) == -1)
		return takeover_failed(n, "agent", err);
	if (sync_step(n, err) == -1) {
		if (superseded(n, ST_MASTER))
			return 0;
		return takeover_failed(n, "sync", err);
	}
	log_info("takeover: sync done after %lld ms", (long long)(util_now_ms() - t0));
	for (i = 0; i < n->cfg.nsteps; i++) {
		if (superseded(n, ST_MASTER)) {
			log_info("takeover abandoned before step %s: a newer"
			    " event arrived", n->cfg.steps[i].name);
			return 0;
		}
		if (load_run_step(&n->cfg.steps[i], &res, err) == -1)
			return takeover_failed(n, n->cfg.steps[i].name, err);
		log_info("takeover: step %s done in %lld ms%s%s",
		    n->cfg.steps[i].name, (long long)res.duration_ms,
		    res.output[0] ? ": " : "", res.output);
	}
	/* The last check before opening: never open for a stale MASTER. */
	if (superseded(n, ST_MASTER)) {
		log_info("takeover abandoned before opening the listener");
		return 0;
	}
	if (agent(n, "open", err) == -1)
		return takeover_failed(n, "open listener", err);
	if (agent(n, "role MASTER", err) == -1)
		log_warnx("%s", err);
	alarm_clear(&n->alarms, "LOAD_STEP", "takeover completed", NULL, aerr);
	log_info("-> MASTER done in %lld ms: listener open",
	    (long long)(util_now_ms() - t0));
	return 0;
}

static int
do_standby(struct notify *n, enum vrrp_state s)
{
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN], line[32];
	const char *fig[5];
	int rc = 0;

	log_info("-> %s: close the listener, push a snapshot (S0.7)",
	    state_name(s));
	if (agent(n, "close", err) == -1) {
		fig2(fig, "state", state_name(s), NULL, NULL);
		alarm_raise(&n->alarms, "AGENT", ALARM_CRITICAL, err, fig, aerr);
		return -1;
	}
	snprintf(line, sizeof(line), "role %s", state_name(s));
	if (agent(n, line, err) == -1)
		log_warnx("%s", err);
	if (agent(n, "snapshot", err) == -1) {
		fig2(fig, "state", state_name(s), NULL, NULL);
		alarm_raise(&n->alarms, "SNAPSHOT_PUSH", ALARM_MAJOR, err, fig,
		    aerr);
		rc = -1;
	}
	alarm_clear(&n->alarms, "AGENT", "agent answers", NULL, aerr);
	return rc;
}

static int
act(struct notify *n, const struct event *ev)
{
	strlcpy_(n->alarms.instance, ev->name, sizeof(n->alarms.instance));
	if (ev->state == ST_MASTER)
		return do_master(n);
	return do_standby(n, ev->state);
}

/* ---- the two modes -------------------------------------------------------- */

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
run_fifo(struct notify *n, const char *fifo)
{
	struct event ev;
	int rc = 0;

	n->fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);  /* RDWR: no EOF storms */
	if (n->fifo_fd == -1) {
		log_warn("open notify FIFO %s", fifo);
		return EXIT_NOINPUT;
	}
	log_info("reading keepalived events from %s", fifo);
	while (!stopping) {
		fifo_drain(n, 1000);
		if (!n->have_pending)
			continue;
		/* Coalesce a burst: the latest event of the burst wins. */
		fifo_drain(n, 100);
		ev = n->pending;
		n->have_pending = 0;
		rc = act(n, &ev) == -1 ? EXIT_FAILED : EXIT_OK;
	}
	close(n->fifo_fd);
	return rc;
}

static int
run_args(struct notify *n, char **argv, int argc)
{
	char lock_path[PATH_MAX], err[ENUMDR_ERRLEN], buf[32];
	struct event ev;
	int lockfd, gfd, rc;

	memset(&ev, 0, sizeof(ev));
	if (strcmp(argv[0], "INSTANCE") != 0 && strcmp(argv[0], "GROUP") != 0) {
		log_warnx("usage: TYPE must be INSTANCE or GROUP, not \"%.32s\"",
		    argv[0]);
		fprintf(stderr, "enumdr-notify: TYPE must be INSTANCE or GROUP\n");
		return EXIT_USAGE;
	}
	strlcpy_(ev.type, argv[0], sizeof(ev.type));
	strlcpy_(ev.name, argv[1], sizeof(ev.name));
	ev.state = state_from(argv[2]);
	ev.priority = argc > 3 ? atoi(argv[3]) : 0;
	if (ev.state == ST_NONE) {
		log_warnx("usage: STATE must be MASTER, BACKUP, FAULT or STOP,"
		    " not \"%.32s\"", argv[2]);
		fprintf(stderr, "enumdr-notify: STATE must be MASTER, BACKUP,"
		    " FAULT or STOP\n");
		return EXIT_USAGE;
	}
	if (!event_is_ours(n, &ev))
		return EXIT_OK;
	if (util_mkdir_p(n->cfg.state_dir, 0750, err) == -1 ||
	    util_path_join(lock_path, sizeof(lock_path), n->cfg.state_dir,
	    "notify.lock", err) == -1 ||
	    util_path_join(n->gen_path, sizeof(n->gen_path), n->cfg.state_dir,
	    "notify.generation", err) == -1) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	/* Record the event's generation (short lock), then wait our turn. */
	gfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (gfd == -1 || flock(gfd, LOCK_EX) == -1) {
		log_warn("lock %s", lock_path);
		return EXIT_IOERR;
	}
	n->generation = read_generation(n) + 1;
	snprintf(buf, sizeof(buf), "%ld\n", n->generation);
	if (util_write_file_atomic(n->gen_path, buf, strlen(buf), 0640,
	    err) == -1) {
		log_warnx("%s", err);
		close(gfd);
		return EXIT_IOERR;
	}
	flock(gfd, LOCK_UN);
	close(gfd);

	snprintf(lock_path + strlen(lock_path), sizeof(lock_path) -
	    strlen(lock_path), ".run");
	lockfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (lockfd == -1 || flock(lockfd, LOCK_EX) == -1) {
		log_warn("lock %s", lock_path);
		return EXIT_IOERR;
	}
	if (ev.state == ST_MASTER && read_generation(n) != n->generation) {
		log_info("MASTER event superseded before it ran; nothing done");
		close(lockfd);
		return EXIT_OK;
	}
	log_info("event %s %s %s %d", ev.type, ev.name, state_name(ev.state),
	    ev.priority);
	rc = act(n, &ev) == -1 ? EXIT_FAILED : EXIT_OK;
	close(lockfd);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "fifo", required_argument, NULL, 'f' },
		{ "instance", required_argument, NULL, 'i' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = getenv("ENUMDR_CONFIG"), *fifo = NULL;
	struct notify n;
	char err[ENUMDR_ERRLEN];
	struct sigaction sa;
	int ch, debug = 0, rc;

	if (config == NULL || *config == '\0')
		config = DEFAULT_CONFIG;
	memset(&n, 0, sizeof(n));
	n.fifo_fd = -1;
	while ((ch = getopt_long(argc, argv, "+c:f:i:dhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'f': fifo = optarg; break;
		case 'i': n.instance = optarg; break;
		case 'd': debug = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("enumdr-notify %s\n", PACKAGE_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	log_init("enumdr-notify", debug, LOG_DAEMON);
	if ((fifo == NULL && (argc < 3 || argc > 4)) || (fifo && argc != 0)) {
		log_warnx("usage error: %d arguments given", argc);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (config_load(config, &n.cfg, err) == -1) {
		log_warnx("%s", err);
		fprintf(stderr, "enumdr-notify: %s\n", err);
		return EXIT_CONFIG;
	}
	log_init("enumdr-notify", debug, n.cfg.alarm_facility);
	alarm_ctx_init(&n.alarms, n.cfg.room, "-", n.cfg.alarm_ident,
	    n.cfg.alarm_facility, n.cfg.state_dir);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (transfer_global_init(err) == -1) {
		log_warnx("%s", err);
		return EXIT_SOFTWARE;
	}
	rc = fifo ? run_fifo(&n, fifo) : run_args(&n, argv, argc);
	transfer_global_cleanup();
	config_free(&n.cfg);
	return rc;
}
