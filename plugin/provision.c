/*
 * provision.c — the provisioning listener (the seed's "account opening and
 * cancelling process module", S0.5): a JSON API over HTTP for the business
 * support system.
 *
 *   POST   /v1/numbers          {"e164":"+46...","naptr":[{...}]}  -> 201
 *   PUT    /v1/numbers/{e164}   {"naptr":[{...}]}                  -> 200
 *   DELETE /v1/numbers/{e164}                                      -> 200
 *   POST   /v1/batch            {"changes":[{"op":"add|replace|remove",
 *                                "e164":...,"naptr":[...]}]}     -> 200
 *   GET    /v1/numbers/{e164}                                      -> 200/404
 *
 * A NAPTR object is {"order","preference","flags","service","regexp",
 * "replacement"} (RFC 3403); order, preference and service are required.
 *
 * Open only while the room is active (S0.5): while closed every change is
 * answered 503 {"error":"provisioning closed in room A","active_room":"B"};
 * reads are still served (S1.4).  The closed check is repeated under the
 * writer lock, so once `close` has returned no change commits.
 *
 * The bodies are parsed by lib/provreq.c (the control socket's `provision`
 * uses the same parser); this file routes, gates and commits.
 *
 * A change is acknowledged only after store_apply has committed it (data,
 * zone serial and journal row in one transaction, synchronous=FULL).
 * Errors: 400 malformed JSON (line/column), unknown field, invalid number
 * or NAPTR field ({"error","field"} names it), a number in the path that
 * is not E.164 (checked before the body is read), any query parameter, a
 * target that is not printable ASCII once decoded (http.c); 404 not
 * found; 409 exists; 413 body over 1 MiB; 422 no zone covers the number;
 * 503 closed, database busy or agent stopping, too many connections
 * (http.c); 507 disk full; 500 other database errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "provreq.h"
#include "util.h"

#define NUMBERS_PATH "/v1/numbers"

enum prov_route {
	ROUTE_ADD,
	ROUTE_REPLACE,
	ROUTE_REMOVE,
	ROUTE_BATCH,
	ROUTE_GET
};

struct prov_request {
	enum prov_route route;
	char e164[64];          /* from the path (validated later) */
	char *body;
	size_t len, cap;
	int too_large;
	int replied;
};

/* Answer a refusal: {"error","field"} with its status. */
static enum MHD_Result
prov_reply_error(struct MHD_Connection *conn, const struct provreq_error *pe)
{
	return http_reply_error(conn, pe->status, pe->field[0] != '\0' ?
	    pe->field : NULL, "%s", pe->msg);
}

/* ---- applying ------------------------------------------------------- */

