/*
 * control_server.c — the agent's local control interface (S0.5: "tell the
 * communication agent to open the listening port"; S0.6, S0.7): a unix
 * stream socket, one request line -> one JSON reply line.
 *
 *   open | close           the provisioning listener
 *   status                 the published state (`enumdr agent status`)
 *   snapshot               export + push now; the reply comes when done
 *   role ROLE              what keepalived told enumdr-notify: MASTER,
 *                          BACKUP, FAULT, STOP, INIT, or the takeover's
 *                          steps MASTER-LOADING, MASTER-FAILED
 *
 * and the writes of the database that are not the HTTP API's — the agent
 * is its only writer (`enumdr provision|zone|snapshot|sync`, the notify
 * program's takeover sync):
 *
 *   provision LEN          + LEN bytes of a batch body (provision.c's
 *                          parser and commit path: the listener gate)
 *   zone ORIGIN [SERIAL]   add a zone (open or closed)
 *   export [DIR]           snapshot + serial file into DIR (snapshot_dir)
 *   import DIR             a whole snapshot; only while closed
 *   sync [--dry-run] DIR   S0.2 against the snapshot in DIR; the report
 *                          as JSON; only while closed (a dry run: any time)
 *
 * and replication (issue 14, doc/replication.md):
 *
 *   catchup ROOM POS MS    wait until this room has applied room ROOM's
 *                          journal up to POS (the takeover), at most MS
 *   conflicts [all]        the open conflicts (all: the decided ones too)
 *   conflict-keep ID WHICH an operator's decision: keep version WHICH
 *                          (served, other) of conflict ID
 *
 * Only root and the agent's own user may ask (SO_PEERCRED); anyone else
 * gets {"ok":false,"error":"permission denied for uid N"} and nothing
 * changes.  The socket is mode 0660; a request line is at most 256 bytes
 * and must arrive within 2 s, a body within 5 s more.  `close` takes the
 * writer lock: when it has answered, no further change commits until
 * `open`.  One client at a time: a sync holds the socket while it runs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "sync.h"
#include "util.h"

/* Reply one line on a control client and close it.  Every reply is an
 * object with "ok"; every failure is made by reply_error (and
 * reply_status, reply_denied, reply_closed on it), which the one client
 * parser (lib/control.c) holds to the envelope: "error" present. */
static void
control_reply(int fd, json_t *reply)
{
	char *text;
	size_t len, off = 0;
	ssize_t w;

	text = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	if (text == NULL)
		text = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (text != NULL) {
		len = strlen(text);
		while (off < len) {
			w = send(fd, text + off, len - off, MSG_NOSIGNAL);
			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (off == len)
			(void)send(fd, "\n", 1, MSG_NOSIGNAL);
		free(text);
	}
	close(fd);
}

static json_t *
reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
reply_error(const char *fmt, ...)
{
	char msg[512], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

/* Read one line (without its newline) within the deadline; -1 and a
 * reason in why when none came.  Bytes that followed the newline (the
 * start of a body) stay in line after it: *first points to them, *extra
 * says how many. */
static int
read_line(int fd, char *line, size_t linelen, const char **first,
    size_t *extra, const char **why)
{
	struct pollfd pfd;
	int64_t deadline = util_now_ms() + AGENT_CONTROL_TIMEOUT_MS, left;
	size_t len = 0, end;
	ssize_t r;
	char *nl;

	*extra = 0;
	*first = "";
	for (;;) {
		left = deadline - util_now_ms();
		if (left <= 0) {
			*why = "no complete request line within 2 s";
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			*why = "poll failed";
			return -1;
		}
		if (pfd.revents == 0)
			continue;
		r = read(fd, line + len, linelen - 1 - len);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == -1) {
			*why = "read failed";
			return -1;
		}
		line[len + (size_t)r] = '\0';
		if ((nl = memchr(line + len, '\n', (size_t)r)) != NULL) {
			end = len + (size_t)r;
			*nl = '\0';
			*first = nl + 1;
			*extra = end - (size_t)(nl + 1 - line);
			break;
		}
		if (memchr(line + len, '\0', (size_t)r) != NULL) {
			*why = "NUL byte in the request line";
			return -1;
		}
		len += (size_t)r;
		if (r == 0) {
			if (len == 0) {
				*why = "empty request";
				return -1;
			}
			break;		/* EOF ends the line too */
		}
		if (len >= linelen - 1) {
			*why = "request line longer than 256 bytes";
			return -1;
		}
	}
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		line[--len] = '\0';
	return 0;
}

/* The body of `provision LEN`: len bytes, the first have of them already
 * read (in first), the rest within AGENT_CONTROL_BODY_TIMEOUT_MS.  A
 * malloc'd, NUL-terminated copy, or NULL and a reason in why. */
static char *
read_body(int fd, size_t len, const char *first, size_t have,
    const char **why)
{
	struct pollfd pfd;
	int64_t deadline = util_now_ms() + AGENT_CONTROL_BODY_TIMEOUT_MS, left;
	ssize_t r;
	char *body;

	if (have > len) {
		*why = "more body bytes than the request line announced";
		return NULL;
	}
	if ((body = malloc(len + 1)) == NULL) {
		*why = "out of memory for the request body";
		return NULL;
	}
	memcpy(body, first, have);
	while (have < len) {
		left = deadline - util_now_ms();
		if (left <= 0) {
			*why = "request body not complete within 5 s";
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			*why = "poll failed";
			goto fail;
		}
		if (pfd.revents == 0)
			continue;
		r = read(fd, body + have, len - have);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			*why = r == 0 ? "request body shorter than announced" :
			    "read failed";
			goto fail;
		}
		have += (size_t)r;
	}
	body[len] = '\0';
	return body;
fail:
	free(body);
	return NULL;
}

