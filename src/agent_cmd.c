/*
 * agent_cmd.c — `enumdr agent ...`: talks to the room agent enumdrd over
 * its control socket (lib/control.c) and prints the answer (S0.5 open /
 * close the provisioning listener, S0.7 snapshot at stand-down, the VRRP
 * role, and the agent's own view for `status`: role, listener, serials,
 * journal position, latest snapshot, active alarms, peers).
 *
 *   enumdr agent open | close | status | snapshot | role ROLE   [--json]
 *
 * ROLE: MASTER, BACKUP, FAULT, STOP, INIT, or the takeover's steps
 * MASTER-LOADING and MASTER-FAILED (enumdr-notify reports them).
 */
#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_cmd.h"
#include "control.h"
#include "exitcodes.h"
#include "peerproto.h"
#include "util.h"

#define TIMEOUT_STATUS_MS 5000
/* open/close wait for a transaction (or an export) that holds the writer */
#define TIMEOUT_LISTENER_MS 60000

static int
agent_usage(const char *problem, const char *arg)
{
	fprintf(stderr, "enumdr: agent: %s%s%s%s\n", problem,
	    arg != NULL ? " '" : "", arg != NULL ? arg : "",
	    arg != NULL ? "'" : "");
	fprintf(stderr, "usage: enumdr agent open|close|status|snapshot|"
	    "role ROLE [--json]\n"
	    "  ROLE: MASTER, BACKUP, FAULT, STOP, INIT, MASTER-LOADING,"
	    " MASTER-FAILED\n");
	return EXIT_USAGE;
}

/* One peer line of a status reply (checked, printed when print). */
static int
status_peer(const struct control_reply *r, size_t i, int print, char *err)
{
	const char *name, *role = NULL, *listener = NULL, *seen = NULL,
	    *error = NULL;
	char k[64];
	int reachable;

	snprintf(k, sizeof(k), "peers[%zu].name", i);
	if (control_reply_string(r, k, &name, err) == -1)
		return -1;
	snprintf(k, sizeof(k), "peers[%zu].reachable", i);
	if (control_reply_boolean(r, k, &reachable, err) == -1)
		return -1;
	/* room, role, listener, last_seen: once the peer was seen */
	snprintf(k, sizeof(k), "peers[%zu].last_seen", i);
	if (control_reply_has(r, k)) {
		if (control_reply_string(r, k, &seen, err) == -1)
			return -1;
		snprintf(k, sizeof(k), "peers[%zu].role", i);
		if (control_reply_string(r, k, &role, err) == -1)
			return -1;
		snprintf(k, sizeof(k), "peers[%zu].listener", i);
		if (control_reply_string(r, k, &listener, err) == -1)
			return -1;
	}
	/* error: when the last poll failed */
	snprintf(k, sizeof(k), "peers[%zu].error", i);
	if (control_reply_has(r, k) &&
	    control_reply_string(r, k, &error, err) == -1)
		return -1;
	if (!print)
		return 0;
	if (seen != NULL)
		printf("peer       %s: %s, role %s, listener %s, last seen %s\n",
		    name, reachable ? "reachable" : "unreachable", role,
		    listener, seen);
	else
		printf("peer       %s: not seen%s%s\n", name,
		    error != NULL ? ": " : "", error != NULL ? error : "");
	return 0;
}

/* The replication part of a status reply (issue 14): checked, and
 * printed when print; absent (an older agent): nothing. */
