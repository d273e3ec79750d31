/*
 * peerproto.h — the protocol between rooms, in one place (issue 13): the
 * heartbeat an agent answers on GET /v1/heartbeat (S0.3, S0.4: liveness;
 * S0.7: its journal position, the "number-table sequence number"), and
 * the change journal it answers on GET /v1/journal (issue 14: continuous
 * replication), each as a struct, with one emitter (the agent), one
 * strict parser and one bounded client (heartbeat: the agent's peer
 * watch, the checkers, enumdr-notify; journal: the agent's followers).
 * The formats and their rules: doc/peer-protocol.md.
 *
 * Strict: every member the protocol lists must be present, with its JSON
 * type and a valid value; a missing or bad one is an error naming it,
 * never a default.  Members the protocol does not list are ignored (a
 * later version of the same protocol may add some).  "v" is the protocol
 * version: a heartbeat of another version (or of an agent from before
 * "v", which sends none) is refused with an error that says so.
 *
 * Like all of lib/, nothing here prints or exits: functions return a
 * status and fill the caller's err (ENUMDR_ERRLEN bytes).
 */
#ifndef ENUMDR_PEERPROTO_H
#define ENUMDR_PEERPROTO_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "store.h"
#include "util.h"

#define PEERPROTO_VERSION        1              /* "v" of this release */
#define PEERPROTO_HEARTBEAT_PATH "/v1/heartbeat"
#define PEERPROTO_BODY_MAX       (1024 * 1024)  /* a heartbeat body, bytes */
#define PEERPROTO_ZONES_MAX      10000          /* zones in one heartbeat */
#define PEERPROTO_ROLE_MAX       16             /* role token + NUL */
#define PEERPROTO_TIME_MAX       21             /* 2026-11-29T15:34:26Z + NUL */
#define PEERPROTO_SHA256_MAX     65             /* 64 hex digits + NUL */
#define PEERPROTO_TEXT_MAX       ENUMDR_ERRLEN  /* storage_error, bytes + NUL */

#define PEERPROTO_JOURNAL_PATH   "/v1/journal"
#define PEERPROTO_JOURNAL_BODY_MAX (64 * 1024 * 1024) /* a journal body */
#define PEERPROTO_CHANGES_MAX    10000          /* changes in one answer */
#define PEERPROTO_WAIT_MAX       25000          /* wait_ms, the long-poll */
#define PEERPROTO_WAIT_MARGIN_MS 2000           /* the client's total timeout:
                                                 * wait + 2 x connect + this */

/* Results of peerproto_heartbeat_get and peerproto_journal_get. */
#define PEERPROTO_OK             0
#define PEERPROTO_EUNREACHABLE   (-1)   /* no answer: connect, timeout, ... */
#define PEERPROTO_EPROTO         (-2)   /* an answer that is no heartbeat
                                         * (no journal) of this protocol */

/* "storage": can the agent write its database (S0.5, S0.6). */
enum peerproto_storage {
	PEERPROTO_STORAGE_OK,            /* "ok" */
	PEERPROTO_STORAGE_FULL,          /* "full": disk full */
	PEERPROTO_STORAGE_ERROR          /* "error": any other failed write */
};

/* One zone of "zones". */
struct peerproto_zone {
	char origin[STORE_ORIGIN_MAX];   /* valid by store_origin_valid */
	uint32_t serial;                 /* SOA serial, 0..2^32-1 */
};

/* "snapshot": the agent's latest export (when have_snapshot). */
struct peerproto_snapshot {
	char created[PEERPROTO_TIME_MAX];     /* UTC, as util_utc_iso8601 */
	int64_t journal;                      /* journal position it holds */
	uint64_t size;                        /* database bytes */
	char sha256[PEERPROTO_SHA256_MAX];    /* of the database, lower hex */
};

/* One entry of "following" (issue 14): the agent's following of one
 * peer's journal. */
#define PEERPROTO_REPL_STATE_MAX 16
struct peerproto_repl {
	char peer[CONFIG_NAME_MAX];           /* "peer": the peer room */
	char state[PEERPROTO_REPL_STATE_MAX]; /* "state": [a-z-]{1,15}:
	                                       * connecting, catching-up,
	                                       * following, gap, error, off */
	int64_t behind;                       /* "behind": changes, >= 0 */
};