static json_t *reply_status(unsigned int status, const char *field,
    const char *msg);

static json_t *
set_listener(struct agent *ag, int open, uid_t uid)
{
	char why[512];
	int was;

	if (open && !quorum_allows_open(ag, why, sizeof(why))) {
		log_warnx("provisioning listener not opened: %s", why);
		return reply_status(503, NULL, why);
	}
	pthread_mutex_lock(&ag->writer_lock);
	was = ag->open;
	ag->open = open;
	pub_set_open(&ag->pub, open);
	pthread_mutex_unlock(&ag->writer_lock);
	if (was != open)
		log_info("provisioning listener %s (control request of uid"
		    " %u)", open ? "opened" : "closed", (unsigned)uid);
	return json_pack("{s:b,s:s,s:s,s:b}", "ok", 1, "room", ag->cfg.room,
	    "listener", open ? "open" : "closed", "changed", was != open);
}

static json_t *
set_role(struct agent *ag, const char *arg, uid_t uid)
{
	/* keepalived's states, and the takeover's own steps that
	 * enumdr-notify reports and enumdr-check-service judges. */
	static const char *const roles[] = { "MASTER", "MASTER-LOADING",
	    "MASTER-FAILED", "BACKUP", "FAULT", "STOP", "INIT", NULL };
	char role[AGENT_ROLE_MAX];
	size_t i;

	for (i = 0; i < sizeof(role) - 1 && arg[i] != '\0'; i++)
		role[i] = (char)toupper((unsigned char)arg[i]);
	role[i] = '\0';
	for (i = 0; roles[i] != NULL; i++)
		if (arg[0] != '\0' && strlen(arg) < sizeof(role) &&
		    strcmp(role, roles[i]) == 0)
			break;
	if (roles[i] == NULL)
		return reply_error("role \"%.32s\" is not MASTER,"
		    " MASTER-LOADING, MASTER-FAILED, BACKUP, FAULT, STOP or"
		    " INIT", arg);
	pub_set_role(&ag->pub, role);
	log_info("role %s (control request of uid %u)", role, (unsigned)uid);
	return json_pack("{s:b,s:s,s:s}", "ok", 1, "room", ag->cfg.room,
	    "role", role);
}

/* A client's `snapshot`: the job runs it and returns the result, which
 * answer_snapshot sends (on the job's thread, the send bounded by the
 * client's SO_SNDTIMEO). */
struct snapshot_client {
	struct snapjob_request req;       /* first: done gets the client */
	int fd;
};

static void
answer_snapshot(struct snapjob_request *req)
{
	struct snapshot_client *sc = (struct snapshot_client *)req;

	control_reply(sc->fd, sc->req.result);
	free(sc);
}

static void
request_snapshot(struct agent *ag, int fd)
{
	struct snapshot_client *sc;
	const char *why;

	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		control_reply(fd, reply_error("out of memory"));
		return;
	}
	sc->fd = fd;
	sc->req.done = answer_snapshot;
	if (snapjob_request(ag, &sc->req, &why) == -1) {
		free(sc);
		control_reply(fd, reply_error("%s", why));
	}
}

/* An error reply with the HTTP-like status the CLI maps to its exit code
 * (doc/enumdrd.md, "The control socket"). */
static json_t *
reply_status(unsigned int status, const char *field, const char *msg)
{
	json_t *o = reply_error("%s", msg);

	if (o != NULL) {
		json_object_set_new(o, "status", json_integer(status));
		if (field != NULL && field[0] != '\0')
			json_object_set_new(o, "field", json_string(field));
	}
	return o;
}

/* The refusal of a client whose uid may not ask: "denied" (the CLI's
 * exit 77). */
static json_t *
reply_denied(uid_t uid)
{
	json_t *o = reply_error("permission denied for uid %u", (unsigned)uid);

	if (o != NULL)
		json_object_set_new(o, "denied", json_true());
	return o;
}

