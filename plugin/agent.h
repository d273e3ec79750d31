/*
 * agent.h — the room agent enumdrd (S0.5 provisioning module and
 * communication agent, S1.4 read-only standby, S0.1 periodic snapshot,
 * S0.3/S0.4/S0.7 heartbeat and sequence number for the peers).
 *
 * One process, these threads:
 *   main        signals (sigtimedwait, no handlers), SIGHUP reload, the
 *               storage probe and alarm count once a second, orderly
 *               shutdown (the published state moves with the agent's own
 *               commits and imports: nothing else writes the database)
 *   MHD         two libmicrohttpd daemons, a thread per connection:
 *               provisioning (provision.c) and the peer API (peerapi.c)
 *   watchdog    their deadlines and limits' summary lines (http.c; its
 *               lock is a leaf, taken after any of the ones below)
 *   control     the unix control socket (control_server.c)
 *   snapshot    periodic export + push to the peers (snapshot_job.c)
 *   peerwatch   polls the peers' heartbeats (peerwatch.c)
 *   dnsjob      re-runs the load steps after commits while open (dnsjob.c)
 *
 * Locks, always taken in this order and never the other way round:
 *   writer_lock     the one writer connection and `open` (the listener
 *                   state that decides whether a change may commit)
 *   snapfiles_lock  the files in snapshot_dir while an export replaces them
 *   reader_lock     the read-only connection (number reads, journal reads,
 *                   the published-state refresh)
 *   storage_lock    whether the database can be written, and the
 *                   STORAGE_FULL / STORAGE_IO alarms (agent_state.c)
 *   pub.lock        the published state (agent_state.c): held for
 *                   microseconds, so that a heartbeat never waits on a write
 *   cfg_lock        the part of the configuration SIGHUP may change
 * Leaves (nothing else is taken while one is held): each job's lock
 * (job.c: its wake and stop), snap_lock (the snapshot requests waiting).
 *
 * The jobs (snapshot, peerwatch, dnsjob) are job.c's threads and return
 * results; the servers (provision.c, peerapi.c, control_server.c) answer
 * their clients.  No calls go round a cycle between these files (see
 * doc/enumdrd.md, "plugin/ structure").
 */
#ifndef ENUMDR_AGENT_H
#define ENUMDR_AGENT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "alarm.h"
#include "config.h"
#include "job.h"
#include "peerproto.h"
#include "provreq.h"
#include "snapshot.h"
#include "store.h"
#include "util.h"

#define AGENT_BODY_MAX     PROVREQ_BODY_MAX           /* provisioning body: 1 MiB */
#define AGENT_BATCH_MAX    PROVREQ_BATCH_MAX          /* changes per batch */
#define AGENT_UPLOAD_DB_MAX ((uint64_t)4 << 30)       /* incoming snapshot: 4 GiB */
#define AGENT_UPLOAD_SERIALS_MAX ((uint64_t)SERIAL_FILE_MAX)
#define AGENT_JOURNAL_LIMIT_MAX 10000                 /* rows per journal read */
#define AGENT_JOURNAL_LIMIT_DEF 1000
#define AGENT_CONTROL_LINE_MAX 256                    /* control request line */
#define AGENT_CONTROL_TIMEOUT_MS 2000                 /* to read that line */
#define AGENT_CONTROL_BODY_MAX AGENT_BODY_MAX         /* `provision LEN` body */
#define AGENT_CONTROL_BODY_TIMEOUT_MS 5000            /* to read that body */
#define AGENT_RETRY_MAX_S  30                         /* failed push: retry within */
#define AGENT_PEERWATCH_S  5                          /* peer heartbeat poll period */
#define AGENT_ROLE_MAX     16
#define AGENT_PROV_CONNECTIONS 64                     /* provisioning: at once */
#define AGENT_PEER_CONNECTIONS 32                     /* peer API: at once */
#define AGENT_LOCAL_RESERVE 4                         /* of those, for this machine only */

/* Status codes whose MHD names changed between releases (RFC 9110). */
#define HTTP_CONTENT_TOO_LARGE   413
#define HTTP_UNPROCESSABLE       422

struct pub_zone {
	char origin[STORE_ORIGIN_MAX];
	uint32_t serial;
};

