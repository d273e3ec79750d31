/*
 * control.h — the client side of enumdrd's control socket (S0.5: the
 * notify side tells the communication agent to open or close the
 * provisioning listener; S0.6, S0.7), and the one strict parser of its
 * replies (issue 13).  One request line, one JSON reply line; the server
 * side is plugin/control_server.c, the requests are documented in
 * doc/enumdrd.md:
 *
 *   open | close | status | snapshot | role MASTER|BACKUP|FAULT|STOP
 *   provision LEN (+ LEN bytes of JSON) | zone ORIGIN [SERIAL]
 *   export [DIR] | import DIR | sync DIR [dry-run]
 *
 * The reply envelope is strict: a JSON object of at most CONTROL_REPLY_MAX
 * bytes, on one line ending in a newline, without duplicate keys; "ok" a
 * boolean; when false, "error" a string; "status" (when present) an
 * integer 100..599; "denied", "closed" (when present) booleans;
 * "active_room" (when present) a string or null.  The members a caller
 * needs beyond that are read with the typed accessors below, which fail
 * with an error naming the member — never a default.
 *
 * Like all of lib/, nothing here prints or exits: functions return a
 * status and fill the caller's err (ENUMDR_ERRLEN bytes).
 */
#ifndef ENUMDR_CONTROL_H
#define ENUMDR_CONTROL_H

#include <stddef.h>

#include <jansson.h>

/* A reply line, bytes without its newline: a status of thousands of
 * zones (about 45 bytes a zone) fits. */
#define CONTROL_REPLY_MAX (1024 * 1024)
#define CONTROL_FROM_MAX  108           /* sun_path: where a reply came from */

/* Results of control_request and control_request_body. */
#define CONTROL_OK            0
#define CONTROL_EUNREACHABLE  (-1)   /* no reply: connect, send, timeout */
#define CONTROL_EPROTO        (-2)   /* a reply that breaks the protocol */

/* One parsed reply.  Pointers point into root, live until
 * control_reply_free. */
struct control_reply {
	json_t *root;                  /* the reply object (owned) */
	char *text;                    /* the reply line as received (owned) */
	size_t len;                    /* its bytes, without the newline */
	char from[CONTROL_FROM_MAX];   /* the socket path, "" when parsed alone */
	int ok;                        /* "ok" */
	const char *error;             /* "error" when !ok, else NULL */
	int status;                    /* "status" when present, else 0 */
	int denied;                    /* "denied": refused by the agent's uid check */
	int closed;                    /* "closed": the listener gate refused */
	const char *active_room;       /* "active_room", NULL if absent/null */
};

/* Parse a reply line of len bytes (without its newline) into r, which
 * the caller releases with control_reply_free (also after a failure).
 * 0, or -1 with err: "control reply: member \"ok\" missing",
 * "control reply: not JSON: ... at byte 12", ... */
int control_reply_parse(const char *text, size_t len,
    struct control_reply *r, char *err);

/* Release r's root and text; r may be reused. */
void control_reply_free(struct control_reply *r);

/*
 * Typed accessors.  path names a member of the reply: "outcome",
 * "snapshot.journal", "zones[2].origin".  0 and *out, or -1 with err
 * naming the member and the socket: "control reply from PATH: member
 * \"zones[2].origin\" missing", "...: member \"journal\": not an integer
 * (it is a string)".
 */
int control_reply_string(const struct control_reply *r, const char *path,
    const char **out, char *err);
/* Present, a string or null (*out NULL). */
int control_reply_string_or_null(const struct control_reply *r,
    const char *path, const char **out, char *err);
/* An integer in min..max. */
int control_reply_integer(const struct control_reply *r, const char *path,
    long long min, long long max, long long *out, char *err);
/* Present, an integer in min..max or null (*isnull 1, *out 0). */
int control_reply_integer_or_null(const struct control_reply *r,
    const char *path, long long min, long long max, long long *out,
    int *isnull, char *err);
int control_reply_boolean(const struct control_reply *r, const char *path,
    int *out, char *err);
/* An array: its size in *n. */
int control_reply_array(const struct control_reply *r, const char *path,
    size_t *n, char *err);
/* An object or null: *present says which. */
int control_reply_object_or_null(const struct control_reply *r,
    const char *path, int *present, char *err);
/* 1 when path names a member that is present and not null, else 0 (for
 * the members the agent sends only sometimes: "step", "last_seen"). */
int control_reply_has(const struct control_reply *r, const char *path);

/* Send line (no newline) to the agent at socket_path and read and parse
 * its reply line into r (released by the caller with control_reply_free,
 * whatever the result), the whole exchange bounded by timeout_ms.
 * CONTROL_OK when a reply came (the agent's own refusal is a reply: r->ok
 * 0); CONTROL_EUNREACHABLE and err when the agent could not be reached or
 * did not answer in time (errno EACCES when the socket's file permissions
 * refused us, else ECONNREFUSED); CONTROL_EPROTO and err when the reply was
 * cut, too long or breaks the envelope.  err names the socket path. */
int control_request(const char *socket_path, const char *line,
    int timeout_ms, struct control_reply *r, char *err);

/* The same with a body: line ("provision LEN"), its newline, then bodylen
 * bytes of body (the agent reads at most 1 MiB within 5 s). */
int control_request_body(const char *socket_path, const char *line,
    const char *body, size_t bodylen, int timeout_ms,
    struct control_reply *r, char *err);

/* The reply timeout for a request that imports or exports a whole
 * database (sync, import, export of a million numbers takes seconds):
 * 60 s plus twice the configured transfer timeout, at most 1 hour. */
#define CONTROL_LONG_TIMEOUT_MAX_MS (3600 * 1000)
int control_long_timeout_ms(int transfer_timeout_ms);

#endif