/* The listener gate's refusal (S0.5): the provisioning API's 503 body
 * (provision.c: "error", "active_room") in the error envelope, "closed". */
static json_t *
reply_closed(struct agent *ag)
{
	json_t *o = provision_closed_json(ag);

	if (o != NULL) {
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "status", json_integer(503));
		json_object_set_new(o, "closed", json_true());
	}
	return o;
}

static unsigned int
store_status_code(enum store_status s)
{
	switch (s) {
	case STORE_OK: return 200;
	case STORE_EINVAL: return 400;
	case STORE_ENOZONE: return 422;
	case STORE_EEXIST: return 409;
	case STORE_ENOENT: return 404;
	case STORE_EBUSY: return 503;
	case STORE_EFULL: return 507;
	case STORE_EIO: case STORE_EGAP: break;
	}
	return 500;
}

static const char *
op_name(enum store_op op)
{
	return op == STORE_ADD ? "add" : op == STORE_REPLACE ? "replace" :
	    "remove";
}

/* provision LEN: a batch body through lib/provreq.c's parser and the one
 * commit path (the listener gate, the storage alarms, the DNS commit). */
static json_t *
do_provision(struct agent *ag, int fd, const char *arg, const char *first,
    size_t have, uid_t uid)
{
	struct store_change *changes = NULL;
	struct store_change_result *res = NULL;
	char err[ENUMDR_ERRLEN], *body = NULL, *end;
	const char *why = NULL;
	enum store_status s = STORE_EIO;
	unsigned long long len;
	struct provreq_error pe;
	size_t n = 0, failed = 0, i;
	json_t *o = NULL, *arr;

	errno = 0;
	len = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    len == 0 || len > AGENT_CONTROL_BODY_MAX)
		return reply_status(400, NULL, "provision: LEN must be 1 to"
		    " 1048576 (the body's bytes)");
	if ((body = read_body(fd, (size_t)len, first, have, &why)) == NULL)
		return reply_status(400, NULL, why);
	if (provreq_parse_batch(body, (size_t)len, &changes, &n, &pe) == -1) {
		o = reply_status(pe.status, pe.field, pe.msg);
		goto done;
	}
	if ((res = calloc(n, sizeof(*res))) == NULL) {
		o = reply_status(500, NULL, "out of memory");
		goto done;
	}
	switch (provision_commit(ag, changes, n, res, &failed, &s, err)) {
	case PROVISION_STOPPING:
		o = reply_status(503, NULL, "the agent is stopping");
		goto done;
	case PROVISION_CLOSED:
		o = reply_closed(ag);
		goto done;
	case PROVISION_UNCONFIRMED:
		o = reply_status(503, NULL, err);
		goto done;
	default:
		break;
	}
	if (s != STORE_OK) {
		if (store_status_code(s) >= 500)
			log_warnx("control: provision: %s", err);
		o = reply_status(store_status_code(s), failed < n ? "e164" :
		    NULL, err);
		if (o != NULL && failed < n)
			json_object_set_new(o, "index", json_integer(
			    (json_int_t)failed));
		goto done;
	}
	log_info("control: %zu change%s committed (uid %u)", n,
	    n == 1 ? "" : "s", (unsigned)uid);
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:I}",
		    "op", op_name(changes[i].op), "e164", changes[i].entry.e164,
		    "zone", res[i].zone, "serial", (json_int_t)res[i].serial,
		    "journal", (json_int_t)res[i].journal_seq));
	o = json_pack("{s:b,s:s,s:I,s:I,s:o}", "ok", 1, "room", ag->cfg.room,
	    "changes", (json_int_t)n, "journal",
	    (json_int_t)res[n - 1].journal_seq, "results", arr);
done:
	free(res);
	free(changes);
	free(body);
	return o;
}

/* Under the writer lock, after a write that was not a provisioning
 * change: publish the zones and journal it left. */
static void
republish(struct agent *ag)
{
	char err[ENUMDR_ERRLEN];

	/* writer_lock held: an import may have brought later HLC times. */
	store_hlc_refresh(ag->writer);
	if (agent_refresh(ag, err) == -1)
		log_warnx("control: publish zone serials: %s", err);
}