/* What the agent knows of one peer from its last heartbeat poll. */
struct pub_peer {
	char name[CONFIG_NAME_MAX];       /* as configured */
	int polled;                       /* at least one poll done */
	int reachable;                    /* the last poll answered */
	int seen;                         /* some poll ever answered */
	char room[CONFIG_NAME_MAX];       /* from its last answer */
	char role[AGENT_ROLE_MAX];
	int listener_open;
	char last_seen[32];               /* UTC of the last answer */
	char error[256];                  /* why the last poll failed */
};

/* The published state: what heartbeats and `status` answer from. */
struct published {
	pthread_mutex_t lock;
	uint64_t gen;                     /* bumped by every commit */
	char role[AGENT_ROLE_MAX];        /* told by enumdr-notify; "UNKNOWN" */
	int listener_open;
	int64_t journal;
	size_t nzones, capzones;
	struct pub_zone *zones;           /* sorted by origin */
	int have_snapshot;
	char snap_created[32];
	int64_t snap_journal;
	uint64_t snap_size;
	char snap_sha256[65];
	int alarms;                       /* active alarms in state_dir */
	char started[32];
	char last_push[32];               /* UTC of the last push that worked */
	char push_error[ENUMDR_ERRLEN];   /* "" when the last push worked */
	int storage;                      /* enum agent_storage */
	char storage_error[ENUMDR_ERRLEN];/* why it cannot write ("" when ok) */
	char storage_since[32];           /* UTC of the first failed write */
	size_t npeers;
	struct pub_peer peers[CONFIG_MAX_PEERS];
	/* the followers' states, for the heartbeat (follower.c) */
	size_t nrepl;
	struct peerproto_repl repl[CONFIG_MAX_PEERS];
};

/* What this room knows of its replication with one peer (replica.c,
 * under agent.repl_lock): both directions, our following of its journal
 * and its following of ours (from its polls). */
struct repl_peer {
	char name[CONFIG_NAME_MAX];       /* as configured */
	char state[16];                   /* off, connecting, catching-up,
	                                   * following, gap, error */
	char uuid[STORE_UUID_MAX];        /* its database, from its answers */
	int64_t cursor;                   /* our position in its journal */
	int64_t peer_last;                /* its journal position, last answer */
	int64_t lag_ms;                   /* commit there -> applied here, of
	                                   * the newest change applied */
	int64_t caught_up_ms;             /* monotonic ms when cursor last
	                                   * reached peer_last (0: never) */
	char error[256];                  /* why it is not following */
	/* the other direction: its polls of our journal */
	int64_t acked;                    /* it holds our journal up to here */
	int64_t acked_ms;                 /* monotonic ms of that poll (0: none) */
};

/*
 * A request for a snapshot run (the control socket's `snapshot`).  The
 * client sets done and hands it to snapjob_request; when the run that took
 * it has ended, the job sets result (the run's reply: the client's
 * reference from then on) and calls done, on the job's thread and without
 * a lock held.  The job never answers anyone itself: done does.  The
 * client keeps req until done.
 */
struct snapjob_request {
	void (*done)(struct snapjob_request *req);
	json_t *result;
};
#define SNAPJOB_WAITING_MAX 8             /* requests queued for one run */

struct agent {
	/* configuration: the fields SIGHUP may change are read under cfg_lock
	 * (peers, snapshot interval, timeouts, ssh keys, alarm ident and
	 * facility); the others never change after start */
	pthread_mutex_t cfg_lock;
	struct config cfg;
	struct alarm_ctx alarms;          /* under cfg_lock */

	pthread_mutex_t writer_lock;
	struct store *writer;             /* the only writer of the database */
	int open;                         /* listener open (under writer_lock) */

	pthread_mutex_t snapfiles_lock;

	pthread_mutex_t reader_lock;
	struct store *reader;             /* read-only connection */
	char db_uuid[STORE_UUID_MAX];     /* its uuid, read once under
	                                   * reader_lock ("": not yet) */

	struct published pub;

	/* can the database be written (agent_state.c): the last write's or
	 * probe's verdict, read without a lock on every write */
	pthread_mutex_t storage_lock;
	atomic_int storage;               /* enum agent_storage */
	atomic_uint storage_gen;          /* bumped by every change of it */
	atomic_int storage_probe_asked;   /* probe at the next tick */
	int64_t storage_next_probe;       /* main thread only: monotonic ms */
	int storage_raised;               /* alarm sent for this state, or OK */
	int storage_raised_sev;           /* ... with this severity */
	int storage_unrecorded;           /* ... but its state file failed */
	int storage_stale;                /* a previous run's alarm may be active */

