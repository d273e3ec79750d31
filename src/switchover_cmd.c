/*
 * switchover_cmd.c — `enumdr switchover [--to ROOM] [--timeout MS]`: a
 * planned switchover, negotiated with the target room (issue 15; S3.2,
 * S3.3, S1.5; doc/switchover.md).  Run in the active room; each step is
 * printed with its time, and the target logs each request it answers.
 *
 *   1. request-switch   -> the target agrees only when it can take over at
 *                          once (agree-switch), else it refuses with why;
 *   2. going-to-switch  this room's listener closes, its preference drops;
 *                          the target applies this room's journal up to the
 *                          last acknowledged change (it delays until then,
 *                          S3.3) and takes the preference (switching): its
 *                          keepalived priority rises above this room's;
 *   3. switching        keepalived moves the VIP; the target's takeover
 *                          catches up (nothing to import) and opens.  Done
 *                          when the target's heartbeat says MASTER with its
 *                          listener open: the time this room's listener was
 *                          closed until then is printed.
 *
 * A refusal, a timeout or a failure at any step: the target is told to
 * abort (its preference dropped), this room's preference comes back, this
 * room's listener opens again (or, when the VIP had moved already, comes
 * back with it through keepalived and the takeover), the message names the
 * step, and SWITCHOVER_FAILED (major) is raised; a switchover that works
 * clears it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_cmd.h"
#include "alarm.h"
#include "alarm_ids.h"
#include "control.h"
#include "exitcodes.h"
#include "peerproto.h"
#include "switchover_cmd.h"
#include "transfer.h"
#include "util.h"

#define SW_TIMEOUT_DEF_MS 30000
#define SW_POLL_MS        50

static int64_t t0;

static void
step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
step(const char *fmt, ...)
{
	char ts[32];
	va_list ap;

	util_utc_iso8601(ts, sizeof(ts));
	printf("%s +%5lld ms  ", ts, (long long)(util_now_ms() - t0));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* This room's agent: role, listener, journal, preference. */
struct own_state {
	char role[PEERPROTO_ROLE_MAX];
	int listener_open;
	int64_t journal;
	int preferred;
};

static int
own_status(const struct config *cfg, struct own_state *o, char *err)
{
	struct peerproto_heartbeat hb;
	struct control_reply r;
	int ret = -1;

	memset(o, 0, sizeof(*o));
	memset(&hb, 0, sizeof(hb));
	if (control_request(cfg->control_socket, "status", 5000, &r, err) !=
	    CONTROL_OK)
		return -1;
	if (!r.ok) {
		errf(err, "status: %s", r.error != NULL ? r.error : "refused");
		goto done;
	}
	if (peerproto_heartbeat_parse(r.text, r.len, &hb, err) == -1 ||
	    control_reply_boolean(&r, "preferred", &o->preferred, err) == -1)
		goto done;
	strlcpy_(o->role, hb.role, sizeof(o->role));
	o->listener_open = hb.listener_open;
	o->journal = hb.journal;
	ret = 0;
done:
	peerproto_heartbeat_free(&hb);
	control_reply_free(&r);
	return ret;
}

/* One control request that only has to work ("close", "open",
 * "preferred 1"). */
static int
own_request(const struct config *cfg, const char *line, char *err)
{
	struct control_reply r;
	int ret;

	if (control_request(cfg->control_socket, line, 5000, &r, err) !=
	    CONTROL_OK)
		return -1;
	ret = r.ok ? 0 : -1;
	if (!r.ok)
		errf(err, "%s: %s", line, r.error != NULL ? r.error : "refused");
	control_reply_free(&r);
	return ret;
}

static const struct config_peer *
pick_target(const struct config *cfg, const char *to, char *err)
{
	size_t i;

	if (to == NULL) {
		if (cfg->npeers == 1)
			return &cfg->peers[0];
		errf(err, "%zu peers configured: name the target with --to"
		    " ROOM", cfg->npeers);
		return NULL;
	}
	for (i = 0; i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].name, to) == 0)
			return &cfg->peers[i];
	errf(err, "room %s is not a peer of room %s (peers: see %s)", to,
	    cfg->room, "enumdr.yaml");
	return NULL;
}