/* One heartbeat: every member the agent sends. */
struct peerproto_heartbeat {
	int version;                          /* "v": PEERPROTO_VERSION */
	char room[CONFIG_NAME_MAX];           /* "room": [A-Za-z0-9_-]{1,63} */
	char role[PEERPROTO_ROLE_MAX];        /* "role": [A-Z0-9_-]{1,15} */
	int listener_open;                    /* "listener": "open"|"closed" */
	int64_t journal;                      /* "journal": >= 0 (S0.7) */
	struct peerproto_zone *zones;         /* "zones" (malloc'd; owned) */
	size_t nzones;
	int have_snapshot;                    /* "snapshot" is an object */
	struct peerproto_snapshot snapshot;   /* ... then this */
	int alarms;                           /* "alarms": active alarms >= 0 */
	enum peerproto_storage storage;       /* "storage" */
	char storage_error[PEERPROTO_TEXT_MAX]; /* "" when ok (null) */
	char time[PEERPROTO_TIME_MAX];        /* "time": the agent's UTC clock */
	/* "following" (added within version 1 by issue 14; optional: an
	 * agent of before sends none, and nrepl is 0) */
	struct peerproto_repl repl[CONFIG_MAX_PEERS];
	size_t nrepl;
};

/* "ok", "full" or "error". */
const char *peerproto_storage_name(enum peerproto_storage s);

/* Parse a heartbeat body of len bytes into hb (which the caller frees with
 * peerproto_heartbeat_free, also after a failure).  0, or -1 with err
 * naming the member: "member \"journal\" missing",
 * "member \"zones[2].serial\": 4294967296 is out of range 0..4294967295",
 * "protocol version 2 (member \"v\"); this program speaks 1", ... */
int peerproto_heartbeat_parse(const char *body, size_t len,
    struct peerproto_heartbeat *hb, char *err);

/* The heartbeat JSON of hb (the agent's answer, with "v"), or NULL with
 * err when out of memory.  The caller fills hb from values that are valid
 * by construction; the unit test's round trips hold the emitter to the
 * parser. */
json_t *peerproto_heartbeat_json(const struct peerproto_heartbeat *hb,
    char *err);

/* Release hb's zones; hb may be reused. */
void peerproto_heartbeat_free(struct peerproto_heartbeat *hb);

/*
 * GET url (http or https), the connect phase bounded by connect_ms and
 * the whole request by total_ms, and parse the answer.  PEERPROTO_OK;
 * PEERPROTO_EUNREACHABLE when no answer came (err from the transfer:
 * "GET URL: ..."); PEERPROTO_EPROTO when an answer came that is not a
 * heartbeat of this protocol — another HTTP status than 200, a body over
 * PEERPROTO_BODY_MAX, a parse error — with err "heartbeat from URL: ..."
 * (the URL's password hidden).  *status (may be NULL) is the HTTP status,
 * 0 when none.  transfer_global_init must have been called.
 */
int peerproto_heartbeat_get(const char *url, long connect_ms, long total_ms,
    struct peerproto_heartbeat *hb, long *status, char *err);

/*
 * The change journal (GET /v1/journal?after=N&limit=M&wait_ms=W&room=R):
 * the agent's journal rows after N, in seq order, ending at a transaction
 * boundary.  first..last is what the journal holds; after < first - 1 is
 * a gap (the rows after N were trimmed: heal from a snapshot).
 */
struct peerproto_journal {
	int version;                          /* "v": PEERPROTO_VERSION */
	char room[CONFIG_NAME_MAX];           /* "room": the answering room */
	char database[STORE_UUID_MAX];        /* "database": its uuid, 32
	                                       * lower-case hex digits */
	int64_t after;                        /* "after": as asked */
	int64_t first;                        /* "first": the lowest seq kept
	                                       * (last + 1: none kept) */
	int64_t last;                         /* "last": the journal position */
	struct journal_row *rows;             /* "changes" (malloc'd; owned,
	                                       * each row's records too) */
	size_t nrows;
	char time[PEERPROTO_TIME_MAX];        /* "time": the agent's UTC clock */
};

/* Parse a journal body of len bytes into j (which the caller frees with
 * peerproto_journal_free, also after a failure).  0, or -1 with err
 * naming the member: "member \"changes[3].oseq\": 0 is out of range ...".
 * Every change is checked as untrusted input (doc/peer-protocol.md). */
int peerproto_journal_parse(const char *body, size_t len,
    struct peerproto_journal *j, char *err);

/* The journal JSON of j (the agent's answer, with "v"), or NULL with err
 * when out of memory. */
json_t *peerproto_journal_json(const struct peerproto_journal *j,
    char *err);

/* Release j's rows; j may be reused. */
void peerproto_journal_free(struct peerproto_journal *j);

/* Does j leave out rows the asker needs (after < first - 1)? */
int peerproto_journal_gap(const struct peerproto_journal *j);

/* A journal client: one libcurl handle kept for its life, so that the
 * TCP connection to the peer stays open from one poll to the next. */
struct peerproto_client;

/* NULL when out of memory.  transfer_global_init must have been called. */
struct peerproto_client *peerproto_client_new(void);
void peerproto_client_free(struct peerproto_client *c);
/* A request of c ends (PEERPROTO_EUNREACHABLE) within about a second of
 * *flag becoming non-zero: a long-poll does not hold up a shutdown. */