static int
status_replication(const struct control_reply *r, int print, char *err)
{
	const char *mode, *name, *state, *error;
	long long cursor, peer_last, behind, lag, p50, p99, applied, confl;
	char k[64];
	size_t n, i;
	int degraded, p50null, p99null;

	if (!control_reply_has(r, "replication"))
		return 0;
	if (control_reply_string(r, "replication.mode", &mode, err) == -1 ||
	    control_reply_boolean(r, "replication.degraded", &degraded,
	    err) == -1 || control_reply_array(r, "replication.peers", &n,
	    err) == -1)
		return -1;
	if (print)
		printf("replication %s%s\n", mode, degraded ? ", degraded to"
		    " asynchronous (no standby confirmed in time)" : "");
	for (i = 0; i < n; i++) {
#define RP(f) (snprintf(k, sizeof(k), "replication.peers[%zu]." f, i), k)
		if (control_reply_string(r, RP("name"), &name, err) == -1 ||
		    control_reply_string(r, RP("state"), &state, err) == -1 ||
		    control_reply_integer(r, RP("cursor"), -1, LLONG_MAX,
		    &cursor, err) == -1 ||
		    control_reply_integer(r, RP("peer_journal"), -1, LLONG_MAX,
		    &peer_last, err) == -1 ||
		    control_reply_integer(r, RP("behind"), -1, LLONG_MAX,
		    &behind, err) == -1 ||
		    control_reply_integer(r, RP("lag_ms"), -1, LLONG_MAX, &lag,
		    err) == -1 ||
		    control_reply_integer_or_null(r, RP("lag_p50_ms"), 0,
		    LLONG_MAX, &p50, &p50null, err) == -1 ||
		    control_reply_integer_or_null(r, RP("lag_p99_ms"), 0,
		    LLONG_MAX, &p99, &p99null, err) == -1 ||
		    control_reply_integer(r, RP("applied"), 0, LLONG_MAX,
		    &applied, err) == -1 ||
		    control_reply_integer(r, RP("conflicts"), 0, LLONG_MAX,
		    &confl, err) == -1 ||
		    control_reply_string_or_null(r, RP("error"), &error,
		    err) == -1)
			return -1;
#undef RP
		if (!print)
			continue;
		printf("following  %s: %s, cursor %lld of %lld (behind %lld),"
		    " lag %lld ms", name, state, cursor, peer_last, behind,
		    lag);
		if (!p50null && !p99null)
			printf(" (p50 %lld, p99 %lld)", p50, p99);
		printf(", %lld applied, %lld conflicts%s%s\n", applied, confl,
		    error != NULL ? "; " : "", error != NULL ? error : "");
	}
	return 0;
}

/* `enumdr agent status`: the heartbeat part by the one heartbeat parser
 * (lib/peerproto.c), the rest by the reply's accessors; all of it checked
 * before a line is printed. */
static int
print_status(const struct control_reply *r, char *err)
{
	struct peerproto_heartbeat hb;
	const char *last_push, *push_error, *started;
	size_t npeers, i;
	int ret = -1;

	memset(&hb, 0, sizeof(hb));
	if (peerproto_heartbeat_parse(r->text, r->len, &hb, err) == -1 ||
	    control_reply_string_or_null(r, "last_push", &last_push,
	    err) == -1 || control_reply_string_or_null(r, "push_error",
	    &push_error, err) == -1 || control_reply_string(r, "started",
	    &started, err) == -1 || control_reply_array(r, "peers", &npeers,
	    err) == -1)
		goto done;
	for (i = 0; i < npeers; i++)
		if (status_peer(r, i, 0, err) == -1)
			goto done;
	if (status_replication(r, 0, err) == -1)
		goto done;
	printf("room       %s\n", hb.room);
	printf("role       %s\n", hb.role);
	printf("listener   %s\n", hb.listener_open ? "open" : "closed");
	printf("journal    %lld\n", (long long)hb.journal);
	for (i = 0; i < hb.nzones; i++)
		printf("zone       %-28s serial %10lu\n", hb.zones[i].origin,
		    (unsigned long)hb.zones[i].serial);
	if (hb.have_snapshot)
		printf("snapshot   created %s, journal %lld, %llu bytes, sha256"
		    " %.16s...\n", hb.snapshot.created,
		    (long long)hb.snapshot.journal,
		    (unsigned long long)hb.snapshot.size, hb.snapshot.sha256);
	else
		printf("snapshot   none yet\n");
	printf("last push  %s%s%s\n", last_push != NULL ? last_push : "never",
	    push_error != NULL ? "; last attempt failed: " : "",
	    push_error != NULL ? push_error : "");
	printf("alarms     %d active\n", hb.alarms);
	for (i = 0; i < npeers; i++)
		(void)status_peer(r, i, 1, err);
	(void)status_replication(r, 1, err);
	if (r->active_room != NULL)
		printf("active     room %s has its listener open\n",
		    r->active_room);
	printf("started    %s\n", started);
	ret = 0;
done:
	peerproto_heartbeat_free(&hb);
	return ret;
}