/* A failed switchover: the message, the alarm, the exit code. */
static int
failed(struct alarm_ctx *alarms, const char *target, const char *stepname,
    const char *why, int code)
{
	char what[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN];
	const char *fig[] = { "peer", target, "step", stepname, NULL };

	snprintf(what, sizeof(what), "switchover to room %s failed at step"
	    " %s: %s", target, stepname, why);
	step("FAILED at %s: %s", stepname, why);
	fprintf(stderr, "enumdr: %s\n", what);
	if (alarm_raise(alarms, ALARM_SWITCHOVER_FAILED, ALARM_MAJOR, what,
	    fig, aerr) == -1)
		fprintf(stderr, "enumdr: alarm: %s\n", aerr);
	return code;
}

/* Undo what the switchover did here and at the target, after the listener
 * was closed. */
static void
roll_back(const struct config *cfg, const struct config_peer *p,
    int was_preferred, char *err)
{
	struct peerproto_switchover sw;
	struct own_state o;

	if (peerproto_switchover_post(p->switchover_url, cfg->room,
	    PEERPROTO_SW_ABORT, 0, 0, cfg->connect_timeout_ms, &sw, err) ==
	    PEERPROTO_OK)
		step("abort -> %s: %s%s%s", p->name,
		    peerproto_sw_answer_name(sw.answer), sw.error[0] ? ": " :
		    "", sw.error);
	else
		step("abort -> %s: not answered (%s); its preference stays"
		    " until it is told", p->name, err);
	if (own_request(cfg, "standdown 0", err) == -1)
		step("this room's stand-down not ended (%s): the agent ends it"
		    " within 10 s", err);
	if (was_preferred && own_request(cfg, "preferred 1", err) == -1)
		step("this room's preference not restored: %s", err);
	if (own_status(cfg, &o, err) == 0 && strcmp(o.role, "MASTER") == 0) {
		if (own_request(cfg, "open", err) == 0)
			step("this room's listener is open again (still"
			    " MASTER)");
		else
			step("this room's listener could not be opened: %s",
			    err);
	} else
		step("this room is no longer MASTER: the VIP comes back with"
		    " keepalived (the preference moved back), and the takeover"
		    " opens the listener");
}