/* zone ORIGIN [SERIAL] */
static json_t *
do_zone(struct agent *ag, const char *arg, uid_t uid)
{
	char origin[STORE_ORIGIN_MAX + 2], err[ENUMDR_ERRLEN], *end;
	unsigned long long serial = 1;
	const char *sp = strchr(arg, ' ');
	enum store_status s;
	size_t olen = sp != NULL ? (size_t)(sp - arg) : strlen(arg);

	if (olen == 0 || olen >= sizeof(origin))
		return reply_status(400, NULL, "zone: expected ORIGIN [SERIAL]");
	memcpy(origin, arg, olen);
	origin[olen] = '\0';
	if (sp != NULL) {
		errno = 0;
		serial = strtoull(sp + 1, &end, 10);
		if (sp[1] < '0' || sp[1] > '9' || *end != '\0' || errno != 0 ||
		    serial > 4294967295ULL)
			return reply_status(400, NULL, "zone: SERIAL must be"
			    " 0..4294967295");
	}
	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		return reply_status(503, NULL, "the agent is stopping");
	}
	s = store_add_zone(ag->writer, origin, (uint32_t)serial, err);
	if (s == STORE_OK)
		republish(ag);
	pthread_mutex_unlock(&ag->writer_lock);
	if (s != STORE_OK)
		return reply_status(store_status_code(s), NULL, err);
	log_info("control: zone %s added, serial %llu (uid %u)", origin,
	    serial, (unsigned)uid);
	dnsjob_kick(ag);	/* the DNS server serves it at once */
	return json_pack("{s:b,s:s,s:s,s:I}", "ok", 1, "room", ag->cfg.room,
	    "zone", origin, "serial", (json_int_t)serial);
}

/* The refusal of a whole-database write while the room serves. */
static json_t *
reply_open(struct agent *ag, const char *what)
{
	char msg[256];
	json_t *o;

	snprintf(msg, sizeof(msg), "%s refused: the provisioning listener of"
	    " room %s is open, and it would overwrite the data being served;"
	    " close it first (enumdr agent close)", what, ag->cfg.room);
	o = reply_status(503, NULL, msg);
	if (o != NULL)
		json_object_set_new(o, "listener", json_string("open"));
	return o;
}

/* export [DIR] (snapshot_dir when none), under the writer lock like the
 * periodic job, and the snapshot-files lock when it replaces those. */
static json_t *
do_export(struct agent *ag, const char *arg, uid_t uid)
{
	const char *dir = arg != NULL && arg[0] != '\0' ? arg :
	    ag->cfg.snapshot_dir;
	int own = strcmp(dir, ag->cfg.snapshot_dir) == 0, rc;
	char err[ENUMDR_ERRLEN];
	struct serial_file sf;
	json_t *o;

	memset(&sf, 0, sizeof(sf));
	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		return reply_status(503, NULL, "the agent is stopping");
	}
	pthread_mutex_lock(&ag->snapfiles_lock);
	rc = snapshot_export(ag->writer, dir, ag->cfg.room, &sf, err);
	if (rc == 0 && own)
		pub_set_snapshot(&ag->pub, &sf);
	pthread_mutex_unlock(&ag->snapfiles_lock);
	pthread_mutex_unlock(&ag->writer_lock);
	if (rc == -1) {
		agent_storage_suspect(ag);
		return reply_status(500, NULL, err);
	}
	log_info("control: snapshot exported into %s (uid %u)", dir,
	    (unsigned)uid);
	o = json_pack("{s:b,s:s,s:s,s:I,s:I,s:I,s:s}", "ok", 1, "room",
	    ag->cfg.room, "dir", dir, "zones", (json_int_t)sf.nzones,
	    "journal", (json_int_t)sf.journal_pos, "size",
	    (json_int_t)sf.snapshot_size, "sha256", sf.snapshot_sha256);
	serial_file_free(&sf);
	return o;
}

/* import DIR: only while the listener is closed. */
static json_t *
do_import(struct agent *ag, const char *dir, uid_t uid)
{
	char err[ENUMDR_ERRLEN];
	int rc;

	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL || ag->open) {
		int stopping = ag->writer == NULL;

		pthread_mutex_unlock(&ag->writer_lock);
		return stopping ? reply_status(503, NULL,
		    "the agent is stopping") : reply_open(ag, "import");
	}
	rc = snapshot_import(ag->writer, dir, NULL, 0, err);
	if (rc == 0)
		republish(ag);
	pthread_mutex_unlock(&ag->writer_lock);
	if (rc == -1) {
		log_warnx("control: import of %s refused: %s", dir, err);
		return reply_status(400, NULL, err);
	}
	log_info("control: snapshot %s imported (uid %u)", dir,
	    (unsigned)uid);
	return json_pack("{s:b,s:s,s:s}", "ok", 1, "room", ag->cfg.room,
	    "dir", dir);
}

/* The sync report as JSON: what `enumdr sync --json` and enumdr-notify
 * read (outcome, per-zone verdicts, imported, kept_dir). */