	struct MHD_Daemon *prov_daemon;
	struct MHD_Daemon *peer_daemon;

	atomic_int stopping;              /* set once by the main thread */
	atomic_int prov_inflight;         /* provisioning requests not yet
	                                   * answered (drained at SIGTERM) */

	/* the background jobs' locks are set up by main before any thread
	 * starts (a control request may come before its job runs) */

	/* snapshot job (snapshot_job.c) */
	struct job snap_job;
	pthread_mutex_t snap_lock;        /* the waiting requests below */
	struct snapjob_request *snap_waiting[SNAPJOB_WAITING_MAX];
	size_t nsnap_waiting;             /* requests for the next run */
	int64_t snap_last;                /* job thread: the last run's end */
	int snap_failed;                  /* job thread: it failed */
	char snap_failed_set[256];        /* job thread: SNAPSHOT_PUSH peers */

	/* peer heartbeat poller (peerwatch.c) */
	struct job watch_job;

	/* the quorum (quorum.c, issue 15): quorum_ok 1 while this room
	 * reaches a majority of its votes (always 1 with quorum.mode off);
	 * the other two are the job thread's */
	struct job quorum_job;
	atomic_int quorum_ok;
	_Atomic int64_t standdown_until;  /* switchover.c: monotonic ms */
	int64_t quorum_lost_ms;
	int quorum_alarm;

	/* DNS update job (dnsjob.c) */
	struct job dns_job;
	struct dnsfeed *dnsf;             /* its state (dnsjob.c only) */
	int (*dns_active)(struct agent *); /* does this room feed its DNS
	                                    * server? (set at start) */

	/* replication (replica.c): the followers of the peers' journals,
	 * and what the long-polls of our journal and synchronous
	 * provisioning wait on.  repl_lock is a leaf like pub.lock. */
	pthread_mutex_t repl_lock;
	pthread_cond_t repl_cond;         /* broadcast: our journal moved, a
	                                   * peer acknowledged, stopping */
	int64_t repl_journal;             /* our journal position */
	struct repl_peer repl[CONFIG_MAX_PEERS];
	size_t nrepl;
	pthread_t repl_threads[CONFIG_MAX_PEERS];
	int repl_started;
	int repl_degraded;                /* sync mode fell back (alarm
	                                   * REPLICATION_SYNC raised) */

	/* control socket (control_server.c) */
	pthread_t ctl_thread;
	int ctl_started;
	int ctl_fd;
	int ctl_wake[2];                  /* self-pipe that stops the thread */
};

/* agent_state.c — the published state. */
void pub_init(struct published *pub);
void pub_free(struct published *pub);
void pub_set_open(struct published *pub, int open);
void pub_set_role(struct published *pub, const char *role);
/* After a commit (writer lock held): move the zones' serials. */
void pub_commit(struct published *pub, const struct store_change_result *res,
    size_t n);
/* A full read of zones + journal, taken when pub.gen was `gen`: applied
 * only when no commit came in between (the commit's figures are newer). */
int pub_replace(struct published *pub, uint64_t gen,
    const struct pub_zone *zones, size_t n, int64_t journal);
uint64_t pub_gen(struct published *pub);
void pub_set_snapshot(struct published *pub, const struct serial_file *sf);
void pub_set_alarms(struct published *pub, int n);
void pub_set_push(struct published *pub, int ok, const char *error);
void pub_set_peers(struct published *pub, const struct config *cfg);
void pub_set_peer(struct published *pub, const struct pub_peer *p);
/* Follower idx's state (of n followers) for the heartbeat. */
void pub_set_repl(struct published *pub, size_t idx, size_t n,
    const char *peer, const char *state, int64_t behind);
/* The room whose listener its last heartbeat said open ("" if none). */
void pub_active_room(struct published *pub, char *out, size_t outlen);
json_t *pub_heartbeat_json(struct published *pub, const char *room);
json_t *pub_status_json(struct published *pub, const char *room);

/* agent_state.c — reading the database into the published state. */
int agent_refresh(struct agent *ag, char *err);
void agent_refresh_alarms(struct agent *ag);
void agent_alarm_ctx(struct agent *ag, struct alarm_ctx *out);
int agent_read_zones(struct store *st, struct pub_zone **zones, size_t *n,
    int64_t *journal, char *err);

