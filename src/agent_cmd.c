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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_cmd.h"
#include "control.h"
#include "exitcodes.h"
#include "util.h"

#define TIMEOUT_STATUS_MS 5000
#define REPLY_MAX (1024 * 1024)		/* a status with thousands of zones */
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

static const char *
str(json_t *o, const char *key, const char *def)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

static long long
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void
print_status(json_t *r)
{
	json_t *zones, *snap, *peers, *z, *p;
	size_t i;

	printf("room       %s\n", str(r, "room", "?"));
	printf("role       %s\n", str(r, "role", "?"));
	printf("listener   %s\n", str(r, "listener", "?"));
	printf("journal    %lld\n", num(r, "journal"));
	zones = json_object_get(r, "zones");
	for (i = 0; i < json_array_size(zones); i++) {
		z = json_array_get(zones, i);
		printf("zone       %-28s serial %10lld\n", str(z, "origin", "?"),
		    num(z, "serial"));
	}
	snap = json_object_get(r, "snapshot");
	if (json_is_object(snap))
		printf("snapshot   created %s, journal %lld, %lld bytes, sha256"
		    " %.16s...\n", str(snap, "created", "?"),
		    num(snap, "journal"), num(snap, "size"),
		    str(snap, "sha256", "?"));
	else
		printf("snapshot   none yet\n");
	printf("last push  %s%s%s\n", str(r, "last_push", "never"),
	    json_is_string(json_object_get(r, "push_error")) ?
	    "; last attempt failed: " : "",
	    str(r, "push_error", ""));
	printf("alarms     %lld active\n", num(r, "alarms"));
	peers = json_object_get(r, "peers");
	for (i = 0; i < json_array_size(peers); i++) {
		p = json_array_get(peers, i);
		if (json_is_string(json_object_get(p, "last_seen")))
			printf("peer       %s: %s, role %s, listener %s, last"
			    " seen %s\n", str(p, "name", "?"),
			    json_is_true(json_object_get(p, "reachable")) ?
			    "reachable" : "unreachable", str(p, "role", "?"),
			    str(p, "listener", "?"), str(p, "last_seen", "?"));
		else
			printf("peer       %s: not seen%s%s\n",
			    str(p, "name", "?"),
			    json_is_string(json_object_get(p, "error")) ?
			    ": " : "", str(p, "error", ""));
	}
	if (json_is_string(json_object_get(r, "active_room")))
		printf("active     room %s has its listener open\n",
		    str(r, "active_room", "?"));
	printf("started    %s\n", str(r, "started", "?"));
}

static void
print_snapshot(json_t *r)
{
	json_t *snap = json_object_get(r, "snapshot"), *pushed, *p;
	size_t i;

	if (json_is_object(snap))
		printf("snapshot of room %s: journal %lld, %lld bytes, sha256"
		    " %.16s... (%s)\n", str(r, "room", "?"),
		    num(snap, "journal"), num(snap, "size"),
		    str(snap, "sha256", "?"),
		    json_is_true(json_object_get(snap, "exported")) ?
		    "exported now" : "unchanged since the last export");
	pushed = json_object_get(r, "pushed");
	for (i = 0; i < json_array_size(pushed); i++) {
		p = json_array_get(pushed, i);
		if (json_is_true(json_object_get(p, "ok")))
			printf("pushed to %s (%s)\n", str(p, "peer", "?"),
			    str(p, "url", "?"));
		else
			printf("push to %s (%s) FAILED: %s\n",
			    str(p, "peer", "?"), str(p, "url", "?"),
			    str(p, "error", "?"));
	}
}