static json_t *
sync_report_json(const struct agent *ag, const struct sync_report *rep,
    const char *dir)
{
	json_t *o, *zones, *z;
	size_t i;

	zones = json_array();
	for (i = 0; zones != NULL && i < rep->nzones; i++) {
		const struct sync_zone *sz = &rep->zones[i];

		z = json_pack("{s:s,s:o,s:o,s:s}", "origin", sz->origin,
		    "own", sz->own_present ? json_integer(sz->own_serial) :
		    json_null(), "peer", sz->peer_present ?
		    json_integer(sz->peer_serial) : json_null(), "verdict",
		    sync_zone_verdict_name(sz->verdict));
		json_array_append_new(zones, z);
	}
	o = json_pack("{s:b,s:s,s:s,s:s,s:I,s:s,s:b,s:I,s:o,s:o}", "ok", 1,
	    "room", ag->cfg.room, "dir", dir, "peer", rep->peer_room,
	    "peer_journal", (json_int_t)rep->peer_journal, "outcome",
	    sync_outcome_name(rep->outcome), "imported", rep->imported,
	    "nimported", (json_int_t)rep->nimported, "zones",
	    zones != NULL ? zones : json_array(), "kept_dir",
	    rep->kept_dir[0] != '\0' ? json_string(rep->kept_dir) :
	    json_null());
	if (o != NULL)
		json_object_set_new(o, "merged", rep->merged ? json_pack(
		    "{s:I,s:I,s:I}", "taken", (json_int_t)rep->merge_taken,
		    "kept", (json_int_t)rep->merge_kept, "conflicts",
		    (json_int_t)rep->merge_conflicts) : json_null());
	return o;
}

/* sync [--dry-run] DIR: S0.2 on the writer.  Only while closed, unless a
 * dry run (it compares, and keeps a diverged peer's copy aside, but
 * writes nothing in the database).  A failed step is
 * {"ok":false,"error","step","invalid_row"}; the alarms are the caller's
 * (it knows the peer or URL the snapshot came from). */
static json_t *
do_sync(struct agent *ag, const char *arg, uid_t uid)
{
	char err[ENUMDR_ERRLEN], quarantine[PATH_MAX];
	struct sync_report rep;
	struct sync_opts opts;
	const char *dir = arg;
	int64_t pos;
	int rc, stopping;
	json_t *o;

	memset(&opts, 0, sizeof(opts));
	if (strncmp(dir, "--dry-run ", 10) == 0) {
		opts.dry_run = 1;
		for (dir += 10; *dir == ' '; dir++)
			;
	}
	if (dir[0] == '\0')
		return reply_status(400, NULL, "sync: expected [--dry-run] DIR");
	if (util_path_join(quarantine, sizeof(quarantine), ag->cfg.state_dir,
	    "diverged", err) == -1)
		return reply_status(500, NULL, err);
	opts.quarantine_dir = quarantine;
	pthread_mutex_lock(&ag->cfg_lock);
	opts.on_diverged = ag->cfg.on_diverged;
	pthread_mutex_unlock(&ag->cfg_lock);
	memset(&rep, 0, sizeof(rep));
	pthread_mutex_lock(&ag->writer_lock);
	stopping = ag->writer == NULL;
	if (stopping || (ag->open && !opts.dry_run)) {
		pthread_mutex_unlock(&ag->writer_lock);
		return stopping ? reply_status(503, NULL,
		    "the agent is stopping") : reply_open(ag, "sync");
	}
	rc = sync_run(ag->writer, dir, &opts, &rep, err);
	if (rc == 0 && rep.imported)
		republish(ag);
	if (rc == 0 && rep.merged && store_journal_position(ag->writer,
	    &pos, err) == STORE_OK)
		repl_committed(ag, pos);
	pthread_mutex_unlock(&ag->writer_lock);
	if (rc == 0 && rep.merged) {
		if (rep.merge_conflicts > 0)
			repl_conflicts_alarm(ag);
		if (rep.imported)
			dnsjob_kick(ag);
	}
	if (rc == -1) {
		log_warnx("control: sync from %s failed at step \"%s\": %s",
		    dir, sync_step_name(rep.step), err);
		o = reply_status(rep.invalid_row[0] != '\0' ? 400 : 500, NULL,
		    err);
		if (o != NULL) {
			json_object_set_new(o, "step",
			    json_string(sync_step_name(rep.step)));
			json_object_set_new(o, "invalid_row",
			    rep.invalid_row[0] != '\0' ?
			    json_string(rep.invalid_row) : json_null());
		}
		sync_report_free(&rep);
		return o;
	}
	if (rep.merged)
		log_info("control: sync from %s: %s, merged number by number:"
		    " %zu versions taken, %zu kept as newer here, %zu conflicts"
		    " (uid %u)", dir, sync_outcome_name(rep.outcome),
		    rep.merge_taken, rep.merge_kept, rep.merge_conflicts,
		    (unsigned)uid);
	else
		log_info("control: sync from %s: %s%s (uid %u)", dir,
		    sync_outcome_name(rep.outcome), rep.imported ?
		    ", imported" : "", (unsigned)uid);
	o = sync_report_json(ag, &rep, dir);
	sync_report_free(&rep);
	return o;
}