/* agent_state.c — can the database be written?  A failed write raises
 * STORAGE_FULL (no space) or STORAGE_IO (any other write error); while it
 * holds, the main thread probes every AGENT_STORAGE_PROBE_MS and the
 * alarm clears once a probe or a real write works again. */
enum agent_storage {
	AGENT_STORAGE_OK = 0,
	AGENT_STORAGE_FULL,               /* SQLITE_FULL, ENOSPC, EDQUOT */
	AGENT_STORAGE_ERROR               /* an I/O or other database error */
};
#define AGENT_STORAGE_PROBE_MS    2000      /* probe period while failing */
#define AGENT_STORAGE_PROBE_BYTES (64 * 1024) /* written, fsynced, removed */
void agent_storage_init(struct agent *ag);
/* store_apply on the writer (writer_lock held), noting whether the write
 * worked: every provisioning change goes through here. */
enum store_status agent_store_apply(struct agent *ag,
    const struct store_change *changes, size_t n,
    struct store_change_result *results, size_t *failed, char *err);
/* Main thread, once a second: the probe while a write fails. */
void agent_storage_tick(struct agent *ag);
/* Another write failed (a snapshot export): probe at the next tick. */
void agent_storage_suspect(struct agent *ag);

/* provision.c — the one way a provisioning change commits (the HTTP API
 * and the control socket's `provision` both come here). */
enum provision_gate {
	PROVISION_COMMITTED = 0,          /* store_apply ran: see its status */
	PROVISION_CLOSED,                 /* listener closed: nothing written */
	PROVISION_STOPPING,               /* the agent stops: nothing written */
	PROVISION_UNCONFIRMED             /* replication.mode strict: no standby
	                                   * in step (err says whether the
	                                   * change was committed here) */
};
enum provision_gate provision_commit(struct agent *ag,
    const struct store_change *changes, size_t n,
    struct store_change_result *res, size_t *failed, enum store_status *s,
    char *err);
/* {"error":"provisioning closed in room A","active_room":"B"} (the 503
 * reason; active_room only when a peer's heartbeat said it is open). */
json_t *provision_closed_json(struct agent *ag);

/* provision.c, peerapi.c — the HTTP daemons. */
struct MHD_Daemon *provision_start(struct agent *ag, const char *listen,
    char *err);
/* Is the provisioning listener open (the published state: it never waits
 * on a write)? */
int provision_listener_open(struct agent *ag);
struct MHD_Daemon *peerapi_start(struct agent *ag, const char *listen,
    char *err);

/* http.c — helpers shared by the two daemons. */
/* What one daemon allows its clients. */
struct http_limits {
	unsigned int connections;     /* at once, this machine's included */
	unsigned int local_reserve;   /* of those, only for this machine's
	                               * own clients (the room's checker) */
	unsigned int per_address;     /* at once from one other address */
	int header_timeout_ms;        /* a request's headers, from the
	                               * connection's start or the previous
	                               * request's end */
	int body_timeout_ms;          /* its body and answer, from the end
	                               * of its headers */
	unsigned int min_rate;        /* != 0: past body_timeout_ms a transfer
	                               * goes on while it moves this many
	                               * bytes/s (over each 10 s) */
};
/* Start a daemon on "ADDR:PORT": a thread per connection, the request
 * target checked before handler sees it, lim enforced (503 past a limit,
 * 408 or a cut past a deadline).  handler and completed see their own
 * *req_cls, NULL on a request's first call. */
struct MHD_Daemon *http_start(const char *listen, const char *what,
    const struct http_limits *lim, MHD_AccessHandlerCallback handler,
    void *handler_cls, MHD_RequestCompletedCallback completed, char *err);
/* Reply with obj (stolen) as compact JSON and a newline. */
enum MHD_Result http_reply_json(struct MHD_Connection *conn,
    unsigned int status, json_t *obj);