static unsigned int
store_http_status(enum store_status s)
{
	switch (s) {
	case STORE_OK: return MHD_HTTP_OK;
	case STORE_EINVAL: return MHD_HTTP_BAD_REQUEST;
	case STORE_ENOZONE: return HTTP_UNPROCESSABLE;
	case STORE_EEXIST: return MHD_HTTP_CONFLICT;
	case STORE_ENOENT: return MHD_HTTP_NOT_FOUND;
	case STORE_EBUSY: return MHD_HTTP_SERVICE_UNAVAILABLE;
	case STORE_EFULL: return MHD_HTTP_INSUFFICIENT_STORAGE;
	case STORE_EIO: case STORE_EGAP: break;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

json_t *
provision_closed_json(struct agent *ag)
{
	char active[CONFIG_NAME_MAX];
	char msg[128];
	json_t *o;

	pub_active_room(&ag->pub, active, sizeof(active));
	snprintf(msg, sizeof(msg), "provisioning closed in room %s",
	    ag->cfg.room);
	o = json_pack("{s:s}", "error", msg);
	if (o != NULL && active[0] != '\0')
		json_object_set_new(o, "active_room", json_string(active));
	return o;
}

static enum MHD_Result
reply_closed(struct agent *ag, struct MHD_Connection *conn)
{
	return http_reply_json(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
	    provision_closed_json(ag));
}

int
provision_listener_open(struct agent *ag)
{
	int open;

	pthread_mutex_lock(&ag->pub.lock);
	open = ag->pub.listener_open;
	pthread_mutex_unlock(&ag->pub.lock);
	return open;
}

static const char *
op_word(enum store_op op)
{
	return op == STORE_ADD ? "add" : op == STORE_REPLACE ? "replace" :
	    "remove";
}

/* The one commit path of a provisioning change, whoever asks (the HTTP
 * API, the control socket's `provision`): the listener gate (S0.5) under
 * the writer lock, agent_store_apply (the storage alarms), the published
 * serials and the DNS group commit.  PROVISION_COMMITTED with *s the
 * store's verdict, or PROVISION_CLOSED / PROVISION_STOPPING with nothing
 * written. */
enum provision_gate
provision_commit(struct agent *ag, const struct store_change *changes,
    size_t n, struct store_change_result *res, size_t *failed,
    enum store_status *s, char *err)
{
	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer == NULL) {
		pthread_mutex_unlock(&ag->writer_lock);
		return PROVISION_STOPPING;
	}
	if (!ag->open) {
		pthread_mutex_unlock(&ag->writer_lock);
		return PROVISION_CLOSED;
	}
	/* Strict synchronous replication refuses while no standby is in
	 * step: nothing is written. */
	if (repl_admit(ag, err, ENUMDR_ERRLEN) == -1) {
		pthread_mutex_unlock(&ag->writer_lock);
		return PROVISION_UNCONFIRMED;
	}
	*s = agent_store_apply(ag, changes, n, res, failed, err);
	if (*s == STORE_OK) {
		pub_commit(&ag->pub, res, n);
		/* under the writer lock: positions in commit order */
		repl_committed(ag, res[n - 1].journal_seq);
	}
	pthread_mutex_unlock(&ag->writer_lock);
	if (*s != STORE_OK)
		return PROVISION_COMMITTED;
	dnsjob_kick(ag);
	/* Synchronous replication: acknowledged once a standby holds it
	 * (outside the writer lock: the next changes commit meanwhile). */
	if (repl_confirm(ag, res[n - 1].journal_seq, err, ENUMDR_ERRLEN) == -1)
		return PROVISION_UNCONFIRMED;
	return PROVISION_COMMITTED;
}

/* Commit n changes in one transaction and answer.  batch: the body is
 * {"changes":n,"journal":N,"results":[...]} and errors name changes[i]. */
static enum MHD_Result
apply_changes(struct agent *ag, struct MHD_Connection *conn,
    const struct store_change *changes, size_t n, int batch)
{
	struct store_change_result *res;
	char err[ENUMDR_ERRLEN], field[64];
	enum store_status s;
	size_t failed = 0, i;
	int64_t t0;
	json_t *o, *arr;

	if ((res = calloc(n, sizeof(*res))) == NULL)
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "out of memory");
	t0 = util_now_ms();
	switch (provision_commit(ag, changes, n, res, &failed, &s, err)) {
	case PROVISION_STOPPING:
		free(res);
		return http_reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    NULL, "agent of room %s is stopping", ag->cfg.room);
	case PROVISION_CLOSED:
		free(res);
		return reply_closed(ag, conn);
	case PROVISION_UNCONFIRMED:
		free(res);
		log_warnx("provisioning: %s", err);
		return http_reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    NULL, "%s", err);
	default:
		break;
	}
	if (s != STORE_OK) {
		unsigned int status = store_http_status(s);

		if (status >= 500)
			log_warnx("provisioning: %s", err);
		if (failed >= n)
			snprintf(field, sizeof(field), "%s", "");
		else if (batch)
			snprintf(field, sizeof(field), "changes[%zu]%s", failed,
			    s == STORE_EINVAL ? "" : ".e164");
		else
			snprintf(field, sizeof(field), "%s",
			    s == STORE_EINVAL ? "" : "e164");
		free(res);
		if (batch && failed < n) {
			o = json_pack("{s:s,s:s,s:I}", "error", err, "field",
			    field, "index", (json_int_t)failed);
			if (o != NULL)
				return http_reply_json(conn, status, o);
		}
		return http_reply_error(conn, status, field[0] ? field : NULL,
		    "%s", err);
	}
	log_debug("provisioning: %zu change%s committed in %lld ms", n,
	    n == 1 ? "" : "s", (long long)(util_now_ms() - t0));
	if (!batch) {
		o = json_pack("{s:s,s:s,s:I,s:I}", "e164", changes[0].entry.e164,
		    "zone", res[0].zone, "serial", (json_int_t)res[0].serial,
		    "journal", (json_int_t)res[0].journal_seq);
		free(res);
		return http_reply_json(conn, changes[0].op == STORE_ADD ?
		    MHD_HTTP_CREATED : MHD_HTTP_OK, o);
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:I}",
		    "op", op_word(changes[i].op), "e164", changes[i].entry.e164,
		    "zone", res[i].zone, "serial", (json_int_t)res[i].serial,
		    "journal", (json_int_t)res[i].journal_seq));
	o = json_pack("{s:I,s:I,s:o}", "changes", (json_int_t)n, "journal",
	    (json_int_t)res[n - 1].journal_seq, "results", arr);
	free(res);
	return http_reply_json(conn, MHD_HTTP_OK, o);
}