/* catchup ROOM POS MS: the takeover's catch-up from a peer's journal. */
static json_t *
do_catchup(struct agent *ag, const char *arg)
{
	char room[CONFIG_NAME_MAX], why[512];
	long long pos;
	int ms, n = 0;
	json_t *o;

	if (sscanf(arg, "%63s %lld %d%n", room, &pos, &ms, &n) != 3 ||
	    arg[n] != '\0' || pos < 0 || ms < 0 || ms > 3600000)
		return reply_status(400, NULL, "catchup: expected ROOM POSITION"
		    " TIMEOUT_MS");
	if (repl_catchup(ag, room, pos, ms, why, sizeof(why)) == -1) {
		o = reply_status(strncmp(why, "gap", 3) == 0 ? 409 : 504, NULL,
		    why);
		return o;
	}
	return json_pack("{s:b,s:s,s:s,s:I}", "ok", 1, "room", ag->cfg.room,
	    "peer", room, "position", (json_int_t)pos);
}

/* dns-sync MS: feed the DNS server now and wait until it serves every
 * change committed before the request (a takeover's load step). */
static json_t *
do_dns_sync(struct agent *ag, const char *arg)
{
	char why[ENUMDR_ERRLEN + 128];
	int ms, n = 0;
	int64_t t0 = util_now_ms();

	if (sscanf(arg, "%d%n", &ms, &n) != 1 || arg[n] != '\0' || ms < 1 ||
	    ms > 3600000)
		return reply_status(400, NULL, "dns-sync: expected TIMEOUT_MS"
		    " (1..3600000)");
	if (dnsjob_sync(ag, ms, why, sizeof(why)) == -1) {
		log_warnx("control: dns-sync: %s", why);
		return reply_status(504, NULL, why);
	}
	return json_pack("{s:b,s:s,s:I}", "ok", 1, "room", ag->cfg.room,
	    "ms", (json_int_t)(util_now_ms() - t0));
}

static json_t *
version_json(const struct store_version *v, const char *records)
{
	return json_pack("{s:s,s:s,s:I,s:I,s:b,s:s}", "room", v->room,
	    "origin", v->origin, "oseq", (json_int_t)v->oseq, "hlc",
	    (json_int_t)v->hlc, "removed", *records == '\0', "records",
	    records);
}

/* conflicts [all] */
static json_t *
do_conflicts(struct agent *ag, const char *arg)
{
	struct store_conflict *list = NULL;
	char err[ENUMDR_ERRLEN];
	enum store_status s;
	json_t *arr, *c;
	size_t n = 0, i;
	int all = arg != NULL && strcmp(arg, "all") == 0;

	if (arg != NULL && !all)
		return reply_status(400, NULL, "conflicts: expected [all]");
	pthread_mutex_lock(&ag->reader_lock);
	s = store_conflicts(ag->reader, !all, &list, &n, err);
	pthread_mutex_unlock(&ag->reader_lock);
	if (s != STORE_OK)
		return reply_status(500, NULL, err);
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		const struct store_conflict *k = &list[i];

		c = json_pack("{s:I,s:s,s:s,s:s,s:b,s:o,s:o}", "id",
		    (json_int_t)k->id, "e164", k->e164, "zone", k->zone,
		    "detected_at", k->detected_at, "open", k->open, "served",
		    version_json(&k->served, k->served_records), "other",
		    version_json(&k->other, k->other_records));
		if (c != NULL && !k->open) {
			json_object_set_new(c, "decided_at",
			    json_string(k->decided_at));
			json_object_set_new(c, "decision",
			    json_string(k->decision));
		}
		json_array_append_new(arr, c);
	}
	store_conflicts_free(list, n);
	return json_pack("{s:b,s:s,s:o}", "ok", 1, "room", ag->cfg.room,
	    "conflicts", arr != NULL ? arr : json_array());
}

/* conflict-keep ID WHICH: the decision is a change of this room. */
static json_t *
do_conflict_keep(struct agent *ag, const char *arg, uid_t uid)
{
	struct store_change_result res;
	char which[16], err[ENUMDR_ERRLEN];
	enum store_status s;
	long long id;
	int n = 0;

	if (sscanf(arg, "%lld %15s%n", &id, which, &n) != 2 ||
	    arg[n] != '\0' || id < 1)
		return reply_status(400, NULL, "conflict-keep: expected ID"
		    " served|other");
	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		return reply_status(503, NULL, "the agent is stopping");
	}
	s = store_conflict_keep(ag->writer, id, which, &res, err);
	if (s == STORE_OK)
		pub_commit(&ag->pub, &res, 1);
	pthread_mutex_unlock(&ag->writer_lock);
	if (s != STORE_OK)
		return reply_status(store_status_code(s), NULL, err);
	repl_committed(ag, res.journal_seq);
	dnsjob_kick(ag);
	repl_conflicts_alarm(ag);
	log_info("control: conflict %lld decided: %s kept (uid %u)", id, which,
	    (unsigned)uid);
	return json_pack("{s:b,s:s,s:I,s:s,s:s,s:I,s:I}", "ok", 1, "room",
	    ag->cfg.room, "id", (json_int_t)id, "kept", which, "zone", res.zone,
	    "serial", (json_int_t)res.serial, "journal",
	    (json_int_t)res.journal_seq);
}