/* One push of a snapshot reply (checked, printed when print). */
static int
snapshot_push(const struct control_reply *r, size_t i, int print, char *err)
{
	const char *peer, *url, *error = NULL;
	char k[64];
	int ok;

	snprintf(k, sizeof(k), "pushed[%zu].peer", i);
	if (control_reply_string(r, k, &peer, err) == -1)
		return -1;
	snprintf(k, sizeof(k), "pushed[%zu].url", i);
	if (control_reply_string(r, k, &url, err) == -1)
		return -1;
	snprintf(k, sizeof(k), "pushed[%zu].ok", i);
	if (control_reply_boolean(r, k, &ok, err) == -1)
		return -1;
	snprintf(k, sizeof(k), "pushed[%zu].error", i);
	if (!ok && control_reply_string(r, k, &error, err) == -1)
		return -1;
	if (!print)
		return 0;
	if (ok)
		printf("pushed to %s (%s)\n", peer, url);
	else
		printf("push to %s (%s) FAILED: %s\n", peer, url, error);
	return 0;
}

/* `enumdr agent snapshot`: the export and its pushes, when it got that
 * far (a failed export has no "snapshot"); all checked before printing. */
static int
print_snapshot(const struct control_reply *r, char *err)
{
	const char *room, *sha256;
	long long journal, size;
	size_t npushed, i;
	int exported;

	if (!control_reply_has(r, "snapshot"))
		return 0;
	if (control_reply_string(r, "room", &room, err) == -1 ||
	    control_reply_integer(r, "snapshot.journal", 0, INT64_MAX,
	    &journal, err) == -1 || control_reply_integer(r, "snapshot.size",
	    0, INT64_MAX, &size, err) == -1 || control_reply_string(r,
	    "snapshot.sha256", &sha256, err) == -1 ||
	    control_reply_boolean(r, "snapshot.exported", &exported,
	    err) == -1 || control_reply_array(r, "pushed", &npushed,
	    err) == -1)
		return -1;
	for (i = 0; i < npushed; i++)
		if (snapshot_push(r, i, 0, err) == -1)
			return -1;
	printf("snapshot of room %s: journal %lld, %lld bytes, sha256 %.16s..."
	    " (%s)\n", room, journal, size, sha256, exported ?
	    "exported now" : "unchanged since the last export");
	for (i = 0; i < npushed; i++)
		(void)snapshot_push(r, i, 1, err);
	return 0;
}

/* The reply of open, close or role, printed. */
static int
print_changed(const struct control_reply *r, const char *action, char *err)
{
	const char *room, *value;
	int changed;

	if (control_reply_string(r, "room", &room, err) == -1)
		return -1;
	if (strcmp(action, "role") == 0) {
		if (control_reply_string(r, "role", &value, err) == -1)
			return -1;
		printf("room %s: role %s\n", room, value);
		return 0;
	}
	if (control_reply_string(r, "listener", &value, err) == -1 ||
	    control_reply_boolean(r, "changed", &changed, err) == -1)
		return -1;
	printf("room %s: provisioning listener %s%s\n", room, value,
	    changed ? "" : " (unchanged)");
	return 0;
}

/* The request line of a sub-command and its timeout; an exit code. */
static int
agent_line(const struct config *cfg, int argc, char **argv, char *line,
    size_t linelen, int *timeout_ms)
{
	const char *action = argv[0];
	size_t peers;

	if (strcmp(action, "role") == 0) {
		if (argc != 2)
			return agent_usage("role needs one argument (MASTER,"
			    " BACKUP, FAULT, STOP ...)", NULL);
		if (strlen(argv[1]) > 16)
			return agent_usage("role too long:", argv[1]);
		snprintf(line, linelen, "role %s", argv[1]);
		*timeout_ms = TIMEOUT_STATUS_MS;
	} else if (strcmp(action, "open") == 0 ||
	    strcmp(action, "close") == 0 || strcmp(action, "status") == 0 ||
	    strcmp(action, "snapshot") == 0) {
		if (argc != 1)
			return agent_usage("unexpected argument", argv[1]);
		snprintf(line, linelen, "%s", action);
		if (strcmp(action, "status") == 0) {
			*timeout_ms = TIMEOUT_STATUS_MS;
		} else if (strcmp(action, "snapshot") == 0) {
			/* export, then two files to every peer */
			peers = cfg->npeers > 0 ? cfg->npeers : 1;
			*timeout_ms = 60000 + (int)peers * 2 *
			    (cfg->transfer_timeout_ms + cfg->connect_timeout_ms);
		} else {
			*timeout_ms = TIMEOUT_LISTENER_MS;
		}
	} else {
		return agent_usage("unknown sub-command", action);
	}
	return EXIT_OK;
}

