/*
 * peerapi.c — the peer API, always on, on the room's own address: what the
 * other rooms and the checkers ask this room.
 *
 *   GET /v1/heartbeat                  room, role, listener, journal, zone
 *                                      serials, latest snapshot, alarms
 *                                      (S0.3, S0.4, S0.7's sequence number)
 *   GET /v1/snapshot/enumdr-snapshot.db  the latest snapshot (S0.1, S1.2)
 *   GET /v1/snapshot/enumdr-serials      its serial file
 *   GET /v1/journal?after=N&limit=M&wait_ms=W&room=R
 *                                      the change journal after N (S1.3,
 *                                      S3.1, issue 14), M <= 10000, a
 *                                      long-poll of at most W ms; R: the
 *                                      asking room, whose N acknowledges
 *   PUT /v1/incoming/enumdr-snapshot.db  a peer pushes its snapshot into
 *   PUT /v1/incoming/enumdr-serials      our incoming_dir (S0.1 "transfer")
 *
 * The heartbeat answers from the published state only; journal reads use
 * the read-only connection; neither waits on the writer.  A snapshot file
 * is opened under snapfiles_lock, so a serial file served always describes
 * the database that was in place when it was opened (a reader that fetched
 * the database before a new export and the serial file after it sees a
 * checksum mismatch and fetches again).  An upload is written to
 * NAME.part.XXXXXX in incoming_dir, fsync'd and renamed: a reader never
 * sees half a file.  Only the two names are accepted, and a query only
 * on /v1/journal (after, limit, wait_ms, room).  A journal long-poll
 * blocks its connection's own thread in repl_wait_beyond (replica.c)
 * before it reads, never holding a lock while it waits.  http.c guards the connections: the
 * target checked raw (400), limits per address and in all (503, with a
 * reserve for this machine's own checker), deadlines for headers and
 * bodies, and a minimum rate for a transfer that takes longer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "peerproto.h"
#include "util.h"


enum peer_route {
	PEER_HEARTBEAT,
	PEER_SNAPSHOT,
	PEER_JOURNAL,
	PEER_UPLOAD,
	PEER_SWITCHOVER
};

struct peer_request {
	enum peer_route route;
	const char *name;           /* snapshot / upload file name */
	int fd;                     /* upload: the part file */
	char part[PATH_MAX];        /* its name ("" once renamed) */
	char final[PATH_MAX];
	uint64_t written, cap;
	int write_errno;            /* the first write error */
	int too_large;
	int replied;
};

/* The two file names a snapshot directory holds; NULL for any other. */
static const char *
snapshot_name(const char *s)
{
	if (strcmp(s, SNAPSHOT_DB_NAME) == 0)
		return SNAPSHOT_DB_NAME;
	if (strcmp(s, SNAPSHOT_SERIALS_NAME) == 0)
		return SNAPSHOT_SERIALS_NAME;
	return NULL;
}

/* POST /v1/switchover?from=ROOM&state=S&position=P&wait_ms=W
 * (switchover.c answers). */
static enum MHD_Result handle_switchover(struct agent *ag,
    struct MHD_Connection *conn);

static enum MHD_Result
handle_heartbeat(struct agent *ag, struct MHD_Connection *conn)
{
	return http_reply_json(conn, MHD_HTTP_OK,
	    pub_heartbeat_json(&ag->pub, ag->cfg.room));
}

static enum MHD_Result
handle_snapshot(struct agent *ag, struct MHD_Connection *conn,
    const char *name)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char path[PATH_MAX], err[ENUMDR_ERRLEN];
	struct stat sb;
	int fd, saved;

	if (util_path_join(path, sizeof(path), ag->cfg.snapshot_dir, name,
	    err) == -1)
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "%s", err);
	pthread_mutex_lock(&ag->snapfiles_lock);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	saved = errno;
	pthread_mutex_unlock(&ag->snapfiles_lock);
	if (fd == -1) {
		if (saved == ENOENT)
			return http_reply_error(conn, MHD_HTTP_NOT_FOUND, NULL,
			    "room %s has no snapshot yet (%s)", ag->cfg.room,
			    name);
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "open %s: %s", name, strerror(saved));
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "%s is not a regular file", name);
	}
	r = MHD_create_response_from_fd64((uint64_t)sb.st_size, fd);
	if (r == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    strcmp(name, SNAPSHOT_SERIALS_NAME) == 0 ?
	    "text/plain; charset=us-ascii" : "application/vnd.sqlite3");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* A decimal query argument; def when absent; -1 when not a number. */