static json_t *
status_json(struct agent *ag)
{
	json_t *o = pub_status_json(&ag->pub, ag->cfg.room);

	if (o != NULL) {
		json_object_set_new(o, "replication", repl_status_json(ag));
		json_object_set_new(o, "preferred",
		    json_boolean(agent_preferred_get(ag)));
	}
	return o;
}

/* standdown MS: this room's VRRP instance in FAULT for at most MS (0:
 * end it), the switchover's (doc/switchover.md). */
static json_t *
do_standdown(struct agent *ag, const char *arg, uid_t uid)
{
	char err[ENUMDR_ERRLEN], *end;
	long ms;

	ms = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || ms < 0 || ms > 60000)
		return reply_status(400, NULL, "standdown: expected MS, 0 to"
		    " 60000");
	if (agent_standdown_set(ag, (int)ms, err) == -1)
		return reply_status(500, NULL, err);
	log_info("control: stand-down %ld ms (uid %u)", ms, (unsigned)uid);
	return json_pack("{s:b,s:s,s:I}", "ok", 1, "room", ag->cfg.room,
	    "standdown_ms", (json_int_t)ms);
}

/* preferred 0|1: this room's keepalived preference (the switchover's,
 * doc/switchover.md). */
static json_t *
do_preferred(struct agent *ag, const char *arg, uid_t uid)
{
	char err[ENUMDR_ERRLEN];
	int on;

	if (strcmp(arg, "0") != 0 && strcmp(arg, "1") != 0)
		return reply_status(400, NULL, "preferred: expected 0 or 1");
	on = arg[0] == '1';
	if (agent_preferred_set(ag, on, err) == -1)
		return reply_status(500, NULL, err);
	log_info("control: preference set to %d (uid %u)", on, (unsigned)uid);
	return json_pack("{s:b,s:s,s:b}", "ok", 1, "room", ag->cfg.room,
	    "preferred", on);
}

/* One client: credentials, request line, reply. */
static void
serve(struct agent *ag, int fd)
{
	char line[AGENT_CONTROL_LINE_MAX + 1];
	struct ucred cred;
	struct timeval tv;
	socklen_t clen = sizeof(cred);
	const char *why = NULL, *arg, *first;
	size_t extra;
	uid_t uid;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	uid = cred.uid;
	/* A client that does not read its reply must not hold us. */
	tv.tv_sec = AGENT_CONTROL_TIMEOUT_MS / 1000;
	tv.tv_usec = (AGENT_CONTROL_TIMEOUT_MS % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		log_warn("control: SO_SNDTIMEO");
	if (read_line(fd, line, sizeof(line), &first, &extra, &why) == -1) {
		log_warnx("control: uid %u: %s", (unsigned)uid, why);
		control_reply(fd, reply_error("%s", why));
		return;
	}
	if (uid != 0 && uid != geteuid()) {
		log_warnx("control: request \"%.32s\" of uid %u (pid %ld)"
		    " refused", line, (unsigned)uid, (long)cred.pid);
		control_reply(fd, reply_denied(uid));
		return;
	}
	arg = strchr(line, ' ');
	if (arg != NULL) {
		while (*arg == ' ')
			arg++;
	}
	if (extra > 0 && strncmp(line, "provision ", 10) != 0)
		control_reply(fd, reply_error("only provision takes a body"));
	else if (strcmp(line, "open") == 0)
		control_reply(fd, set_listener(ag, 1, uid));
	else if (strcmp(line, "close") == 0)
		control_reply(fd, set_listener(ag, 0, uid));
	else if (strcmp(line, "status") == 0)
		control_reply(fd, status_json(ag));
	else if (strcmp(line, "snapshot") == 0)
		request_snapshot(ag, fd);	/* answered when run */
	else if (strncmp(line, "role ", 5) == 0 && arg != NULL)
		control_reply(fd, set_role(ag, arg, uid));
	else if (strncmp(line, "provision ", 10) == 0 && arg != NULL)
		control_reply(fd, do_provision(ag, fd, arg, first, extra, uid));
	else if (strncmp(line, "zone ", 5) == 0 && arg != NULL)
		control_reply(fd, do_zone(ag, arg, uid));
	else if (strcmp(line, "export") == 0 ||
	    (strncmp(line, "export ", 7) == 0 && arg != NULL))
		control_reply(fd, do_export(ag, arg, uid));
	else if (strncmp(line, "import ", 7) == 0 && arg != NULL)
		control_reply(fd, do_import(ag, arg, uid));
	else if (strncmp(line, "sync ", 5) == 0 && arg != NULL)
		control_reply(fd, do_sync(ag, arg, uid));
	else if (strncmp(line, "catchup ", 8) == 0 && arg != NULL)
		control_reply(fd, do_catchup(ag, arg));
	else if (strncmp(line, "dns-sync ", 9) == 0 && arg != NULL)
		control_reply(fd, do_dns_sync(ag, arg));
	else if (strcmp(line, "conflicts") == 0 ||
	    (strncmp(line, "conflicts ", 10) == 0 && arg != NULL))
		control_reply(fd, do_conflicts(ag, arg));
	else if (strncmp(line, "conflict-keep ", 14) == 0 && arg != NULL)
		control_reply(fd, do_conflict_keep(ag, arg, uid));
	else if (strncmp(line, "preferred ", 10) == 0 && arg != NULL)
		control_reply(fd, do_preferred(ag, arg, uid));
	else if (strncmp(line, "standdown ", 10) == 0 && arg != NULL)
		control_reply(fd, do_standdown(ag, arg, uid));
	else
		control_reply(fd, reply_error("unknown request \"%.64s\""
		    " (open, close, status, snapshot, role ROLE, provision LEN,"
		    " zone ORIGIN [SERIAL], export [DIR], import DIR,"
		    " sync [--dry-run] DIR, catchup ROOM POS MS, dns-sync MS,"
		    " conflicts [all],"
		    " conflict-keep ID served|other, preferred 0|1, standdown MS)",
		    line));
}

static void *
control_main(void *arg)
{
	struct agent *ag = arg;
	struct pollfd pfd[2];
	int fd;

	for (;;) {
		pfd[0].fd = ag->ctl_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ag->ctl_wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("control: poll");
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		fd = accept4(ag->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED)
				log_warn("control: accept");
			continue;
		}
		serve(ag, fd);
	}
	return NULL;
}