int
switchover_cmd(const struct config *cfg, struct alarm_ctx *alarms, int argc,
    char **argv)
{
	const struct config_peer *p;
	struct peerproto_switchover sw;
	struct peerproto_heartbeat hb;
	struct own_state o;
	const char *to = NULL;
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN], *end;
	long timeout_ms = SW_TIMEOUT_DEF_MS;
	int64_t deadline, t_closed, position;
	int i, rc, wait_ms;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout_ms = strtol(argv[++i], &end, 10);
			if (*end != '\0' || timeout_ms < 1000 ||
			    timeout_ms > 600000) {
				fprintf(stderr, "enumdr: --timeout %s: 1000 to"
				    " 600000 ms\n", argv[i]);
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "usage: enumdr switchover [--to ROOM]"
			    " [--timeout MS]\n");
			return EXIT_USAGE;
		}
	}
	t0 = util_now_ms();
	deadline = t0 + timeout_ms;
	if ((p = pick_target(cfg, to, err)) == NULL) {
		fprintf(stderr, "enumdr: switchover: %s\n", err);
		return EXIT_USAGE;
	}
	if (p->switchover_url[0] == '\0') {
		fprintf(stderr, "enumdr: switchover: peer %s: its heartbeat_url"
		    " does not end in /v1/heartbeat: set its switchover_url\n",
		    p->name);
		return EXIT_CONFIG;
	}
	if (transfer_global_init(err) == -1) {
		fprintf(stderr, "enumdr: %s\n", err);
		return EXIT_SOFTWARE;
	}
	if (own_status(cfg, &o, err) == -1)
		return failed(alarms, p->name, "check this room", err,
		    EXIT_UNAVAILABLE);
	if (strcmp(o.role, "MASTER") != 0 || !o.listener_open) {
		snprintf(aerr, sizeof(aerr), "room %s is %s with its listener"
		    " %s: run the switchover in the room that holds the VIP",
		    cfg->room, o.role, o.listener_open ? "open" : "closed");
		fprintf(stderr, "enumdr: switchover: %s\n", aerr);
		return EXIT_REFUSED_SW;
	}
	step("switchover from room %s to room %s (timeout %ld ms)", cfg->room,
	    p->name, timeout_ms);

	/* 1. request-switch */
	step("request-switch -> %s (this room's journal at %lld)", p->name,
	    (long long)o.journal);
	rc = peerproto_switchover_post(p->switchover_url, cfg->room,
	    PEERPROTO_SW_REQUEST, o.journal, 0, cfg->connect_timeout_ms, &sw,
	    err);
	if (rc != PEERPROTO_OK)
		return failed(alarms, p->name, "request-switch", err,
		    EXIT_UNAVAILABLE);
	if (sw.answer != PEERPROTO_SW_AGREE)
		return failed(alarms, p->name, "request-switch", sw.answer ==
		    PEERPROTO_SW_REFUSED ? sw.error : "an answer that is not"
		    " agree-switch", EXIT_REFUSED_SW);
	step("%s: agree-switch (it holds this room's journal up to %lld)",
	    p->name, (long long)sw.position);

	/* 2. going-to-switch: no more acknowledgements here */
	if (own_request(cfg, "close", err) == -1)
		return failed(alarms, p->name, "going-to-switch", err,
		    EXIT_FAILED);
	t_closed = util_now_ms();
	if (own_status(cfg, &o, err) == -1) {
		roll_back(cfg, p, 0, aerr);
		return failed(alarms, p->name, "going-to-switch", err,
		    EXIT_FAILED);
	}
	position = o.journal;
	if (o.preferred && own_request(cfg, "preferred 0", err) == -1) {
		roll_back(cfg, p, 1, aerr);
		return failed(alarms, p->name, "going-to-switch", err,
		    EXIT_FAILED);
	}
	step("going-to-switch -> %s: this room's listener is closed, its"
	    " journal ends at %lld", p->name, (long long)position);
	wait_ms = (int)(deadline - util_now_ms());
	if (wait_ms > PEERPROTO_WAIT_MAX)
		wait_ms = PEERPROTO_WAIT_MAX;
	if (wait_ms < 0)
		wait_ms = 0;
	rc = peerproto_switchover_post(p->switchover_url, cfg->room,
	    PEERPROTO_SW_GOING, position, wait_ms, cfg->connect_timeout_ms,
	    &sw, err);
	if (rc != PEERPROTO_OK || sw.answer != PEERPROTO_SW_SWITCHING) {
		if (rc == PEERPROTO_OK)
			snprintf(err, ENUMDR_ERRLEN, "%s", sw.answer ==
			    PEERPROTO_SW_REFUSED ? sw.error : "an answer that"
			    " is not switching");
		roll_back(cfg, p, o.preferred, aerr);
		return failed(alarms, p->name, "going-to-switch", err,
		    rc == PEERPROTO_OK ? EXIT_REFUSED_SW : EXIT_UNAVAILABLE);
	}
	step("%s: switching (it applied this room's journal up to %lld and"
	    " takes the VIP)", p->name, (long long)sw.position);
	/* A master in FAULT sends a priority-0 advert: the target need not
	 * wait out its master-down timer.  Bounded by the agent too. */
	if (own_request(cfg, "standdown 10000", err) == 0)
		step("this room stands down from VRRP master (FAULT: a"
		    " priority-0 advert) for the target to take the VIP at once");
	else
		step("this room could not stand down from VRRP master (%s): the"
		    " target takes the VIP after its master-down timer", err);

	/* 3. switching: keepalived moves the VIP, the target opens */
	for (;;) {
		memset(&hb, 0, sizeof(hb));
		rc = peerproto_heartbeat_get(p->heartbeat_url,
		    cfg->connect_timeout_ms, 2L * cfg->connect_timeout_ms, &hb,
		    NULL, err);
		if (rc == PEERPROTO_OK && strcmp(hb.role, "MASTER") == 0 &&
		    hb.listener_open) {
			peerproto_heartbeat_free(&hb);
			break;
		}
		peerproto_heartbeat_free(&hb);
		if (util_now_ms() >= deadline) {
			snprintf(err, ENUMDR_ERRLEN, "room %s did not open its"
			    " listener within %ld ms", p->name, timeout_ms);
			roll_back(cfg, p, o.preferred, aerr);
			return failed(alarms, p->name, "switching", err,
			    EXIT_REFUSED_SW);
		}
		{
			struct timespec ts = { 0, SW_POLL_MS * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	step("switching: room %s is MASTER with its listener open; this"
	    " room's listener was closed for %lld ms", p->name,
	    (long long)(util_now_ms() - t_closed));
	if (own_request(cfg, "standdown 0", err) == -1)
		step("this room's stand-down not ended (%s): the agent ends it"
		    " within 10 s", err);
	if (own_status(cfg, &o, err) == 0)
		step("this room: %s, listener %s", o.role, o.listener_open ?
		    "open" : "closed");
	alarm_clear(alarms, ALARM_SWITCHOVER_FAILED, "switchover done", NULL,
	    aerr);
	return EXIT_OK;
}
