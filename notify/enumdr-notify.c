/*
 * enumdr-notify — what keepalived runs on every VRRP transition.
 *
 *   -> MASTER (S0.6; failback S0.7, S4.3): tell the agent MASTER-LOADING;
 *      serial-compare sync (S0.2) against every peer, run by the agent (a
 *      `sync DIR` control request: the agent is the database's only
 *      writer; the alarms of its report are raised here): wait for a peer that
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
 *       event wins — a MASTER followed by a BACKUP never opens the listener.
 *       keepalived sends SIGTERM before it writes its instances' STOP
 *       lines, so a SIGTERM is followed by a short wait for them.
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

#include "alarm_ids.h"
#include "alarm.h"
#include "config.h"
#include "control.h"
#include "exitcodes.h"
#include "load.h"
#include "log.h"
#include "peerproto.h"
#include "snapshot.h"
#include "store.h"
#include "sync.h"
#include "transfer.h"
#include "util.h"
#include "vrrp_event.h"

#define LINE_MAX_LEN 512        /* a keepalived FIFO line is far shorter */
#define FIFO_BUF_LEN 4096       /* longer lines are discarded unread */
#define COALESCE_MS 100         /* a burst of events: the latest one wins */
#define STOP_GRACE_MS 500       /* after SIGTERM: wait for the STOP lines */
#define POLL_PEER_MS 200        /* stand-down and snapshot waits */

struct notify {
	struct config cfg;
	struct alarm_ctx alarms;
	const char *instance;   /* --instance filter, NULL = any */
	char run_lock[PATH_MAX];/* STATE_DIR/notify.lock.run: one act at a time */

	/* FIFO mode */
	int fifo_fd;            /* the FIFO; -1 in args mode */
	char fifo_buf[FIFO_BUF_LEN];
	size_t fifo_fill;       /* bytes of an unfinished line in fifo_buf */
	int fifo_discarding;    /* skipping the rest of an overlong line */
	struct vrrp_event pending;   /* the latest event not yet acted on */
	int have_pending;
	pid_t parent;           /* keepalived; 0 when not watched */

	int agent_refused;      /* the last agent() failure was an answer */

	/* args mode */
	char gen_path[PATH_MAX];/* the event generation file */
	long generation;        /* our event's generation */
};

static volatile sig_atomic_t stopping;

static void
usage(FILE *out)
{
	fprintf(out,
"usage: enumdr-notify [-d] [-c CONFIG] [--instance NAME] --fifo FIFO\n"
"       enumdr-notify [-d] [-c CONFIG] [--instance NAME] TYPE NAME STATE [PRIORITY]\n"
"\n"
"  TYPE      INSTANCE or GROUP (keepalived's notify arguments)\n"
"  STATE     MASTER, BACKUP, FAULT, STOP (or DELETED, taken as STOP)\n"
"  --fifo    read keepalived's notify FIFO (notify_fifo_script; keepalived\n"
"            appends the FIFO name), lines like: INSTANCE \"VI_1\" MASTER 100\n"
"  --instance  act only on events of this instance or group\n"
"  -d        log to stderr instead of syslog\n"
"\n"
"Exit codes: 0 done, 1 a transition step failed (alarm raised), 64 usage,\n"
"66 the FIFO cannot be read, 74 the lock or state files cannot be written,\n"
"78 configuration error.  Messages go to syslog (keepalived discards output).\n");
}

/* Copy text that came from another process into out for a log line:
 * at most outlen - 1 bytes, control characters and non-ASCII as '?'. */
static const char *
shown(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < inlen && i + 1 < outlen; i++)
		out[i] = ((unsigned char)in[i] < 0x20 ||
		    (unsigned char)in[i] > 0x7e) ? '?' : in[i];
	out[i] = '\0';
	return out;
}

/* ---- events ------------------------------------------------------------ */

static int
event_is_ours(const struct notify *n, const struct vrrp_event *ev)
{
	return n->instance == NULL || strcmp(n->instance, ev->name) == 0;
}

/* FIFO mode: one complete line (NUL-terminated at len).  Every line is
 * logged: an event of ours becomes the pending one (the latest wins). */
static void
fifo_line(struct notify *n, const char *line, size_t len)
{
	char text[96], why[ENUMDR_ERRLEN];
	struct vrrp_event ev;
	int rc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	shown(line, len, text, sizeof(text));
	if (memchr(line, '\0', len) != NULL || len > LINE_MAX_LEN) {
		log_warnx("notify FIFO: line of %zu bytes%s ignored: \"%s\"",
		    len, len > LINE_MAX_LEN ? "" : " with a NUL byte", text);
		return;
	}
	rc = vrrp_event_parse_fifo(line, len, &ev, why);
	if (rc == VRRP_MALFORMED) {
		log_warnx("notify FIFO: line not understood, ignored: \"%s\""
		    " (%s)", text, why);
		return;
	}
	if (rc == VRRP_IGNORED) {
		log_info("notify FIFO: not a state change, ignored: \"%s\"",
		    text);
		return;
	}
	if (!event_is_ours(n, &ev)) {
		log_info("notify FIFO: event of %s %s ignored (--instance %s)",
		    ev.type, shown(ev.name, strlen(ev.name), text,
		    sizeof(text)), n->instance);
		return;
	}
	log_info("event %s %s %s %d%s%s", ev.type, shown(ev.name,
	    strlen(ev.name), text, sizeof(text)), vrrp_state_name(ev.state),
	    ev.priority, n->have_pending ? "; supersedes " : "",
	    n->have_pending ? vrrp_state_name(n->pending.state) : "");
	n->pending = ev;
	n->have_pending = 1;
}