void peerproto_client_abort_on(struct peerproto_client *c,
    const atomic_int *flag);

/*
 * GET journal_url?after=N&limit=M&wait_ms=W[&room=R] on c and parse the
 * answer into out (freed by the caller with peerproto_journal_free, also
 * after a failure).  room is our room (the peer counts our after as our
 * acknowledgement), NULL or "" for none; limit 1..PEERPROTO_CHANGES_MAX;
 * wait_ms 0..PEERPROTO_WAIT_MAX (0: answer at once).  The connect phase
 * is bounded by connect_ms, the whole request by wait_ms + 2 x connect_ms
 * + PEERPROTO_WAIT_MARGIN_MS.  Outcomes as peerproto_heartbeat_get's:
 * PEERPROTO_OK; PEERPROTO_EUNREACHABLE (err "GET URL: ..."); or
 * PEERPROTO_EPROTO (err "journal from URL: ...": an HTTP status other
 * than 200, a body over PEERPROTO_JOURNAL_BODY_MAX, a parse error, an
 * answer to another "after" than asked).  A bad argument is
 * PEERPROTO_EPROTO too, before any request.
 */
int peerproto_journal_get(struct peerproto_client *c, const char *journal_url,
    const char *room, int64_t after, int limit, int wait_ms, int connect_ms,
    struct peerproto_journal *out, char *err);

/*
 * The switchover negotiation (issue 15, S3.2, S3.3; doc/switchover.md):
 * POST switchover_url?from=ROOM&state=S&position=P&wait_ms=W, no body;
 * the answer is a JSON object {"v", "room", "state", "position", "error"}
 * with HTTP 200 whatever the state (a refusal is a state, with its
 * reason in "error").
 */
#define PEERPROTO_SWITCHOVER_PATH "/v1/switchover"

enum peerproto_sw_request {
	PEERPROTO_SW_REQUEST,     /* "request-switch": will you take over? */
	PEERPROTO_SW_GOING,       /* "going-to-switch": my listener is closed at
	                           * journal position P; catch up (wait at most
	                           * W ms) and take the VIP */
	PEERPROTO_SW_ABORT        /* "abort": the switchover is off; give up
	                           * the preference it gave you */
};
enum peerproto_sw_answer {
	PEERPROTO_SW_AGREE,       /* "agree-switch" */
	PEERPROTO_SW_SWITCHING,   /* "switching": caught up, preferred now */
	PEERPROTO_SW_ABORTED,     /* "aborted" */
	PEERPROTO_SW_REFUSED      /* "refused": "error" says why */
};
struct peerproto_switchover {
	int version;
	char room[CONFIG_NAME_MAX];          /* the answering room */
	enum peerproto_sw_answer answer;     /* "state" */
	int64_t position;                    /* its cursor in our journal */
	char error[PEERPROTO_TEXT_MAX];      /* "" when null */
};
const char *peerproto_sw_request_name(enum peerproto_sw_request r);
int peerproto_sw_request_from_name(const char *name,
    enum peerproto_sw_request *r);
const char *peerproto_sw_answer_name(enum peerproto_sw_answer a);
/*
 * The witness (issue 15, doc/witness.md): GET witness_url?room=R answers
 * {"v":1,"witness":NAME,"time":UTC}.  A room that gets this answer counts
 * the witness's vote for its quorum.
 */
#define PEERPROTO_WITNESS_PATH "/v1/witness"
/* A room name as the protocol carries it: [A-Za-z0-9_-]{1,63}. */
int peerproto_room_valid(const char *s);
struct peerproto_witness {
	int version;
	char witness[CONFIG_NAME_MAX];
	char time[PEERPROTO_TIME_MAX];
};
int peerproto_witness_parse(const char *body, size_t len,
    struct peerproto_witness *w, char *err);
json_t *peerproto_witness_json(const char *witness);
/* Bounded by 2 x connect_ms.  PEERPROTO_OK, _EUNREACHABLE or _EPROTO. */
int peerproto_witness_get(const char *witness_url, const char *room,
    int connect_ms, struct peerproto_witness *out, char *err);

/* Strict: unknown members, another version, a refusal without a reason
 * are errors naming the member. */
int peerproto_switchover_parse(const char *body, size_t len,
    struct peerproto_switchover *sw, char *err);
json_t *peerproto_switchover_json(const struct peerproto_switchover *sw);
/* The request, bounded by wait_ms + 2 x connect_ms + the margin:
 * PEERPROTO_OK (out holds the answer, a refusal included),
 * PEERPROTO_EUNREACHABLE or PEERPROTO_EPROTO (err says which). */
int peerproto_switchover_post(const char *switchover_url, const char *from,
    enum peerproto_sw_request req, int64_t position, int wait_ms,
    int connect_ms, struct peerproto_switchover *out, char *err);

#endif