int
agent_cmd(const struct config *cfg, int argc, char **argv, int json)
{
	char line[128], err[ENUMDR_ERRLEN], *reply;
	json_error_t jerr;
	json_t *r;
	const char *action;
	int timeout_ms, rc, denied;
	size_t peers;

	if (argc < 1)
		return agent_usage("expected a sub-command", NULL);
	action = argv[0];
	if (strcmp(action, "role") == 0) {
		if (argc != 2)
			return agent_usage("role needs one argument (MASTER,"
			    " BACKUP, FAULT, STOP ...)", NULL);
		if (strlen(argv[1]) > 16)
			return agent_usage("role too long:", argv[1]);
		snprintf(line, sizeof(line), "role %s", argv[1]);
		timeout_ms = TIMEOUT_STATUS_MS;
	} else if (strcmp(action, "open") == 0 ||
	    strcmp(action, "close") == 0 || strcmp(action, "status") == 0 ||
	    strcmp(action, "snapshot") == 0) {
		if (argc != 1)
			return agent_usage("unexpected argument", argv[1]);
		snprintf(line, sizeof(line), "%s", action);
		if (strcmp(action, "status") == 0) {
			timeout_ms = TIMEOUT_STATUS_MS;
		} else if (strcmp(action, "snapshot") == 0) {
			/* export, then two files to every peer */
			peers = cfg->npeers > 0 ? cfg->npeers : 1;
			timeout_ms = 60000 + (int)peers * 2 *
			    (cfg->transfer_timeout_ms + cfg->connect_timeout_ms);
		} else {
			timeout_ms = TIMEOUT_LISTENER_MS;
		}
	} else {
		return agent_usage("unknown sub-command", action);
	}

	if ((reply = malloc(REPLY_MAX)) == NULL) {
		fprintf(stderr, "enumdr: out of memory\n");
		return EXIT_SOFTWARE;
	}
	if (control_request(cfg->control_socket, line, reply, REPLY_MAX,
	    timeout_ms, err) == -1) {
		denied = errno == EACCES;
		fprintf(stderr, "enumdr: agent of room %s: %s\n", cfg->room, err);
		free(reply);
		return denied ? EX_NOPERM : EXIT_UNAVAILABLE;
	}
	r = json_loads(reply, 0, &jerr);
	if (r == NULL || !json_is_object(r)) {
		fprintf(stderr, "enumdr: agent of room %s: unreadable reply"
		    " (%s): %.200s\n", cfg->room, r == NULL ? jerr.text :
		    "not an object", reply);
		json_decref(r);
		free(reply);
		return EXIT_SOFTWARE;
	}
	if (json_is_true(json_object_get(r, "ok"))) {
		rc = EXIT_OK;
		if (json)
			printf("%s\n", reply);
		else if (strcmp(action, "status") == 0)
			print_status(r);
		else if (strcmp(action, "snapshot") == 0)
			print_snapshot(r);
		else if (strcmp(action, "role") == 0)
			printf("room %s: role %s\n", str(r, "room", "?"),
			    str(r, "role", "?"));
		else
			printf("room %s: provisioning listener %s%s\n",
			    str(r, "room", "?"), str(r, "listener", "?"),
			    json_is_false(json_object_get(r, "changed")) ?
			    " (unchanged)" : "");
	} else {
		rc = json_is_true(json_object_get(r, "denied")) ? EX_NOPERM :
		    EXIT_FAILED;
		if (json)
			printf("%s\n", reply);
		else if (strcmp(action, "snapshot") == 0)
			print_snapshot(r);
		fprintf(stderr, "enumdr: agent of room %s: %s\n", cfg->room,
		    str(r, "error", "request failed"));
	}
	json_decref(r);
	free(reply);
	return rc;
}

int
agent_write(const struct config *cfg, const char *what, const char *line,
    const char *body, size_t bodylen, int timeout_ms, json_t **replyp)
{
	char err[ENUMDR_ERRLEN], *reply;
	json_error_t jerr;
	json_t *r;
	int rc = EXIT_OK;

	*replyp = NULL;
	if ((reply = malloc(REPLY_MAX)) == NULL) {
		fprintf(stderr, "enumdr: out of memory\n");
		return EXIT_SOFTWARE;
	}
	if (control_request_body(cfg->control_socket, line, body, bodylen,
	    reply, REPLY_MAX, timeout_ms, err) == -1) {
		if (errno == EACCES) {
			fprintf(stderr, "enumdr: %s: the control socket %s"
			    " refused us: %s\n", what, cfg->control_socket,
			    err);
			rc = EX_NOPERM;
		} else {
			fprintf(stderr, "enumdr: %s: the room agent enumdrd"
			    " is not running (control socket %s: %s); start"
			    " it (systemctl start enumdrd, or enumdrd -c"
			    " CONFIG): it is the only writer of the database"
			    "\n", what, cfg->control_socket, err);
			rc = EXIT_UNAVAILABLE;
		}
		goto done;
	}
	r = json_loads(reply, 0, &jerr);
	if (r == NULL || !json_is_object(r)) {
		fprintf(stderr, "enumdr: %s: agent of room %s: unreadable reply"
		    " (%s): %.200s\n", what, cfg->room, r == NULL ? jerr.text :
		    "not an object", reply);
		json_decref(r);
		rc = EXIT_SOFTWARE;
		goto done;
	}
	if (json_is_true(json_object_get(r, "denied"))) {
		fprintf(stderr, "enumdr: %s: agent of room %s: %s\n", what,
		    cfg->room, str(r, "error", "refused"));
		json_decref(r);
		rc = EX_NOPERM;
		goto done;
	}
	*replyp = r;
done:
	free(reply);
	return rc;
}