/* POST /v1/numbers, PUT /v1/numbers/{e164}, DELETE /v1/numbers/{e164}. */
static enum MHD_Result
handle_one(struct agent *ag, struct MHD_Connection *conn,
    struct prov_request *rq)
{
	struct store_change *c;
	struct provreq_error pe;
	enum MHD_Result ret;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "out of memory");
	memset(&pe, 0, sizeof(pe));
	switch (rq->route) {
	case ROUTE_ADD:
		r = provreq_parse_add(rq->body, rq->len, c, &pe);
		break;
	case ROUTE_REPLACE:
		r = provreq_parse_replace(rq->e164, rq->body, rq->len, c, &pe);
		break;
	case ROUTE_REMOVE:
		r = provreq_parse_remove(rq->e164, c, &pe);
		break;
	default:
		provreq_fail(&pe, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
		    "unexpected route");
		r = -1;
		break;
	}
	if (r == -1) {
		free(c);
		return prov_reply_error(conn, &pe);
	}
	ret = apply_changes(ag, conn, c, 1, 0);
	free(c);
	return ret;
}

/* POST /v1/batch: every change in one transaction, all or none. */
static enum MHD_Result
handle_batch(struct agent *ag, struct MHD_Connection *conn,
    struct prov_request *rq)
{
	struct store_change *changes = NULL;
	struct provreq_error pe;
	enum MHD_Result ret;
	size_t n;

	memset(&pe, 0, sizeof(pe));
	if (provreq_parse_batch(rq->body, rq->len, &changes, &n, &pe) == -1)
		return prov_reply_error(conn, &pe);
	ret = apply_changes(ag, conn, changes, n, 1);
	free(changes);
	return ret;
}