/* FIFO mode: read every line available now (waiting at most wait_ms for
 * the first) and keep the latest event of ours in n->pending. */
static void
fifo_drain(struct notify *n, int wait_ms)
{
	struct pollfd p = { .fd = n->fifo_fd, .events = POLLIN };
	char *buf = n->fifo_buf, *start, *nl;
	ssize_t r;

	while (poll(&p, 1, wait_ms) > 0) {
		wait_ms = 0;
		r = read(n->fifo_fd, buf + n->fifo_fill,
		    sizeof(n->fifo_buf) - 1 - n->fifo_fill);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;  /* EAGAIN; EOF cannot happen: we hold a writer */
		n->fifo_fill += (size_t)r;
		start = buf;
		while ((nl = memchr(start, '\n', n->fifo_fill -
		    (size_t)(start - buf))) != NULL) {
			*nl = '\0';
			if (n->fifo_discarding)
				n->fifo_discarding = 0;
			else
				fifo_line(n, start, (size_t)(nl - start));
			start = nl + 1;
		}
		n->fifo_fill -= (size_t)(start - buf);
		memmove(buf, start, n->fifo_fill);
		if (n->fifo_fill == sizeof(n->fifo_buf) - 1) {
			if (!n->fifo_discarding)
				log_warnx("notify FIFO: line longer than %d"
				    " bytes ignored", FIFO_BUF_LEN - 1);
			n->fifo_discarding = 1;
			n->fifo_fill = 0;
		}
	}
}

/* FIFO mode: has keepalived, our parent, gone (we were re-parented)?  A
 * new keepalived starts a reader of its own; two would split the lines. */
static int
parent_gone(const struct notify *n)
{
	return n->parent > 1 && getppid() != n->parent;
}

/* Args mode: the generation counter of recorded events. */
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

/* Has a newer event superseded the one being acted on?  In FIFO mode any
 * newer event of ours does (even a MASTER: a BACKUP may have come and
 * gone in between, so the sync must start over); in args mode a newer
 * recorded generation does.  SIGTERM and a vanished keepalived do too. */
static int
superseded(struct notify *n)
{
	if (stopping)
		return 1;
	if (n->fifo_fd != -1) {
		fifo_drain(n, 0);
		return n->have_pending || parent_gone(n);
	}
	return read_generation(n) != n->generation;
}

/* ---- talking to the agent --------------------------------------------- */

/* Send a control request; 0 when the agent answered "ok":true.  On -1
 * n->agent_refused says whether the agent answered (with "ok":false) or
 * could not be reached at all. */
static int
agent(struct notify *n, const char *line, char *err)
{
	struct control_reply r;
	int ok;

	/* "close" waits out a running transaction or export, "snapshot" an
	 * export plus one push per peer: bound by the transfer timeout. */
	int timeout = 5000 + n->cfg.transfer_timeout_ms *
	    (int)(1 + n->cfg.npeers);

	n->agent_refused = 0;
	if (control_request(n->cfg.control_socket, line, timeout, &r, err) !=
	    CONTROL_OK) {
		control_reply_free(&r);
		return -1;
	}
	ok = r.ok;
	if (!ok) {
		errf(err, "agent refused \"%s\": %s", line, r.error);
		n->agent_refused = 1;
	}
	control_reply_free(&r);
	return ok ? 0 : -1;
}

static void
fig2(const char **fig, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	fig[0] = k1; fig[1] = v1; fig[2] = k2; fig[3] = v2; fig[4] = NULL;
}

/* ---- the peer's side of a takeover ------------------------------------- */

/* Ask the peer's heartbeat through the peer protocol's client and strict
 * parser (lib/peerproto.c): PEERPROTO_OK; PEERPROTO_EUNREACHABLE when no
 * answer came (the peer is down); PEERPROTO_EPROTO when it answered with
 * something that is not a heartbeat of this protocol (err names the HTTP
 * status, the protocol version or the missing or bad member). */
static int
heartbeat(struct notify *n, const struct config_peer *peer,
    struct peerproto_heartbeat *hb, char *err)
{
	return peerproto_heartbeat_get(peer->heartbeat_url,
	    n->cfg.connect_timeout_ms, n->cfg.connect_timeout_ms * 2L, hb,
	    NULL, err);
}

/* Fetch the peer's newest snapshot from its fetch_url into dir. */
static int
fetch_from(struct notify *n, const struct config_peer *peer, const char *dir,
    char *err)
{
	struct transfer_opts o;

	transfer_opts_from_config(&o, &n->cfg);
	return snapshot_fetch(peer->fetch_url, dir, &o, err);
}