int
agent_cmd(const struct config *cfg, int argc, char **argv, int json)
{
	char line[128], err[ENUMDR_ERRLEN];
	struct control_reply r;
	const char *action;
	int timeout_ms, rc, shown = 0;

	if (argc < 1)
		return agent_usage("expected a sub-command", NULL);
	action = argv[0];
	if ((rc = agent_line(cfg, argc, argv, line, sizeof(line),
	    &timeout_ms)) != EXIT_OK)
		return rc;
	switch (control_request(cfg->control_socket, line, timeout_ms, &r,
	    err)) {
	case CONTROL_OK:
		break;
	case CONTROL_EUNREACHABLE:
		rc = errno == EACCES ? EX_NOPERM : EXIT_UNAVAILABLE;
		fprintf(stderr, "enumdr: agent of room %s: %s\n", cfg->room, err);
		control_reply_free(&r);
		return rc;
	default:
		fprintf(stderr, "enumdr: agent of room %s: unreadable reply:"
		    " %s\n", cfg->room, err);
		control_reply_free(&r);
		return EXIT_SOFTWARE;
	}
	rc = r.ok ? EXIT_OK : r.denied ? EX_NOPERM : EXIT_FAILED;
	if (json)
		printf("%s\n", r.text);
	else if (strcmp(action, "status") == 0)
		shown = r.ok ? print_status(&r, err) : 0;
	else if (strcmp(action, "snapshot") == 0)
		shown = print_snapshot(&r, err);
	else
		shown = r.ok ? print_changed(&r, action, err) : 0;
	if (!json && shown == -1) {
		fprintf(stderr, "enumdr: agent of room %s: unreadable reply:"
		    " %s\n", cfg->room, err);
		rc = EXIT_SOFTWARE;
	} else if (!r.ok) {
		fprintf(stderr, "enumdr: agent of room %s: %s\n", cfg->room,
		    r.error);
	}
	control_reply_free(&r);
	return rc;
}

int
agent_write(const struct config *cfg, const char *what, const char *line,
    const char *body, size_t bodylen, int timeout_ms,
    struct control_reply *r)
{
	char err[ENUMDR_ERRLEN];

	switch (control_request_body(cfg->control_socket, line, body, bodylen,
	    timeout_ms, r, err)) {
	case CONTROL_OK:
		break;
	case CONTROL_EUNREACHABLE:
		if (errno == EACCES) {
			fprintf(stderr, "enumdr: %s: the control socket %s"
			    " refused us: %s\n", what, cfg->control_socket,
			    err);
			control_reply_free(r);
			return EX_NOPERM;
		}
		fprintf(stderr, "enumdr: %s: the room agent enumdrd is not"
		    " running (control socket %s: %s); start it (systemctl"
		    " start enumdrd, or enumdrd -c CONFIG): it is the only"
		    " writer of the database\n", what, cfg->control_socket,
		    err);
		control_reply_free(r);
		return EXIT_UNAVAILABLE;
	default:
		fprintf(stderr, "enumdr: %s: agent of room %s: unreadable"
		    " reply: %s\n", what, cfg->room, err);
		control_reply_free(r);
		return EXIT_SOFTWARE;
	}
	if (r->denied) {
		fprintf(stderr, "enumdr: %s: agent of room %s: %s\n", what,
		    cfg->room, r->error);
		control_reply_free(r);
		return EX_NOPERM;
	}
	return EXIT_OK;
}