/* GET /v1/numbers/{e164}, on the read-only connection. */
static enum MHD_Result
handle_get(struct agent *ag, struct MHD_Connection *conn,
    struct prov_request *rq)
{
	struct number_entry *e;
	struct provreq_error pe;
	char err[ENUMDR_ERRLEN];
	enum store_status s;
	json_t *arr, *o;
	size_t i;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return http_reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    NULL, "out of memory");
	memset(&pe, 0, sizeof(pe));
	if (provreq_check_e164(rq->e164, "e164", &pe) == -1) {
		free(e);
		return prov_reply_error(conn, &pe);
	}
	pthread_mutex_lock(&ag->reader_lock);
	s = ag->reader != NULL ? store_get_number(ag->reader, rq->e164, e,
	    err) : STORE_EBUSY;
	pthread_mutex_unlock(&ag->reader_lock);
	if (s != STORE_OK) {
		free(e);
		return http_reply_error(conn, store_http_status(s),
		    s == STORE_EIO ? NULL : "e164", "%s", s == STORE_EBUSY &&
		    ag->reader == NULL ? "agent stopping" : err);
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < e->nnaptr; i++)
		json_array_append_new(arr, json_pack("{s:i,s:i,s:s,s:s,s:s,s:s}",
		    "order", e->naptr[i].order, "preference",
		    e->naptr[i].preference, "flags", e->naptr[i].flags,
		    "service", e->naptr[i].service, "regexp", e->naptr[i].regexp,
		    "replacement", e->naptr[i].replacement[0] ?
		    e->naptr[i].replacement : "."));
	o = json_pack("{s:s,s:s,s:o}", "e164", e->e164, "zone", e->zone,
	    "naptr", arr);
	free(e);
	return http_reply_json(conn, MHD_HTTP_OK, o);
}

/* ---- routing -------------------------------------------------------- */

/* The first query parameter's name, for the refusal. */
static enum MHD_Result
first_query_key(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	const char **first = cls;

	(void)kind;
	(void)value;
	*first = key;
	return MHD_NO;
}

/* Route method + url; 0, or -1 with the answer in pe (and in *allow the
 * methods of a 405).  The number in the path and the absence of a query
 * are checked here, before any body is read; http.c has already refused
 * a target that is not printable ASCII once decoded. */
static int
route(struct MHD_Connection *conn, const char *url, const char *method,
    struct prov_request *rq, const char **allow, struct provreq_error *pe)
{
	const char *num, *key = NULL;
	size_t len = strlen(NUMBERS_PATH);

	*allow = NULL;
	if (strcmp(url, NUMBERS_PATH) == 0) {
		rq->route = ROUTE_ADD;
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			*allow = "POST";
	} else if (strncmp(url, NUMBERS_PATH "/", len + 1) == 0) {
		num = url + len + 1;
		if (*num == '\0' || strchr(num, '/') != NULL) {
			provreq_fail(pe, MHD_HTTP_NOT_FOUND, NULL,
			    "no such resource: %.200s", url);
			return -1;
		}
		if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
			rq->route = ROUTE_GET;
		else if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
			rq->route = ROUTE_REPLACE;
		else if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
			rq->route = ROUTE_REMOVE;
		else
			*allow = "GET, PUT, DELETE";
		if (*allow == NULL) {
			if (provreq_check_e164(num, "e164", pe) == -1)
				return -1;
			strlcpy_(rq->e164, num, sizeof(rq->e164));
		}
	} else if (strcmp(url, "/v1/batch") == 0) {
		rq->route = ROUTE_BATCH;
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			*allow = "POST";
	} else {
		provreq_fail(pe, MHD_HTTP_NOT_FOUND, NULL,
		    "no such resource: %.200s (the API is /v1/numbers,"
		    " /v1/numbers/{e164}, /v1/batch)", url);
		return -1;
	}
	if (*allow != NULL) {
		provreq_fail(pe, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
		    "method %.16s not allowed on %.200s (allowed: %s)", method,
		    url, *allow);
		return -1;
	}
	if (MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
	    first_query_key, &key) > 0) {
		provreq_fail(pe, MHD_HTTP_BAD_REQUEST, "query",
		    "query: the provisioning API takes no query parameters"
		    " (got \"%.32s\")", key != NULL ? key : "");
		return -1;
	}
	return 0;
}