/* Does dir hold a whole snapshot (database matching its serial file) that
 * covers journal position min_journal?  A snapshot caught between two
 * exports or pushes (database of one, serial file of the other) does not:
 * the caller tries again. */
static int
snapshot_covers(const char *dir, long long min_journal)
{
	struct serial_file sf;
	char path[PATH_MAX], err[ENUMDR_ERRLEN];
	int ok;

	memset(&sf, 0, sizeof(sf));
	if (util_path_join(path, sizeof(path), dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 || serial_file_read(path, &sf, err) == -1)
		return 0;
	ok = sf.journal_pos >= min_journal && snapshot_verify(dir, &sf,
	    err) == 0;
	serial_file_free(&sf);
	return ok;
}

/* ---- replication (issue 14, doc/replication.md) ----------------------- */

/* What this room's follower of peer holds (the agent's status): the
 * peer's database uuid and our cursor in its journal.  0, or -1 when it
 * does not follow that peer (replication off, never reached it). */
static int
replicated(struct notify *n, const char *peer, char *uuid, size_t uuidlen,
    long long *cursor)
{
	struct control_reply r;
	char err[ENUMDR_ERRLEN], path[64];
	const char *name, *u;
	size_t np, i;
	int rc = -1;

	if (n->cfg.repl_mode == REPL_OFF)
		return -1;
	if (control_request(n->cfg.control_socket, "status", 5000, &r, err) !=
	    CONTROL_OK || !r.ok || control_reply_array(&r,
	    "replication.peers", &np, err) == -1) {
		control_reply_free(&r);
		return -1;
	}
	for (i = 0; i < np && rc == -1; i++) {
		snprintf(path, sizeof(path), "replication.peers[%zu].name", i);
		if (control_reply_string(&r, path, &name, err) == -1 ||
		    strcmp(name, peer) != 0)
			continue;
		snprintf(path, sizeof(path), "replication.peers[%zu].uuid", i);
		if (control_reply_string_or_null(&r, path, &u, err) == -1 ||
		    u == NULL)
			break;
		snprintf(path, sizeof(path), "replication.peers[%zu].cursor",
		    i);
		if (control_reply_integer(&r, path, 0, INT64_MAX, cursor,
		    err) == -1)
			break;
		strlcpy_(uuid, u, uuidlen);
		rc = 0;
	}
	control_reply_free(&r);
	return rc;
}

/* Does the peer's snapshot in dir hold only what replication has brought
 * here already (the same database, its journal position at or before our
 * cursor)?  Then there is nothing to compare: the takeover serves what
 * the hot standby holds (S1.5). */
static int
snapshot_replicated(struct notify *n, const struct config_peer *peer,
    const char *dir)
{
	struct serial_file sf;
	char path[PATH_MAX], err[ENUMDR_ERRLEN], uuid[STORE_UUID_MAX];
	long long cursor;
	int yes;

	memset(&sf, 0, sizeof(sf));
	if (replicated(n, peer->name, uuid, sizeof(uuid), &cursor) == -1 ||
	    util_path_join(path, sizeof(path), dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 || serial_file_read(path, &sf, err) == -1)
		return 0;
	yes = strcmp(sf.database_uuid, uuid) == 0 && sf.journal_pos <= cursor;
	if (yes)
		log_info("peer %s's snapshot in %s (journal %lld) holds nothing"
		    " that replication has not applied here (journal %lld):"
		    " nothing to import", peer->name, dir,
		    (long long)sf.journal_pos, cursor);
	serial_file_free(&sf);
	return yes;
}

/* The peer answers with its listener closed at journal position pos:
 * let this room's follower apply its journal up to there (bounded by
 * timeouts.transfer_ms).  0 caught up; -1 (logged) when it could not:
 * the takeover falls back to the peer's snapshot. */
static int
catch_up(struct notify *n, const struct config_peer *peer, long long pos)
{
	struct control_reply r;
	char line[128], err[ENUMDR_ERRLEN];
	int64_t t0 = util_now_ms();
	int ok;

	if (n->cfg.repl_mode == REPL_OFF)
		return -1;
	snprintf(line, sizeof(line), "catchup %s %lld %d", peer->name, pos,
	    n->cfg.transfer_timeout_ms);
	if (control_request(n->cfg.control_socket, line,
	    n->cfg.transfer_timeout_ms + 5000, &r, err) != CONTROL_OK) {
		log_warnx("catch-up with peer %s: %s", peer->name, err);
		control_reply_free(&r);
		return -1;
	}
	ok = r.ok;
	if (ok)
		log_info("caught up with peer %s's journal at %lld in %lld ms:"
		    " nothing to import", peer->name, pos,
		    (long long)(util_now_ms() - t0));
	else
		log_warnx("catch-up with peer %s failed (%s): falling back to"
		    " its snapshot", peer->name, r.error);
	control_reply_free(&r);
	return ok ? 0 : -1;
}

/* The peer cannot be asked (S0.7): alarm, and sync from what it pushed. */
static void
peer_unreachable(struct notify *n, const struct config_peer *peer,
    const char *why, char *dir_out, size_t dirlen)
{
	char aerr[ENUMDR_ERRLEN];
	const char *fig[5];

	log_info("peer %s unreachable (%s); using its last pushed snapshot"
	    " in %s", peer->name, why, n->cfg.incoming_dir);
	fig2(fig, "peer", peer->name, "error", why);
	alarm_raise(&n->alarms, ALARM_JOURNAL_POSITION, ALARM_MINOR,
	    "peer's journal position could not be asked; takeover goes on"
	    " with its last pushed snapshot", fig, aerr);
	strlcpy_(dir_out, n->cfg.incoming_dir, dirlen);
}

/*
 * The peer answered, but not with a heartbeat of this protocol (S0.7):
 * its journal position is unknown, and taking its pushed snapshot instead
 * could lose what it committed since.  Not "unreachable": PEER_PROTOCOL
 * (major) and the takeover fails at step sync.
 */
static int
peer_invalid(struct notify *n, const struct config_peer *peer,
    const char *why, char *err)
{
	char aerr[ENUMDR_ERRLEN];
	const char *fig[5];

	fig2(fig, "peer", peer->name, NULL, NULL);	/* why names the URL */
	alarm_raise(&n->alarms, ALARM_PEER_PROTOCOL, ALARM_MAJOR, why, fig, aerr);
	errf(err, "peer %s: %s", peer->name, why);
	return -1;
}

/* Ask the peer's heartbeat once: 1 parsed into hb (the caller frees it);
 * 0 the peer is unreachable (JOURNAL_POSITION, dir_out set to what it
 * pushed); -1 with err, it answered with no heartbeat (PEER_PROTOCOL). */
static int
ask_peer(struct notify *n, const struct config_peer *peer,
    struct peerproto_heartbeat *hb, char *dir_out, size_t dirlen, char *err)
{
	char herr[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN];

	switch (heartbeat(n, peer, hb, herr)) {
	case PEERPROTO_OK:
		alarm_clear(&n->alarms, ALARM_PEER_PROTOCOL, "the peer's heartbeat"
		    " parses", NULL, aerr);
		return 1;
	case PEERPROTO_EUNREACHABLE:
		/* The peer is down (the usual takeover). */
		peer_unreachable(n, peer, herr, dir_out, dirlen);
		return 0;
	default:
		return peer_invalid(n, peer, herr, err);
	}
}

/*
 * Bring the newest data of one peer here (S0.2, S0.7).  Sets *dir_out to
 * the directory to sync from ("" when there is nothing to compare).
 * Returns -1 and err when the peer answered with no valid heartbeat
 * (PEER_PROTOCOL), did not stand down, or no snapshot covering its
 * journal arrived in time, or when superseded.
 */
static int
gather_peer(struct notify *n, const struct config_peer *peer,
    char *dir_out, size_t dirlen, char *err)
{
	struct peerproto_heartbeat hb;
	char herr[ENUMDR_ERRLEN], fetched[PATH_MAX], aerr[ENUMDR_ERRLEN];
	int64_t deadline = util_now_ms() + n->cfg.transfer_timeout_ms;
	long long journal;
	int rc;

	dir_out[0] = '\0';
	if ((rc = ask_peer(n, peer, &hb, dir_out, dirlen, err)) != 1)
		return rc;
	/* S0.7: the standby stands down (closes its listener) first. */
	if (hb.listener_open)
		log_info("peer %s still has its listener open: waiting up to"
		    " %d ms for it to stand down", peer->name,
		    n->cfg.transfer_timeout_ms);
	while (hb.listener_open) {
		peerproto_heartbeat_free(&hb);
		if (util_now_ms() > deadline) {
			errf(err, "peer %s still has its listener open after"
			    " %d ms (it has not stood down)", peer->name,
			    n->cfg.transfer_timeout_ms);
			return -1;
		}
		if (superseded(n)) {
			errf(err, "superseded by a newer event");
			return -1;
		}
		usleep(POLL_PEER_MS * 1000);
		/* Gone meanwhile: use what it pushed. */
		if ((rc = ask_peer(n, peer, &hb, dir_out, dirlen, err)) != 1)
			return rc;
	}
	alarm_clear(&n->alarms, ALARM_JOURNAL_POSITION, "peer journal position"
	    " read", NULL, aerr);
	journal = (long long)hb.journal;
	log_info("peer %s: listener closed, journal %lld, snapshot journal"
	    " %lld", peer->name, journal, hb.have_snapshot ?
	    (long long)hb.snapshot.journal : -1LL);
	peerproto_heartbeat_free(&hb);
	if (journal == 0) {
		log_info("peer %s has never recorded a change: nothing to"
		    " compare", peer->name);
		return 0;
	}
	/* Replication (issue 14): its journal, applied here up to the
	 * position it stood down at, is all of its data. */
	if (catch_up(n, peer, journal) == 0)
		return 0;
	if (util_path_join(fetched, sizeof(fetched), n->cfg.state_dir,
	    "fetched", err) == -1)
		return -1;
	/* Wait (bounded) until a whole snapshot covering its journal is
	 * here: fetched from it, or pushed by its stand-down. */
	for (;;) {
		if (peer->fetch_url[0] != '\0' &&
		    fetch_from(n, peer, fetched, herr) == 0 &&
		    snapshot_covers(fetched, journal)) {
			strlcpy_(dir_out, fetched, dirlen);
			return 0;
		}
		if (snapshot_covers(n->cfg.incoming_dir, journal)) {
			strlcpy_(dir_out, n->cfg.incoming_dir, dirlen);
			return 0;
		}
		if (util_now_ms() > deadline) {
			errf(err, "no snapshot of peer %s covering its journal"
			    " position %lld arrived within %d ms", peer->name,
			    journal, n->cfg.transfer_timeout_ms);
			return -1;
		}
		if (superseded(n)) {
			errf(err, "superseded by a newer event");
			return -1;
		}
		usleep(POLL_PEER_MS * 1000);
	}
}

/* ---- transitions ---------------------------------------------------------- */

static int
takeover_failed(struct notify *n, const char *step, const char *msg)
{
	char aerr[ENUMDR_ERRLEN], rerr[ENUMDR_ERRLEN];
	const char *fig[5];

	fig2(fig, "step", step, NULL, NULL);
	alarm_raise(&n->alarms, ALARM_LOAD_STEP, ALARM_CRITICAL, msg, fig, aerr);
	log_warnx("takeover failed at step %s: %s", step, msg);
	if (agent(n, "close", rerr) == -1)
		log_warnx("%s", rerr);
	if (agent(n, "role MASTER-FAILED", rerr) == -1)
		log_warnx("%s", rerr);
	return -1;
}

/* Ask the agent (the database's only writer) to sync against the peer's
 * snapshot in dir: its report in *reply (parsed by lib/control.c; the
 * caller releases it with control_reply_free, also after a failure), or
 * -1 and err when it could not be asked, did not answer in time or its
 * reply breaks the envelope. */
static int
agent_sync(struct notify *n, const char *dir, struct control_reply *reply,
    char *err)
{
	char line[PATH_MAX + 16];

	memset(reply, 0, sizeof(*reply));
	if ((size_t)snprintf(line, sizeof(line), "sync %s", dir) >= 256) {
		errf(err, "sync: the snapshot directory %s is too long for a"
		    " control request line (256 bytes)", dir);
		return -1;
	}
	/* An import of a million numbers takes seconds: the long timeout. */
	return control_request(n->cfg.control_socket, line,
	    control_long_timeout_ms(n->cfg.transfer_timeout_ms), reply,
	    err) == CONTROL_OK ? 0 : -1;
}

/* The members of the agent's sync reply that sync_step acts on: on
 * success "outcome", "kept_dir" (string or null) and "imported"; on a
 * failed step "step" and "invalid_row" (string or null); none on a
 * refusal before a step ran.  -1 and err naming a missing one. */
static int
sync_reply_read(const struct control_reply *r, const char **step,
    const char **row, const char **outcome, const char **kept,
    int *imported, char *err)
{
	if (r->ok)
		return control_reply_string(r, "outcome", outcome, err) == -1 ||
		    control_reply_string_or_null(r, "kept_dir", kept,
		    err) == -1 || control_reply_boolean(r, "imported", imported,
		    err) == -1 ? -1 : 0;
	if (!control_reply_has(r, "step"))
		return 0;
	return control_reply_string(r, "step", step, err) == -1 ||
	    control_reply_string_or_null(r, "invalid_row", row, err) == -1 ?
	    -1 : 0;
}

/* What the syncs of one takeover found, for the alarms that clear only
 * when every peer was compared. */
struct sync_tally {
	size_t compared;
	int diverged, undefined, invalid;
};

/* Act on the agent's reply to one peer's sync: alarms and log lines.  -1
 * (err set) when the sync failed, which fails the takeover. */
static int
sync_peer_result(struct notify *n, const struct config_peer *peer,
    const char *dir, const struct control_reply *rep, const char *step,
    const char *row, const char *outcome, const char *kept, int imported,
    struct sync_tally *t, char *err)
{
	char aerr[ENUMDR_ERRLEN];
	const char *fig[5];

	if (!rep->ok && row != NULL) {
		/*
		 * Sound files, invalid rows (issue 12): the peer's snapshot
		 * is refused whole and this room goes on with its own data,
		 * as when the peer pushed nothing — a takeover that failed
		 * here would leave no room serving whenever the peer is
		 * down, and anyone who can write incoming_dir could cause
		 * that.  Critical: the peer's data may be missing from
		 * service.
		 */
		const char *ifig[] = { "peer", peer->name, "row", row, "dir",
		    dir, NULL };

		errf(err, "%s", rep->error);
		alarm_raise(&n->alarms, ALARM_SNAPSHOT_INVALID, ALARM_CRITICAL,
		    err, ifig, aerr);
		log_warnx("sync with %s (%s): snapshot refused, going on with"
		    " this room's own data: %s", peer->name, dir, err);
		t->invalid = 1;
		return 0;
	}
	if (!rep->ok) {
		/* a failed step; none named: refused before a step ran (the
		 * agent could not run it), the own side */
		enum sync_step fs = sync_step_from_name(step);
		const char *id = fs == SYNC_STEP_NONE ? ALARM_SYNC_QUERY :
		    sync_step_alarm(fs);

		errf(err, "%s", rep->error);
		fig2(fig, "peer", peer->name, "step", step != NULL ? step :
		    "agent");
		alarm_raise(&n->alarms, id, ALARM_MAJOR, err, fig, aerr);
		return -1;
	}
	t->compared++;
	log_info("sync with %s (%s): %s%s (by the agent)", peer->name, dir,
	    outcome, imported ? ", imported" : "");
	alarm_clear(&n->alarms, ALARM_SYNC_READ, "sync ok", NULL, aerr);
	alarm_clear(&n->alarms, ALARM_SYNC_QUERY, "sync ok", NULL, aerr);
	alarm_clear(&n->alarms, ALARM_SYNC_IMPORT, "sync ok", NULL, aerr);
	if (strcmp(outcome, "diverged") != 0 &&
	    strcmp(outcome, "undefined") != 0)
		return 0;
	if (control_reply_has(rep, "merged")) {
		/* sync.on_diverged merge: both rooms' changes merged number
		 * by number; conflicts are the agent's CONFLICT alarm */
		long long taken = 0, conflicts = 0;

		(void)control_reply_integer(rep, "merged.taken", 0, LLONG_MAX,
		    &taken, err);
		(void)control_reply_integer(rep, "merged.conflicts", 0,
		    LLONG_MAX, &conflicts, err);
		err[0] = '\0';
		log_info("sync with %s: both rooms changed since they last"
		    " agreed: merged number by number (%lld versions taken,"
		    " %lld conflicts)", peer->name, taken, conflicts);
		return 0;
	}
	/* Both sides kept; serve and tell the operator (kept_dir null: not
	 * kept, by sync.on_diverged). */
	fig2(fig, "peer", peer->name, "kept", kept != NULL ? kept : "");
	if (strcmp(outcome, "diverged") == 0) {
		t->diverged = 1;
		alarm_raise(&n->alarms, ALARM_SYNC_DIVERGED, ALARM_CRITICAL,
		    "both rooms have newer zones (split brain); peer data kept"
		    " aside", fig, aerr);
	} else {
		t->undefined = 1;
		alarm_raise(&n->alarms, ALARM_SYNC_UNDEFINED, ALARM_CRITICAL,
		    "zone serials 2^31 apart: comparison undefined (RFC 1982);"
		    " peer data kept aside", fig, aerr);
	}
	return 0;
}

/* The alarms a takeover's syncs end: only when nothing failed, and (the
 * divergence ones) only when every peer was compared. */
static void
sync_alarms_clear(struct notify *n, const struct sync_tally *t)
{
	char aerr[ENUMDR_ERRLEN];

	if (!t->invalid)
		alarm_clear(&n->alarms, ALARM_SNAPSHOT_INVALID, "no invalid"
		    " peer snapshot to import", NULL, aerr);
	if (t->compared == n->cfg.npeers && !t->diverged)
		alarm_clear(&n->alarms, ALARM_SYNC_DIVERGED, "rooms agree"
		    " again", NULL, aerr);
	if (t->compared == n->cfg.npeers && !t->undefined)
		alarm_clear(&n->alarms, ALARM_SYNC_UNDEFINED, "serials"
		    " comparable", NULL, aerr);
}

static int
sync_step(struct notify *n, char *err)
{
	char dir[PATH_MAX], aerr[ENUMDR_ERRLEN], path[PATH_MAX];
	const char *fig[5], *step, *row, *outcome, *kept;
	struct control_reply rep;
	struct sync_tally t;
	size_t i;
	int rc = 0, imported;

	memset(&t, 0, sizeof(t));
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
		if (snapshot_replicated(n, peer, dir))
			continue;
		/* The import is the agent's: it is the only writer. */
		step = row = outcome = kept = NULL;
		imported = 0;
		if (agent_sync(n, dir, &rep, err) == -1 ||
		    sync_reply_read(&rep, &step, &row, &outcome, &kept,
		    &imported, err) == -1) {
			control_reply_free(&rep);
			fig2(fig, "peer", peer->name, "step", "agent");
			alarm_raise(&n->alarms, ALARM_SYNC_QUERY, ALARM_MAJOR, err,
			    fig, aerr);
			return -1;
		}
		rc = sync_peer_result(n, peer, dir, &rep, step, row, outcome,
		    kept, imported, &t, err);
		control_reply_free(&rep);
	}
	if (rc == 0)
		sync_alarms_clear(n, &t);
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
		if (superseded(n)) {
			log_info("takeover abandoned during the sync: a newer"
			    " event arrived");
			return 0;
		}
		return takeover_failed(n, "sync", err);
	}
	log_info("takeover: sync done after %lld ms",
	    (long long)(util_now_ms() - t0));
	for (i = 0; i < n->cfg.nsteps; i++) {
		if (superseded(n)) {
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
	if (superseded(n)) {
		log_info("takeover abandoned before opening the listener: a"
		    " newer event arrived");
		return 0;
	}
	if (agent(n, "open", err) == -1)
		return takeover_failed(n, "open listener", err);
	if (agent(n, "role MASTER", err) == -1)
		log_warnx("%s", err);
	alarm_clear(&n->alarms, ALARM_LOAD_STEP, "takeover completed", NULL, aerr);
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
	    vrrp_state_name(s));
	if (agent(n, "close", err) == -1) {
		fig2(fig, "state", vrrp_state_name(s), NULL, NULL);
		alarm_raise(&n->alarms, ALARM_AGENT, ALARM_CRITICAL, err, fig, aerr);
		return -1;
	}
	alarm_clear(&n->alarms, ALARM_AGENT, "agent answers", NULL, aerr);
	snprintf(line, sizeof(line), "role %s", vrrp_state_name(s));
	if (agent(n, line, err) == -1)
		log_warnx("%s", err);
	if (agent(n, "snapshot", err) == -1) {
		/* An agent that answered has raised SNAPSHOT_EXPORT or
		 * SNAPSHOT_PUSH itself, with the failing peer; one that did
		 * not answer could not. */
		if (n->agent_refused)
			log_warnx("stand-down snapshot: %s", err);
		else {
			fig2(fig, "state", vrrp_state_name(s), NULL, NULL);
			alarm_raise(&n->alarms, ALARM_SNAPSHOT_PUSH, ALARM_MAJOR,
			    err, fig, aerr);
		}
		rc = -1;
	}
	log_info("-> %s done: listener closed%s", vrrp_state_name(s),
	    rc == 0 ? ", snapshot pushed" : "");
	return rc;
}

/* Act on one event with the run lock held, so that no two transitions of
 * this room ever run at the same time (another reader, an args-mode run).
 * lockfd >= 0: the caller holds the lock already. */
static int
act(struct notify *n, const struct vrrp_event *ev, int lockfd)
{
	int own = -1, rc;

	if (lockfd == -1) {
		own = open(n->run_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (own == -1) {
			log_warn("lock %s", n->run_lock);
			return -1;
		}
		if (flock(own, LOCK_EX | LOCK_NB) == -1) {
			log_info("waiting for %s: another transition runs",
			    n->run_lock);
			if (flock(own, LOCK_EX) == -1) {
				log_warn("lock %s", n->run_lock);
				close(own);
				return -1;
			}
		}
	}
	strlcpy_(n->alarms.instance, ev->name, sizeof(n->alarms.instance));
	rc = ev->state == VRRP_MASTER ? do_master(n) : do_standby(n, ev->state);
	if (own != -1)
		close(own);
	return rc;
}

/* ---- the two modes -------------------------------------------------------- */

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* After SIGTERM: keepalived signals its FIFO script before it writes the
 * STOP lines of its instances, so wait a moment for them and close the
 * listener when one comes.  A MASTER read now is not acted on. */
static void
fifo_final_event(struct notify *n)
{
	int64_t until = util_now_ms() + STOP_GRACE_MS, left;
	struct vrrp_event ev;

	while (!(n->have_pending && n->pending.state != VRRP_MASTER) &&
	    (left = until - util_now_ms()) > 0)
		fifo_drain(n, (int)left);
	if (!n->have_pending) {
		log_info("stopping: no further event from keepalived within"
		    " %d ms", STOP_GRACE_MS);
		return;
	}
	fifo_drain(n, COALESCE_MS);
	ev = n->pending;
	n->have_pending = 0;
	if (ev.state == VRRP_MASTER) {
		log_info("stopping: MASTER event not acted on");
		return;
	}
	(void)act(n, &ev, -1);
}

static int
run_fifo(struct notify *n, const char *fifo)
{
	struct stat sb;
	struct vrrp_event ev;

	/* O_RDWR: we hold a writer ourselves, so no EOF while keepalived
	 * (which opens its end after starting us) is not there. */
	n->fifo_fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->fifo_fd == -1) {
		log_warn("open notify FIFO %s", fifo);
		fprintf(stderr, "enumdr-notify: cannot open %s: %s\n", fifo,
		    strerror(errno));
		return EXIT_NOINPUT;
	}
	if (fstat(n->fifo_fd, &sb) == -1 || !S_ISFIFO(sb.st_mode)) {
		log_warnx("%s is not a FIFO", fifo);
		fprintf(stderr, "enumdr-notify: %s is not a FIFO\n", fifo);
		close(n->fifo_fd);
		return EXIT_NOINPUT;
	}
	n->parent = getppid();
	log_info("reading keepalived events from %s (parent pid %ld)", fifo,
	    (long)n->parent);
	while (!stopping) {
		fifo_drain(n, n->have_pending ? 0 : 1000);
		if (parent_gone(n)) {
			log_warnx("keepalived (pid %ld) has gone: exiting, so"
			    " that the FIFO has one reader when it is back",
			    (long)n->parent);
			break;
		}
		if (!n->have_pending || stopping)
			continue;
		/* Coalesce a burst: the latest event of the burst wins. */
		fifo_drain(n, COALESCE_MS);
		ev = n->pending;
		n->have_pending = 0;
		(void)act(n, &ev, -1);
	}
	if (stopping)
		fifo_final_event(n);
	close(n->fifo_fd);
	log_info("stopped");
	return EXIT_OK;
}

static int
run_args(struct notify *n, const struct vrrp_event *ev)
{
	char lock_path[PATH_MAX], err[ENUMDR_ERRLEN], buf[32];
	int lockfd, gfd, rc;

	if (!event_is_ours(n, ev)) {
		log_info("event of %s %s ignored (--instance %s)", ev->type,
		    ev->name, n->instance);
		return EXIT_OK;
	}
	if (util_path_join(lock_path, sizeof(lock_path), n->cfg.state_dir,
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
		if (gfd != -1)
			close(gfd);
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
	close(gfd);     /* releases the short lock */
	log_info("event %s %s %s %d (generation %ld)", ev->type, ev->name,
	    vrrp_state_name(ev->state), ev->priority, n->generation);

	lockfd = open(n->run_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (lockfd == -1 || flock(lockfd, LOCK_EX) == -1) {
		log_warn("lock %s", n->run_lock);
		if (lockfd != -1)
			close(lockfd);
		return EXIT_IOERR;
	}
	if (ev->state == VRRP_MASTER && read_generation(n) != n->generation) {
		log_info("takeover abandoned before it started: MASTER event"
		    " (generation %ld) superseded by a newer one; nothing"
		    " done", n->generation);
		close(lockfd);
		return EXIT_OK;
	}
	rc = act(n, ev, lockfd) == -1 ? EXIT_FAILED : EXIT_OK;
	close(lockfd);
	return rc;
}

/* What the command line asks, besides --instance (struct notify). */
struct notify_args {
	const char *config;	/* -c FILE, $ENUMDR_CONFIG or the default */
	const char *fifo;	/* --fifo FIFO; NULL in args mode */
	int debug;		/* -d: log to stderr */
	struct vrrp_event ev;	/* args mode: the event */
};

/* The options and arguments into a (and n->instance); logging starts.
 * -1 to go on, else the exit code: usage errors first, wrong arguments
 * never do anything. */
static int
parse_options(int argc, char **argv, struct notify *n, struct notify_args *a)
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
	char err[ENUMDR_ERRLEN];
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, "+c:f:i:dhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case 'f': a->fifo = optarg; break;
		case 'i': n->instance = optarg; break;
		case 'd': a->debug = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("enumdr-notify %s\n", PACKAGE_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	log_init("enumdr-notify", a->debug, LOG_DAEMON);
	if (a->fifo == NULL && argc >= 3 && argc <= 4 &&
	    vrrp_event_parse_args(argv, argc, &a->ev, err) == -1)
		fprintf(stderr, "enumdr-notify: %s\n", err);
	a->config = config_path(a->config);
	if ((a->fifo == NULL && (argc < 3 || argc > 4)) ||
	    (a->fifo && argc != 0) ||
	    (a->fifo == NULL && a->ev.state == VRRP_NONE)) {
		log_warnx("usage error: %d arguments%s%.32s%s", argc,
		    argc > 0 ? " (\"" : "", argc > 0 ? argv[0] : "",
		    argc > 0 ? "\" ...)" : "");
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* The configuration, alarms, state directory, signals and libcurl; the
 * exit code.  On success the caller frees n->cfg and cleans up libcurl. */
static int
setup(struct notify *n, const struct notify_args *a)
{
	char err[ENUMDR_ERRLEN];
	struct sigaction sa;

	if (config_load(a->config, &n->cfg, err) == -1) {
		log_warnx("%s", err);
		fprintf(stderr, "enumdr-notify: %s\n", err);
		return EXIT_CONFIG;
	}
	log_init("enumdr-notify", a->debug, n->cfg.alarm_facility);
	alarm_ctx_init(&n->alarms, n->cfg.room, "-", n->cfg.alarm_ident,
	    n->cfg.alarm_facility, n->cfg.state_dir);
	if (util_mkdir_p(n->cfg.state_dir, 0750, err) == -1 ||
	    util_path_join(n->run_lock, sizeof(n->run_lock), n->cfg.state_dir,
	    "notify.lock.run", err) == -1) {
		log_warnx("%s", err);
		config_free(&n->cfg);
		return EXIT_IOERR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (transfer_global_init(err) == -1) {
		log_warnx("%s", err);
		config_free(&n->cfg);
		return EXIT_SOFTWARE;
	}
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct notify_args a;
	struct notify *n;
	int rc;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		fprintf(stderr, "enumdr-notify: out of memory\n");
		return EXIT_SOFTWARE;
	}
	n->fifo_fd = -1;
	if ((rc = parse_options(argc, argv, n, &a)) != -1 ||
	    (rc = setup(n, &a)) != EXIT_OK)
		goto done;
	rc = a.fifo ? run_fifo(n, a.fifo) : run_args(n, &a.ev);
	transfer_global_cleanup();
	config_free(&n->cfg);
done:
	free(n);
	return rc;
}