/* Is something answering on the socket at path? */
static int
socket_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, live;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy_(sun.sun_path, path, sizeof(sun.sun_path));
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

int
control_server_start(struct agent *ag, char *err)
{
	const char *path = ag->cfg.control_socket;
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int fd = -1;

	ag->ctl_fd = ag->ctl_wake[0] = ag->ctl_wake[1] = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errf(err, "control socket path %s is too long", path);
		return -1;
	}
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			errf(err, "control socket %s exists and is not a"
			    " socket; not removing it", path);
			return -1;
		}
		if (socket_live(path)) {
			errf(err, "control socket %s is in use: another"
			    " enumdrd runs for this room", path);
			return -1;
		}
		if (unlink(path) == -1) {
			errf_errno(err, "remove stale control socket %s", path);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		errf_errno(err, "control socket");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy_(sun.sun_path, path, sizeof(sun.sun_path));
	/* Never world-accessible, not even between bind and chmod. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		errf_errno(err, "bind control socket %s", path);
		goto fail;
	}
	umask(old);
	if (chmod(path, 0660) == -1) {
		errf_errno(err, "chmod 0660 %s", path);
		goto fail;
	}
	if (listen(fd, 16) == -1) {
		errf_errno(err, "listen on control socket %s", path);
		goto fail;
	}
	if (pipe2(ag->ctl_wake, O_CLOEXEC) == -1) {
		errf_errno(err, "control: pipe");
		goto fail;
	}
	ag->ctl_fd = fd;
	if ((errno = pthread_create(&ag->ctl_thread, NULL, control_main,
	    ag)) != 0) {
		errf_errno(err, "control: thread");
		ag->ctl_fd = -1;
		goto fail;
	}
	ag->ctl_started = 1;
	return 0;
fail:
	close(fd);
	unlink(path);
	if (ag->ctl_wake[0] != -1) {
		close(ag->ctl_wake[0]);
		close(ag->ctl_wake[1]);
		ag->ctl_wake[0] = ag->ctl_wake[1] = -1;
	}
	return -1;
}

void
control_server_stop(struct agent *ag)
{
	if (ag->ctl_started) {
		if (write(ag->ctl_wake[1], "x", 1) == -1)
			log_warn("control: wake");
		pthread_join(ag->ctl_thread, NULL);
		ag->ctl_started = 0;
	}
	if (ag->ctl_fd != -1) {
		close(ag->ctl_fd);
		unlink(ag->cfg.control_socket);
		ag->ctl_fd = -1;
	}
	if (ag->ctl_wake[0] != -1) {
		close(ag->ctl_wake[0]);
		close(ag->ctl_wake[1]);
		ag->ctl_wake[0] = ag->ctl_wake[1] = -1;
	}
}