static enum MHD_Result
reply_405(struct MHD_Connection *conn, const struct provreq_error *pe,
    const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	json_t *o;
	char *text, *nt;
	size_t len;

	o = json_pack("{s:s}", "error", pe->msg);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	len = strlen(text);
	if ((nt = realloc(text, len + 2)) == NULL) {
		free(text);
		return MHD_NO;
	}
	text = nt;
	text[len++] = '\n';
	text[len] = '\0';
	r = MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
prov_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct agent *ag = cls;
	struct prov_request *rq = *con_cls;
	struct provreq_error pe;
	const char *allow;
	long long cl;
	char *nb;
	size_t need;

	if (rq == NULL) {
		/* First call: headers only.  Answer at once what needs no
		 * body (MHD then sends no "100 Continue"). */
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*con_cls = rq;
		atomic_fetch_add(&ag->prov_inflight, 1);
		memset(&pe, 0, sizeof(pe));
		if (route(conn, url, method, rq, &allow, &pe) == -1) {
			rq->replied = 1;
			if (allow != NULL)
				return reply_405(conn, &pe, allow);
			return prov_reply_error(conn, &pe);
		}
		cl = http_content_length(conn);
		if (cl > (long long)AGENT_BODY_MAX) {
			rq->replied = 1;
			return http_reply_error(conn,
			    HTTP_CONTENT_TOO_LARGE, NULL,
			    "request body of %lld bytes is larger than the"
			    " limit of %zu bytes (1 MiB)", cl, AGENT_BODY_MAX);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!rq->replied && !rq->too_large) {
			need = rq->len + *upload_data_size;
			if (need > AGENT_BODY_MAX) {
				rq->too_large = 1;
				free(rq->body);
				rq->body = NULL;
				rq->len = rq->cap = 0;
			} else {
				if (need + 1 > rq->cap) {
					size_t cap = rq->cap ? rq->cap : 4096;

					while (cap < need + 1)
						cap *= 2;
					if ((nb = realloc(rq->body, cap)) ==
					    NULL)
						return MHD_NO;
					rq->body = nb;
					rq->cap = cap;
				}
				memcpy(rq->body + rq->len, upload_data,
				    *upload_data_size);
				rq->len = need;
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->replied)
		return MHD_YES;
	rq->replied = 1;
	if (rq->too_large)
		return http_reply_error(conn, HTTP_CONTENT_TOO_LARGE, NULL,
		    "request body larger than the limit of %zu bytes (1 MiB)",
		    AGENT_BODY_MAX);
	if (ag->stopping)
		return http_reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    NULL, "agent of room %s is stopping", ag->cfg.room);
	if (rq->route == ROUTE_GET)
		return handle_get(ag, conn, rq);
	if (!provision_listener_open(ag))
		return reply_closed(ag, conn);
	if (rq->route == ROUTE_BATCH)
		return handle_batch(ag, conn, rq);
	return handle_one(ag, conn, rq);
}

static void
prov_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct agent *ag = cls;
	struct prov_request *rq = *con_cls;

	if (rq == NULL)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
	/* Called once the answer is sent (or the client went away). */
	atomic_fetch_sub(&ag->prov_inflight, 1);
}

struct MHD_Daemon *
provision_start(struct agent *ag, const char *listen_on, char *err)
{
	struct http_limits lim;

	/* The bodies are small (1 MiB at most): a fixed body deadline. */
	memset(&lim, 0, sizeof(lim));
	lim.connections = AGENT_PROV_CONNECTIONS;
	lim.local_reserve = AGENT_LOCAL_RESERVE;
	lim.per_address = (unsigned int)ag->cfg.provisioning_per_address;
	lim.header_timeout_ms = ag->cfg.header_timeout_s * 1000;
	lim.body_timeout_ms = ag->cfg.body_timeout_s * 1000;
	lim.min_rate = 0;
	return http_start(listen_on, "provisioning listener", &lim,
	    prov_handler, ag, prov_completed, err);
}