static int
query_int(struct MHD_Connection *conn, const char *key, long long def,
    long long *out)
{
	const char *v;
	char *end;

	v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Is room one of the configured peers (SIGHUP may change them)? */
static int
is_peer(struct agent *ag, const char *room)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&ag->cfg_lock);
	for (i = 0; i < ag->cfg.npeers && !found; i++)
		found = strcmp(ag->cfg.peers[i].name, room) == 0;
	pthread_mutex_unlock(&ag->cfg_lock);
	return found;
}

/* How many of the n rows an answer holds: all, or when they are more
 * than PEERPROTO_CHANGES_MAX, up to the last transaction boundary within
 * that (0: the first transaction alone is larger).  A row starts a
 * transaction when its txn differs from the row before it (txn 0: a row
 * from before schema 2, a transaction of its own). */
static size_t
journal_cut(const struct journal_row *rows, size_t n)
{
	size_t k;

	if (n <= PEERPROTO_CHANGES_MAX)
		return n;
	for (k = PEERPROTO_CHANGES_MAX; k > 0; k--)
		if (rows[k].txn == 0 || rows[k].txn != rows[k - 1].txn)
			return k;
	return 0;
}

/* The journal's first, last and rows after `after` (at most limit, to the
 * end of the last row's transaction: store_journal_read) in one read
 * transaction of the read-only connection, and the database uuid. */
static enum store_status
journal_read(struct agent *ag, int64_t after, size_t limit,
    struct peerproto_journal *j, char *err)
{
	enum store_status s;

	pthread_mutex_lock(&ag->reader_lock);
	if (ag->reader == NULL) {
		pthread_mutex_unlock(&ag->reader_lock);
		errf(err, "agent stopping");
		return STORE_EBUSY;
	}
	s = STORE_OK;
	if (ag->db_uuid[0] == '\0' && (s = store_identity(ag->reader,
	    ag->db_uuid, sizeof(ag->db_uuid), err)) != STORE_OK)
		ag->db_uuid[0] = '\0';		/* asked again next time */
	strlcpy_(j->database, ag->db_uuid, sizeof(j->database));
	if (s == STORE_OK)
		s = store_read_begin(ag->reader, err);
	if (s == STORE_OK) {
		s = store_journal_bounds(ag->reader, &j->first, &j->last, err);
		if (s == STORE_OK)
			s = store_journal_read(ag->reader, after, limit,
			    &j->rows, &j->nrows, err);
		store_read_end(ag->reader);
	}
	pthread_mutex_unlock(&ag->reader_lock);
	return s;
}

static enum MHD_Result
handle_journal(struct agent *ag, struct MHD_Connection *conn)
{
	struct peerproto_journal j;
	char err[ENUMDR_ERRLEN], now[32];
	enum store_status s;
	long long after, limit, wait_ms;
	const char *room;
	size_t n;
	json_t *o;

	if (query_int(conn, "after", 0, &after) == -1)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, "after",
		    "after: must be a journal position (0 or more)");
	if (query_int(conn, "limit", AGENT_JOURNAL_LIMIT_DEF, &limit) == -1 ||
	    limit < 1 || limit > AGENT_JOURNAL_LIMIT_MAX)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, "limit",
		    "limit: must be 1 to %d", AGENT_JOURNAL_LIMIT_MAX);
	if (query_int(conn, "wait_ms", 0, &wait_ms) == -1 ||
	    wait_ms > PEERPROTO_WAIT_MAX)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, "wait_ms",
		    "wait_ms: must be 0 to %d (milliseconds)",
		    PEERPROTO_WAIT_MAX);
	room = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "room");
	if (room != NULL && !peerproto_room_valid(room))
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, "room",
		    "room: must be a room name ([A-Za-z0-9_-]{1,63})");

	/* A peer asks after N once it has applied our journal to N. */
	if (room != NULL && is_peer(ag, room)) {
		repl_note_ack(ag, room, (int64_t)after);
		repl_ack_check(ag);	/* ends a synchronous fallback */
	}
	if (wait_ms > 0)
		(void)repl_wait_beyond(ag, (int64_t)after, (int)wait_ms);

	memset(&j, 0, sizeof(j));
	j.version = PEERPROTO_VERSION;
	strlcpy_(j.room, ag->cfg.room, sizeof(j.room));
	j.after = (int64_t)after;
	s = journal_read(ag, j.after, (size_t)limit, &j, err);
	if (s != STORE_OK) {
		peerproto_journal_free(&j);
		return http_reply_error(conn, s == STORE_EBUSY ?
		    MHD_HTTP_SERVICE_UNAVAILABLE :
		    MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", err);
	}
	if ((n = journal_cut(j.rows, j.nrows)) == 0 && j.nrows > 0) {
		log_warnx("journal after %lld: the transaction of seq %lld has"
		    " more than %d changes: it cannot be sent", after,
		    (long long)j.rows[0].seq, PEERPROTO_CHANGES_MAX);
		peerproto_journal_free(&j);
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "journal after %lld: one transaction of more than %d"
		    " changes", after, PEERPROTO_CHANGES_MAX);
	}
	while (j.nrows > n)
		free(j.rows[--j.nrows].records);
	util_utc_iso8601(now, sizeof(now));
	strlcpy_(j.time, now, sizeof(j.time));
	o = peerproto_journal_json(&j, err);
	peerproto_journal_free(&j);
	if (o == NULL)
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "%s", err);
	return http_reply_json(conn, MHD_HTTP_OK, o);
}