/* Reply {"error": message, "field": field (when not NULL)}. */
enum MHD_Result http_reply_error(struct MHD_Connection *conn,
    unsigned int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Content-Length of the request (-1 when absent or malformed). */
long long http_content_length(struct MHD_Connection *conn);

/* control_server.c */
int control_server_start(struct agent *ag, char *err);
void control_server_stop(struct agent *ag);

/* snapshot_job.c */
int snapjob_start(struct agent *ag, char *err);
/* Queue req for the next run (it starts at once, or right after the one in
 * progress): 0, or -1 and why when the agent stops or too many wait. */
int snapjob_request(struct agent *ag, struct snapjob_request *req,
    const char **why);
/* A reload: look at the schedule again. */
void snapjob_wake(struct agent *ag);
/* Stop the job; the requests no run took get "agent stopping".  0 when
 * the thread ended within wait_ms, -1 when it still runs. */
int snapjob_stop(struct agent *ag, int wait_ms);

/* peerwatch.c */
int peerwatch_start(struct agent *ag, char *err);
void peerwatch_wake(struct agent *ag);
int peerwatch_stop(struct agent *ag, int wait_ms);

/* dnsjob.c */
/* Start the job; it runs the steps only while active(ag) says so (the
 * provisioning listener is open: this room is the active one). */
int dnsjob_start(struct agent *ag, int (*active)(struct agent *),
    char *err);
/* A change committed: bring the DNS server up to date (group commit). */
void dnsjob_kick(struct agent *ag);
/* Feed the DNS server now, whatever the role (a takeover's load step,
 * `enumdr dns-sync`), and wait until it serves every change committed
 * before the call: 0, or -1 with why after timeout_ms. */
int dnsjob_sync(struct agent *ag, int timeout_ms, char *why, size_t whylen);
int dnsjob_stop(struct agent *ag, int wait_ms);

/* replica.c — continuous replication (issue 14, doc/replication.md). */
/* Before any thread starts: the lock, the condition, the peers. */
void repl_init(struct agent *ag);
/* Start one follower thread per peer (replication.mode != off). */
int replica_start(struct agent *ag, char *err);
void replica_stop(struct agent *ag);
/* Our journal reached pos (after every commit and import). */
void repl_committed(struct agent *ag, int64_t pos);
/* Wake every wait on repl_cond (stopping is set: the long-polls of our
 * journal answer at once). */
void repl_wake(struct agent *ag);
/* Block until our journal is past `after`, at most wait_ms (or the agent
 * stops); returns our journal position. */
int64_t repl_wait_beyond(struct agent *ag, int64_t after, int wait_ms);
/* A peer's poll said it has applied our journal up to seq (its `after`). */
void repl_note_ack(struct agent *ag, const char *room, int64_t seq);
/* Synchronous mode: after a commit at journal position pos, wait for a
 * standby.  0: confirmed (or asynchronous); -1: not confirmed, why set
 * (strict: refuse; sync: fell back, alarm raised). */
int repl_confirm(struct agent *ag, int64_t pos, char *why, size_t whylen);
/* Strict mode, before a commit: -1 when no standby is in step. */
int repl_admit(struct agent *ag, char *why, size_t whylen);
/* Wait until our cursor in peer room's journal reaches pos (takeover
 * catch-up), at most wait_ms.  0 done; -1 why set. */
int repl_catchup(struct agent *ag, const char *room, int64_t pos,
    int wait_ms, char *why, size_t whylen);
/* The replication part of status and heartbeat. */
json_t *repl_status_json(struct agent *ag);
/* A peer acknowledged: end a synchronous fallback once one is in step. */
void repl_ack_check(struct agent *ag);
/* Raise CONFLICT while a conflict is open, clear it when none is. */
void repl_conflicts_alarm(struct agent *ag);

/* switchover.c (issue 15, doc/switchover.md): the target's answers, and
 * this room's preference (state_dir/preferred, tracked by keepalived). */
enum MHD_Result switchover_handle(struct agent *ag,
    struct MHD_Connection *conn, const char *from, const char *state,
    long long position, long long wait_ms);
int agent_preferred_set(struct agent *ag, int on, char *err);
int agent_preferred_get(struct agent *ag);
int agent_standdown_set(struct agent *ag, int ms, char *err);
void agent_standdown_tick(struct agent *ag);

/* quorum.c (issue 15, doc/witness.md) */
int quorum_start(struct agent *ag, char *err);
int quorum_stop(struct agent *ag, int wait_ms);
int quorum_allows_open(struct agent *ag, char *why, size_t whylen);

/* alarm_sender.c: an alarm sender that does not share syslog(3)'s ident
 * with the log (other threads log at the same time). */
void agent_alarm_sender(const struct alarm_ctx *ctx, int priority,
    const char *line);
/* -d: print alarm lines on stderr as well (before any thread starts). */
void agent_alarm_foreground(int on);

#endif