/* First call of an upload: the part file in incoming_dir. */
static int
upload_begin(struct agent *ag, struct peer_request *rq, char *err)
{
	if (util_path_join(rq->final, sizeof(rq->final), ag->cfg.incoming_dir,
	    rq->name, err) == -1)
		return -1;
	if (snprintf(rq->part, sizeof(rq->part), "%s.part.XXXXXX", rq->final)
	    >= (int)sizeof(rq->part)) {
		errf(err, "path too long: %s", rq->final);
		rq->part[0] = '\0';
		return -1;
	}
	rq->fd = mkostemp(rq->part, O_CLOEXEC);
	if (rq->fd == -1) {
		errf_errno(err, "create %s", rq->part);
		rq->part[0] = '\0';
		return -1;
	}
	if (fchmod(rq->fd, 0640) == -1) {
		errf_errno(err, "chmod %s", rq->part);
		return -1;
	}
	return 0;
}

static void
upload_write(struct peer_request *rq, const char *data, size_t len)
{
	ssize_t w;

	if (rq->write_errno != 0 || rq->too_large)
		return;
	if (rq->written + len > rq->cap) {
		rq->too_large = 1;
		return;
	}
	while (len > 0) {
		w = write(rq->fd, data, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			rq->write_errno = w == -1 ? errno : EIO;
			return;
		}
		data += w;
		len -= (size_t)w;
		rq->written += (uint64_t)w;
	}
}

/* The last call of an upload: fsync, rename, fsync the directory. */
static enum MHD_Result
upload_finish(struct agent *ag, struct MHD_Connection *conn,
    struct peer_request *rq)
{
	char err[ENUMDR_ERRLEN];
	int e;

	if (rq->too_large)
		return http_reply_error(conn, HTTP_CONTENT_TOO_LARGE, NULL,
		    "%s: larger than the limit of %llu bytes", rq->name,
		    (unsigned long long)rq->cap);
	if (rq->written == 0)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, NULL,
		    "%s: empty upload", rq->name);
	e = rq->write_errno;
	if (e == 0 && fsync(rq->fd) == -1)
		e = errno;
	if (close(rq->fd) == -1 && e == 0)
		e = errno;
	rq->fd = -1;
	if (e != 0) {
		log_warnx("upload of %s: write %s: %s", rq->name, rq->part,
		    strerror(e));
		return http_reply_error(conn, e == ENOSPC || e == EDQUOT ?
		    MHD_HTTP_INSUFFICIENT_STORAGE :
		    MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "write %s: %s",
		    rq->name, strerror(e));
	}
	if (rename(rq->part, rq->final) == -1) {
		e = errno;
		log_warnx("upload of %s: rename %s: %s", rq->name, rq->part,
		    strerror(e));
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "rename %s: %s", rq->name, strerror(e));
	}
	rq->part[0] = '\0';
	if (util_fsync_dir(ag->cfg.incoming_dir, err) == -1)
		log_warnx("upload of %s: %s", rq->name, err);
	log_info("peer upload: %s, %llu bytes, into %s", rq->name,
	    (unsigned long long)rq->written, ag->cfg.incoming_dir);
	return http_reply_json(conn, MHD_HTTP_CREATED, json_pack("{s:s,s:I}",
	    "name", rq->name, "size", (json_int_t)rq->written));
}

/* What the query of a request may hold: the names in allowed, each at
 * most once and with a value. */
struct query_check {
	const char *const *allowed;	/* NULL-terminated */
	unsigned int seen;		/* bit i: allowed[i] was given */
	int bad;
	char field[40];
	char msg[200];
};

static enum MHD_Result
query_check_one(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct query_check *q = cls;
	size_t i;

	(void)kind;
	for (i = 0; q->allowed[i] != NULL; i++)
		if (strcmp(key, q->allowed[i]) == 0)
			break;
	q->bad = 1;
	if (q->allowed[i] == NULL) {
		strlcpy_(q->field, "query", sizeof(q->field));
		snprintf(q->msg, sizeof(q->msg), "query: unknown parameter"
		    " \"%.32s\" (%s)", key, q->allowed[0] == NULL ?
		    "this resource takes none" :
		    "allowed: after, limit, wait_ms, room");
	} else if (value == NULL) {
		strlcpy_(q->field, key, sizeof(q->field));
		snprintf(q->msg, sizeof(q->msg), "%s: needs a value (%s=N)",
		    key, key);
	} else if (q->seen & (1u << i)) {
		strlcpy_(q->field, key, sizeof(q->field));
		snprintf(q->msg, sizeof(q->msg), "%s: given more than once",
		    key);
	} else {
		q->seen |= 1u << i;
		q->bad = 0;
	}
	return q->bad ? MHD_NO : MHD_YES;
}

/* Route a request; 0, or -1 after queueing the error reply.  http.c has
 * already refused a target that is not printable ASCII once decoded;
 * here the path must be one of the resources exactly and the query hold
 * only what the resource takes. */
static int
peer_route(struct MHD_Connection *conn, const char *url, const char *method,
    struct peer_request *rq, enum MHD_Result *ret)
{
	static const char *const journal_args[] = { "after", "limit",
	    "wait_ms", "room", NULL };
	static const char *const no_args[] = { NULL };
	static const char *const switchover_args[] = { "from", "state",
	    "position", "wait_ms", NULL };
	int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	int put = strcmp(method, MHD_HTTP_METHOD_PUT) == 0;
	int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	const char *want = "GET";
	struct query_check q;

	if (strcmp(url, "/v1/heartbeat") == 0) {
		rq->route = PEER_HEARTBEAT;
	} else if (strcmp(url, "/v1/journal") == 0) {
		rq->route = PEER_JOURNAL;
	} else if (strncmp(url, "/v1/snapshot/", 13) == 0 &&
	    (rq->name = snapshot_name(url + 13)) != NULL) {
		rq->route = PEER_SNAPSHOT;
	} else if (strncmp(url, "/v1/incoming/", 13) == 0 &&
	    (rq->name = snapshot_name(url + 13)) != NULL) {
		rq->route = PEER_UPLOAD;
		want = "PUT";
	} else if (strcmp(url, PEERPROTO_SWITCHOVER_PATH) == 0) {
		rq->route = PEER_SWITCHOVER;
		want = "POST";
	} else {
		*ret = http_reply_error(conn, MHD_HTTP_NOT_FOUND, NULL,
		    "no such resource: %.200s (the peer API is /v1/heartbeat,"
		    " /v1/journal, /v1/switchover, /v1/snapshot/%s|%s,"
		    " /v1/incoming/%s|%s)",
		    url, SNAPSHOT_DB_NAME, SNAPSHOT_SERIALS_NAME,
		    SNAPSHOT_DB_NAME, SNAPSHOT_SERIALS_NAME);
		return -1;
	}
	if ((rq->route == PEER_UPLOAD && !put) ||
	    (rq->route == PEER_SWITCHOVER && !post) ||
	    (rq->route != PEER_UPLOAD && rq->route != PEER_SWITCHOVER &&
	    !get)) {
		*ret = http_reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
		    "method %.16s not allowed on %.200s (allowed: %s)", method,
		    url, want);
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.allowed = rq->route == PEER_JOURNAL ? journal_args :
	    rq->route == PEER_SWITCHOVER ? switchover_args : no_args;
	(void)MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
	    query_check_one, &q);
	if (q.bad) {
		*ret = http_reply_error(conn, MHD_HTTP_BAD_REQUEST, q.field,
		    "%s", q.msg);
		return -1;
	}
	return 0;
}

static enum MHD_Result
peer_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct agent *ag = cls;
	struct peer_request *rq = *con_cls;
	char err[ENUMDR_ERRLEN];
	enum MHD_Result ret;
	long long cl;

	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->fd = -1;
		*con_cls = rq;
		if (peer_route(conn, url, method, rq, &ret) == -1) {
			rq->replied = 1;
			return ret;
		}
		if (rq->route != PEER_UPLOAD)
			return MHD_YES;
		rq->cap = strcmp(rq->name, SNAPSHOT_DB_NAME) == 0 ?
		    AGENT_UPLOAD_DB_MAX : AGENT_UPLOAD_SERIALS_MAX;
		cl = http_content_length(conn);
		if (cl >= 0 && (uint64_t)cl > rq->cap) {
			rq->replied = 1;
			return http_reply_error(conn,
			    HTTP_CONTENT_TOO_LARGE, NULL,
			    "%s: %lld bytes is larger than the limit of %llu",
			    rq->name, cl, (unsigned long long)rq->cap);
		}
		if (upload_begin(ag, rq, err) == -1) {
			rq->replied = 1;
			log_warnx("peer upload: %s", err);
			return http_reply_error(conn,
			    MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", err);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!rq->replied && rq->route == PEER_UPLOAD)
			upload_write(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->replied)
		return MHD_YES;
	rq->replied = 1;
	switch (rq->route) {
	case PEER_HEARTBEAT:
		return handle_heartbeat(ag, conn);
	case PEER_SNAPSHOT:
		return handle_snapshot(ag, conn, rq->name);
	case PEER_JOURNAL:
		return handle_journal(ag, conn);
	case PEER_UPLOAD:
		return upload_finish(ag, conn, rq);
	case PEER_SWITCHOVER:
		return handle_switchover(ag, conn);
	}
	return MHD_NO;
}

/* Whatever happened to the request: no part file is left behind. */
static void
peer_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct peer_request *rq = *con_cls;

	if (rq == NULL)
		return;
	if (rq->fd != -1)
		close(rq->fd);
	if (rq->part[0] != '\0') {
		unlink(rq->part);
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			log_warnx("peer upload of %s aborted after %llu bytes",
			    rq->name, (unsigned long long)rq->written);
	}
	free(rq);
	*con_cls = NULL;
}

struct MHD_Daemon *
peerapi_start(struct agent *ag, const char *listen_on, char *err)
{
	struct http_limits lim;

	/* A snapshot up or down can be GBs: past the body deadline it goes
	 * on while it keeps the minimum rate. */
	memset(&lim, 0, sizeof(lim));
	lim.connections = AGENT_PEER_CONNECTIONS;
	lim.local_reserve = AGENT_LOCAL_RESERVE;
	lim.per_address = (unsigned int)ag->cfg.peer_per_address;
	lim.header_timeout_ms = ag->cfg.header_timeout_s * 1000;
	lim.body_timeout_ms = ag->cfg.body_timeout_s * 1000;
	lim.min_rate = (unsigned int)ag->cfg.transfer_min_rate;
	return http_start(listen_on, "peer API", &lim, peer_handler, ag,
	    peer_completed, err);
}

static enum MHD_Result
handle_switchover(struct agent *ag, struct MHD_Connection *conn)
{
	const char *from, *state;
	long long position, wait_ms;

	from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
	state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "state");
	if (from == NULL || state == NULL)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST,
		    from == NULL ? "from" : "state", "a switchover request"
		    " names from=ROOM and state=STATE");
	if (query_int(conn, "position", 0, &position) == -1)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, "position",
		    "position: not a journal position (0 or more)");
	if (query_int(conn, "wait_ms", 0, &wait_ms) == -1 ||
	    wait_ms > PEERPROTO_WAIT_MAX)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, "wait_ms",
		    "wait_ms: 0..%d", PEERPROTO_WAIT_MAX);
	return switchover_handle(ag, conn, from, state, position, wait_ms);
}
