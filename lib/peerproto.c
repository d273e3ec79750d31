/*
 * peerproto.c — the peer protocol between rooms (issue 13): the heartbeat
 * (S0.3, S0.4 liveness; S0.7 journal position) and the change journal
 * (issue 14, continuous replication), each as a struct, its emitter, its
 * strict parser and its bounded client.  See peerproto.h and
 * doc/peer-protocol.md.
 *
 * A message comes from another process, maybe from another machine: it
 * is size-checked before it is parsed (PEERPROTO_BODY_MAX and at most
 * PEERPROTO_ZONES_MAX zones; PEERPROTO_JOURNAL_BODY_MAX and at most
 * PEERPROTO_CHANGES_MAX changes), jansson bounds the nesting depth,
 * duplicate keys are refused, and every member is checked for type and
 * value before it is copied into the struct.  Nothing is defaulted.  A
 * journal's changes are held to the rules the provisioning API holds a
 * change to (issue 12): they are written into the follower's database.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "json_util.h"
#include "naptr.h"
#include "peerproto.h"
#include "transfer.h"

#define NAME_LEN 64     /* a member's name in a message: "zones[9999].origin",
			 * "changes[9999].prev_origin" */
#define UUID_LEN 32     /* a database uuid: lower-case hex digits */

/* A journal client: see peerproto_client_new. */
struct peerproto_client {
	CURL *curl;
	const atomic_int *abort_flag;   /* ends a pending poll (shutdown) */
};

const char *
peerproto_storage_name(enum peerproto_storage s)
{
	switch (s) {
	case PEERPROTO_STORAGE_OK: return "ok";
	case PEERPROTO_STORAGE_FULL: return "full";
	default: return "error";
	}
}

/* Member key of obj into *out; -1 with err naming it when absent. */
static int
member(json_t *obj, const char *name, const char *key, json_t **out,
    char *err)
{
	if ((*out = json_object_get(obj, key)) == NULL) {
		errf(err, "member \"%s\" missing", name);
		return -1;
	}
	return 0;
}

/* A string value of at most outlen - 1 printable ASCII bytes into out. */
static int
take_string(json_t *v, const char *name, char *out, size_t outlen,
    char *err)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v)) {
		errf(err, "member \"%s\": not a string (it is %s)", name,
		    json_util_type_name(v));
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len >= outlen) {
		errf(err, "member \"%s\": longer than %zu bytes", name,
		    outlen - 1);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
			errf(err, "member \"%s\": byte %zu is not printable"
			    " ASCII", name, i);
			return -1;
		}
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* The string member key: present, a string, fits, printable. */
static int
get_string(json_t *obj, const char *name, const char *key, char *out,
    size_t outlen, char *err)
{
	json_t *v;

	if (member(obj, name, key, &v, err) == -1)
		return -1;
	return take_string(v, name, out, outlen, err);
}

/* The integer member key, within [min, max]. */
static int
get_integer(json_t *obj, const char *name, const char *key, json_int_t min,
    json_int_t max, json_int_t *out, char *err)
{
	json_t *v;
	json_int_t i;

	if (member(obj, name, key, &v, err) == -1)
		return -1;
	if (!json_is_integer(v)) {
		errf(err, "member \"%s\": not an integer (it is %s)", name,
		    json_util_type_name(v));
		return -1;
	}
	i = json_integer_value(v);
	if (i < min || i > max) {
		errf(err, "member \"%s\": %lld is out of range %lld..%lld",
		    name, (long long)i, (long long)min, (long long)max);
		return -1;
	}
	*out = i;
	return 0;
}

/* A received value of len bytes for a message: at most outlen - 4 bytes
 * ("..." when cut), anything but printable ASCII as '?'. */
static const char *
shown_value(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, n = len < outlen - 4 ? len : outlen - 4;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] > 0x7e ? '?' : s[i];
	strlcpy_(out + n, n < len ? "..." : "", outlen - n);
	return out;
}

/* The string member key, one of words (NULL-terminated): its index into
 * *out.  A value that is not one of them is named when it is short. */
static int
get_word(json_t *obj, const char *name, const char *key,
    const char *const *words, int *out, char *err)
{
	char list[64], value[24];
	const char *s;
	json_t *v;
	int i;

	if (member(obj, name, key, &v, err) == -1)
		return -1;
	if (!json_is_string(v)) {
		errf(err, "member \"%s\": not a string (it is %s)", name,
		    json_util_type_name(v));
		return -1;
	}
	s = json_string_value(v);
	for (i = 0; words[i] != NULL; i++) {
		if (json_string_length(v) == strlen(words[i]) &&
		    strcmp(s, words[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	list[0] = '\0';
	for (i = 0; words[i] != NULL; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s\"%s\"", i == 0 ? "" : words[i + 1] == NULL ? " or " :
		    ", ", words[i]);
	errf(err, "member \"%s\": \"%s\" is not %s", name, shown_value(s,
	    json_string_length(v), value, sizeof(value)), list);
	return -1;
}

/* A token of 1 to max - 1 characters of [A-Za-z0-9_-] (upper: no a-z). */
static int
token_valid(const char *s, size_t max, int upper)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' &&
		    s[n] <= '9') || s[n] == '_' || s[n] == '-')
			continue;
		if (!upper && s[n] >= 'a' && s[n] <= 'z')
			continue;
		return 0;
	}
	return n >= 1 && n < max;
}

static int
get_time(json_t *obj, const char *name, const char *key, char *out,
    char *err)
{
	if (get_string(obj, name, key, out, PEERPROTO_TIME_MAX, err) == -1)
		return -1;
	if (!util_utc_valid(out, strlen(out))) {
		errf(err, "member \"%s\": \"%s\" is not UTC like"
		    " 2026-11-29T15:34:26Z", name, out);
		return -1;
	}
	return 0;
}

/* "v": exactly PEERPROTO_VERSION; the first member looked at, so that a
 * message of another version is named as such, not by a member. */
static int
parse_version(json_t *root, int *version, char *err)
{
	json_t *v;

	if ((v = json_object_get(root, "v")) == NULL) {
		errf(err, "member \"v\" missing: no protocol version (an"
		    " enumdrd older than peer protocol %d?); this program"
		    " speaks version %d", PEERPROTO_VERSION, PEERPROTO_VERSION);
		return -1;
	}
	if (!json_is_integer(v)) {
		errf(err, "member \"v\": not an integer (it is %s)",
		    json_util_type_name(v));
		return -1;
	}
	if (json_integer_value(v) != PEERPROTO_VERSION) {
		errf(err, "protocol version %lld (member \"v\"); this program"
		    " speaks version %d", (long long)json_integer_value(v),
		    PEERPROTO_VERSION);
		return -1;
	}
	*version = PEERPROTO_VERSION;
	return 0;
}

/* The string member key: a room name ([A-Za-z0-9_-]{1,63}); empty too
 * when may_be_empty. */
static int
get_room(json_t *obj, const char *name, const char *key, char *out,
    size_t outlen, int may_be_empty, char *err)
{
	if (get_string(obj, name, key, out, outlen, err) == -1)
		return -1;
	if ((out[0] != '\0' || !may_be_empty) &&
	    !token_valid(out, outlen, 0)) {
		errf(err, "member \"%s\": \"%s\" is not a room name"
		    " ([A-Za-z0-9_-]{1,63})", name, out);
		return -1;
	}
	return 0;
}

/* The string member key: a database uuid (UUID_LEN lower-case hex
 * digits); empty too when may_be_empty. */
static int
get_uuid(json_t *obj, const char *name, const char *key, char *out,
    size_t outlen, int may_be_empty, char *err)
{
	size_t k;

	if (get_string(obj, name, key, out, outlen, err) == -1)
		return -1;
	if (out[0] == '\0' && may_be_empty)
		return 0;
	for (k = 0; out[k] != '\0'; k++)
		if (!((out[k] >= '0' && out[k] <= '9') ||
		    (out[k] >= 'a' && out[k] <= 'f')))
			break;
	if (k != UUID_LEN || out[k] != '\0') {
		errf(err, "member \"%s\": \"%s\" is not a database uuid (%d"
		    " lower-case hex digits%s)", name, out, UUID_LEN,
		    may_be_empty ? ", or \"\"" : "");
		return -1;
	}
	return 0;
}

static int
parse_zones(json_t *root, struct peerproto_heartbeat *hb, char *err)
{
	char name[NAME_LEN], verr[ENUMDR_ERRLEN];
	json_t *arr, *z, *v;
	json_int_t serial;
	size_t i, n;

	if (member(root, "zones", "zones", &arr, err) == -1)
		return -1;
	if (!json_is_array(arr)) {
		errf(err, "member \"zones\": not an array (it is %s)",
		    json_util_type_name(arr));
		return -1;
	}
	if ((n = json_array_size(arr)) > PEERPROTO_ZONES_MAX) {
		errf(err, "member \"zones\": %zu zones, more than %d", n,
		    PEERPROTO_ZONES_MAX);
		return -1;
	}
	if (n > 0 && (hb->zones = calloc(n, sizeof(*hb->zones))) == NULL) {
		errf(err, "member \"zones\": out of memory for %zu zones", n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		z = json_array_get(arr, i);
		if (!json_is_object(z)) {
			errf(err, "member \"zones[%zu]\": not an object (it is"
			    " %s)", i, json_util_type_name(z));
			return -1;
		}
		snprintf(name, sizeof(name), "zones[%zu].origin", i);
		if (member(z, name, "origin", &v, err) == -1 ||
		    take_string(v, name, hb->zones[i].origin,
		    sizeof(hb->zones[i].origin), err) == -1)
			return -1;
		if (store_origin_valid(hb->zones[i].origin, NULL, verr) ==
		    -1) {
			errf(err, "member \"%s\": %s", name, verr);
			return -1;
		}
		snprintf(name, sizeof(name), "zones[%zu].serial", i);
		if (get_integer(z, name, "serial", 0, UINT32_MAX, &serial,
		    err) == -1)
			return -1;
		hb->zones[i].serial = (uint32_t)serial;
		hb->nzones = i + 1;
	}
	return 0;
}

static int
parse_snapshot(json_t *root, struct peerproto_heartbeat *hb, char *err)
{
	struct peerproto_snapshot *s = &hb->snapshot;
	json_t *o;
	json_int_t i;
	size_t k;

	if (member(root, "snapshot", "snapshot", &o, err) == -1)
		return -1;
	if (json_is_null(o)) {
		hb->have_snapshot = 0;
		return 0;
	}
	if (!json_is_object(o)) {
		errf(err, "member \"snapshot\": neither an object nor null"
		    " (it is %s)", json_util_type_name(o));
		return -1;
	}
	if (get_time(o, "snapshot.created", "created", s->created, err) == -1)
		return -1;
	if (get_integer(o, "snapshot.journal", "journal", 0, INT64_MAX, &i,
	    err) == -1)
		return -1;
	s->journal = i;
	if (get_integer(o, "snapshot.size", "size", 0, INT64_MAX, &i,
	    err) == -1)
		return -1;
	s->size = (uint64_t)i;
	if (get_string(o, "snapshot.sha256", "sha256", s->sha256,
	    sizeof(s->sha256), err) == -1)
		return -1;
	for (k = 0; s->sha256[k] != '\0'; k++)
		if (!((s->sha256[k] >= '0' && s->sha256[k] <= '9') ||
		    (s->sha256[k] >= 'a' && s->sha256[k] <= 'f')))
			break;
	if (k != 64 || s->sha256[k] != '\0') {
		errf(err, "member \"snapshot.sha256\": not 64 lower-case hex"
		    " digits");
		return -1;
	}
	hb->have_snapshot = 1;
	return 0;
}

/* "storage" and "storage_error": a string exactly when not "ok". */
static int
parse_storage(json_t *root, struct peerproto_heartbeat *hb, char *err)
{
	/* In the order of enum peerproto_storage. */
	static const char *const words[] = { "ok", "full", "error", NULL };
	json_t *v;
	int i;

	if (get_word(root, "storage", "storage", words, &i, err) == -1)
		return -1;
	hb->storage = (enum peerproto_storage)i;
	if (member(root, "storage_error", "storage_error", &v, err) == -1)
		return -1;
	if (hb->storage == PEERPROTO_STORAGE_OK) {
		if (!json_is_null(v)) {
			errf(err, "member \"storage_error\": not null although"
			    " \"storage\" is \"ok\" (it is %s)", json_util_type_name(v));
			return -1;
		}
		hb->storage_error[0] = '\0';
		return 0;
	}
	if (take_string(v, "storage_error", hb->storage_error,
	    sizeof(hb->storage_error), err) == -1)
		return -1;
	if (hb->storage_error[0] == '\0') {
		errf(err, "member \"storage_error\": empty although"
		    " \"storage\" is \"%s\"", peerproto_storage_name(
		    hb->storage));
		return -1;
	}
	return 0;
}

/* "following", optional: at most CONFIG_MAX_PEERS entries of
 * {"peer": room, "state": word, "behind": integer >= 0}. */
static int
parse_repl(json_t *root, struct peerproto_heartbeat *hb, char *err)
{
	char name[64];
	json_t *arr, *e;
	json_int_t n;
	size_t i, k;

	if ((arr = json_object_get(root, "following")) == NULL)
		return 0;
	if (!json_is_array(arr)) {
		errf(err, "member \"following\": not an array (it is %s)",
		    json_util_type_name(arr));
		return -1;
	}
	if (json_array_size(arr) > CONFIG_MAX_PEERS) {
		errf(err, "member \"following\": more than %d entries",
		    CONFIG_MAX_PEERS);
		return -1;
	}
	json_array_foreach(arr, i, e) {
		struct peerproto_repl *r = &hb->repl[i];

		if (!json_is_object(e)) {
			errf(err, "member \"following[%zu]\": not an object"
			    " (it is %s)", i, json_util_type_name(e));
			return -1;
		}
		snprintf(name, sizeof(name), "following[%zu].peer", i);
		if (get_room(e, name, "peer", r->peer, sizeof(r->peer), 0,
		    err) == -1)
			return -1;
		snprintf(name, sizeof(name), "following[%zu].state", i);
		if (get_string(e, name, "state", r->state, sizeof(r->state),
		    err) == -1)
			return -1;
		for (k = 0; r->state[k] != '\0'; k++)
			if (!((r->state[k] >= 'a' && r->state[k] <= 'z') ||
			    r->state[k] == '-'))
				break;
		if (k == 0 || r->state[k] != '\0') {
			errf(err, "member \"%s\": \"%s\" is not a state"
			    " ([a-z-]{1,%zu})", name, r->state,
			    sizeof(r->state) - 1);
			return -1;
		}
		snprintf(name, sizeof(name), "following[%zu].behind", i);
		if (get_integer(e, name, "behind", 0, INT64_MAX, &n, err) ==
		    -1)
			return -1;
		r->behind = n;
		hb->nrepl = i + 1;
	}
	return 0;
}

/* Every member of the root object, in the order the agent sends them. */
static int
parse_members(json_t *root, struct peerproto_heartbeat *hb, char *err)
{
	static const char *const listener_words[] = { "open", "closed", NULL };
	json_int_t i;
	int w;

	if (parse_version(root, &hb->version, err) == -1)
		return -1;
	if (get_room(root, "room", "room", hb->room, sizeof(hb->room), 0,
	    err) == -1)
		return -1;
	if (get_string(root, "role", "role", hb->role, sizeof(hb->role),
	    err) == -1)
		return -1;
	if (!token_valid(hb->role, sizeof(hb->role), 1)) {
		errf(err, "member \"role\": \"%s\" is not a role"
		    " ([A-Z0-9_-]{1,%zu})", hb->role, sizeof(hb->role) - 1);
		return -1;
	}
	if (get_word(root, "listener", "listener", listener_words, &w,
	    err) == -1)
		return -1;
	hb->listener_open = w == 0;
	if (get_integer(root, "journal", "journal", 0, INT64_MAX, &i,
	    err) == -1)
		return -1;
	hb->journal = i;
	if (parse_zones(root, hb, err) == -1 ||
	    parse_snapshot(root, hb, err) == -1)
		return -1;
	if (get_integer(root, "alarms", "alarms", 0, INT_MAX, &i, err) == -1)
		return -1;
	hb->alarms = (int)i;
	if (parse_storage(root, hb, err) == -1)
		return -1;
	if (get_time(root, "time", "time", hb->time, err) == -1)
		return -1;
	return parse_repl(root, hb, err);
}

/* body (len bytes, at most max) as a JSON object into *root. */
static int
load_object(const char *body, size_t len, size_t max, json_t **root,
    char *err)
{
	json_error_t jerr;

	*root = NULL;
	if (body == NULL || len == 0) {
		errf(err, "empty body");
		return -1;
	}
	if (len > max) {
		errf(err, "body of %zu bytes, more than %zu", len, max);
		return -1;
	}
	*root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL) {
		errf(err, "not JSON: %s at line %d column %d", jerr.text,
		    jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(*root)) {
		errf(err, "not a JSON object (it is %s)",
		    json_util_type_name(*root));
		json_decref(*root);
		*root = NULL;
		return -1;
	}
	return 0;
}

int
peerproto_heartbeat_parse(const char *body, size_t len,
    struct peerproto_heartbeat *hb, char *err)
{
	json_t *root;
	int ret;

	memset(hb, 0, sizeof(*hb));
	if (load_object(body, len, PEERPROTO_BODY_MAX, &root, err) == -1)
		return -1;
	if ((ret = parse_members(root, hb, err)) == -1)
		peerproto_heartbeat_free(hb);
	json_decref(root);
	return ret;
}

void
peerproto_heartbeat_free(struct peerproto_heartbeat *hb)
{
	free(hb->zones);
	hb->zones = NULL;
	hb->nzones = 0;
}

json_t *
peerproto_heartbeat_json(const struct peerproto_heartbeat *hb, char *err)
{
	json_t *o = NULL, *zones, *snap;
	size_t i;

	zones = json_array();
	for (i = 0; zones != NULL && i < hb->nzones; i++) {
		if (json_array_append_new(zones, json_pack("{s:s,s:I}",
		    "origin", hb->zones[i].origin, "serial",
		    (json_int_t)hb->zones[i].serial)) == -1) {
			json_decref(zones);
			zones = NULL;
		}
	}
	if (hb->have_snapshot)
		snap = json_pack("{s:s,s:I,s:I,s:s}",
		    "created", hb->snapshot.created,
		    "journal", (json_int_t)hb->snapshot.journal,
		    "size", (json_int_t)hb->snapshot.size,
		    "sha256", hb->snapshot.sha256);
	else
		snap = json_null();
	/* "o" steals zones and snap, also when the pack fails. */
	if (zones != NULL && snap != NULL)
		o = json_pack("{s:i,s:s,s:s,s:s,s:I,s:o,s:o,s:i,s:s,s:o,s:s}",
		    "v", PEERPROTO_VERSION,
		    "room", hb->room,
		    "role", hb->role,
		    "listener", hb->listener_open ? "open" : "closed",
		    "journal", (json_int_t)hb->journal,
		    "zones", zones,
		    "snapshot", snap,
		    "alarms", hb->alarms,
		    "storage", peerproto_storage_name(hb->storage),
		    "storage_error", hb->storage == PEERPROTO_STORAGE_OK ?
		    json_null() : json_string(hb->storage_error),
		    "time", hb->time);
	else {
		json_decref(zones);
		json_decref(snap);
	}
	if (o != NULL && hb->nrepl > 0) {
		json_t *arr = json_array();

		for (i = 0; arr != NULL && i < hb->nrepl; i++)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:I}",
			    "peer", hb->repl[i].peer, "state",
			    hb->repl[i].state, "behind",
			    (json_int_t)hb->repl[i].behind));
		if (arr == NULL || json_object_set_new(o, "following",
		    arr) == -1) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o == NULL)
		errf(err, "heartbeat: out of memory building the JSON");
	return o;
}

/* An error answer's "error" member (the agent's error bodies), shown. */
static void
answer_error(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *j;
	const char *e;
	size_t i;

	out[0] = '\0';
	if ((j = json_loadb(body, len, 0, NULL)) == NULL)
		return;
	if ((e = json_string_value(json_object_get(j, "error"))) != NULL) {
		for (i = 0; e[i] != '\0' && i + 3 < outlen; i++)
			out[i + 2] = (unsigned char)e[i] < 0x20 ||
			    (unsigned char)e[i] > 0x7e ? '?' : e[i];
		if (i > 0) {
			out[0] = ':';
			out[1] = ' ';
			out[i + 2] = '\0';
		}
	}
	json_decref(j);
}

/*
 * GET url on curl (NULL: a handle of this call's own), the connect phase
 * bounded by connect_ms and the whole by total_ms, at most max bytes;
 * what names the message ("heartbeat", "journal").  PEERPROTO_OK with
 * *body (malloc'd, NUL-terminated) of *len bytes: an HTTP 200 answer.
 * PEERPROTO_EUNREACHABLE: no answer (err "GET URL: ...");
 * PEERPROTO_EPROTO: another status, or too much (err "WHAT from URL:
 * ...").  *status is the HTTP status, 0 when none.
 */
static int
fetch(CURL *curl, const atomic_int *abort_flag, int post, const char *url,
    long connect_ms, long total_ms, size_t max, const char *what,
    char **body, size_t *len, long *status, char *err)
{
	struct transfer_opts o;
	char shown[CONFIG_URL_MAX], why[256];
	int rc;

	*body = NULL;
	*len = 0;
	*status = 0;
	memset(&o, 0, sizeof(o));
	if (total_ms < 1)
		total_ms = 1;
	o.total_timeout_ms = total_ms;
	o.abort_flag = abort_flag;
	o.connect_timeout_ms = connect_ms > 0 && connect_ms < total_ms ?
	    connect_ms : total_ms;
	transfer_url_show(url, shown, sizeof(shown));
	if (post)
		rc = transfer_http_post(url, &o, max, body, len, status, err);
	else if (curl != NULL)
		rc = transfer_http_get_keep(curl, url, &o, max, body, len,
		    status, err);
	else
		rc = transfer_http_get(url, &o, max, body, len, status, err);
	if (rc == -1) {
		if (*status == 0)
			return PEERPROTO_EUNREACHABLE;	/* err: "GET URL: ..." */
		/* It answered, with too much (transfer_http_get's cap). */
		errf(err, "%s from %s: HTTP status %ld, body over %zu bytes",
		    what, shown, *status, max);
		return PEERPROTO_EPROTO;
	}
	if (*status != 200) {
		answer_error(*body, *len, why, sizeof(why));
		errf(err, "%s from %s: HTTP status %ld%s", what, shown,
		    *status, why);
		free(*body);
		*body = NULL;
		*len = 0;
		return PEERPROTO_EPROTO;
	}
	return PEERPROTO_OK;
}

int
peerproto_heartbeat_get(const char *url, long connect_ms, long total_ms,
    struct peerproto_heartbeat *hb, long *status, char *err)
{
	char shown[CONFIG_URL_MAX], perr[ENUMDR_ERRLEN];
	char *body;
	size_t len;
	long code;
	int ret;

	memset(hb, 0, sizeof(*hb));
	ret = fetch(NULL, NULL, 0, url, connect_ms, total_ms, PEERPROTO_BODY_MAX,
	    "heartbeat", &body, &len, &code, err);
	if (status != NULL)
		*status = code;
	if (ret != PEERPROTO_OK)
		return ret;
	if (peerproto_heartbeat_parse(body, len, hb, perr) == -1) {
		transfer_url_show(url, shown, sizeof(shown));
		errf(err, "heartbeat from %s: %s", shown, perr);
		ret = PEERPROTO_EPROTO;
	}
	free(body);
	return ret;
}

/* ---- the change journal (issue 14) ----------------------------------- */

/* The records member of change i into *out (malloc'd): the canonical NAPTR
 * text for add and replace, "" for remove and import. */
static int
get_records(json_t *c, const char *name, const char *op, char **out,
    char *err)
{
	char verr[ENUMDR_ERRLEN];
	json_t *v;
	size_t len;
	int text = strcmp(op, "add") == 0 || strcmp(op, "replace") == 0;

	if (member(c, name, "records", &v, err) == -1)
		return -1;
	if (!json_is_string(v)) {
		errf(err, "member \"%s\": not a string (it is %s)", name,
		    json_util_type_name(v));
		return -1;
	}
	len = json_string_length(v);
	if (len > NAPTR_TEXT_MAX) {
		errf(err, "member \"%s\": longer than %d bytes", name,
		    NAPTR_TEXT_MAX);
		return -1;
	}
	if (strlen(json_string_value(v)) != len) {
		errf(err, "member \"%s\": a NUL byte inside", name);
		return -1;
	}
	if (!text && len != 0) {
		errf(err, "member \"%s\": not \"\" although \"op\" is"
		    " \"%s\"", name, op);
		return -1;
	}
	if (text && naptr_text_valid(json_string_value(v), verr) == -1) {
		errf(err, "member \"%s\": %s", name, verr);
		return -1;
	}
	if ((*out = strdup(json_string_value(v))) == NULL) {
		errf(err, "member \"%s\": out of memory", name);
		return -1;
	}
	return 0;
}

/* A change's "origin", "oseq", "hlc" and "room": origin "" (an import, or
 * a row written before schema 2) has no version (0, 0, ""). */
static int
get_version(json_t *c, size_t i, struct store_version *v, char *err)
{
	char name[NAME_LEN];
	json_int_t n;
	int none;

	snprintf(name, sizeof(name), "changes[%zu].origin", i);
	if (get_uuid(c, name, "origin", v->origin, sizeof(v->origin), 1,
	    err) == -1)
		return -1;
	none = v->origin[0] == '\0';
	snprintf(name, sizeof(name), "changes[%zu].oseq", i);
	if (get_integer(c, name, "oseq", none ? 0 : 1, none ? 0 : INT64_MAX,
	    &n, err) == -1)
		goto unversioned;
	v->oseq = n;
	snprintf(name, sizeof(name), "changes[%zu].hlc", i);
	if (get_integer(c, name, "hlc", none ? 0 : 1, none ? 0 : INT64_MAX,
	    &n, err) == -1)
		goto unversioned;
	v->hlc = n;
	snprintf(name, sizeof(name), "changes[%zu].room", i);
	if (get_room(c, name, "room", v->room, sizeof(v->room), none,
	    err) == -1)
		return -1;
	if (none && v->room[0] != '\0') {
		errf(err, "member \"%s\": \"%s\" although \"origin\" is"
		    " \"\" (no version)", name, v->room);
		return -1;
	}
	return 0;
unversioned:
	if (none && strstr(err, "out of range") != NULL)
		strlcpy_(err + strlen(err), " (\"origin\" is \"\": no"
		    " version)", ENUMDR_ERRLEN - strlen(err));
	return -1;
}

/* Change i of "changes" into r; prev_seq: the seq of change i - 1 (or
 * j->after). */
static int
parse_change(json_t *c, size_t i, const struct peerproto_journal *j,
    int64_t prev_seq, struct journal_row *r, char *err)
{
	static const char *const ops[] = { "add", "replace", "remove",
	    "import", "zone", NULL };
	char name[NAME_LEN], verr[ENUMDR_ERRLEN];
	json_int_t n;
	int op;

	if (!json_is_object(c)) {
		errf(err, "member \"changes[%zu]\": not an object (it is %s)",
		    i, json_util_type_name(c));
		return -1;
	}
	snprintf(name, sizeof(name), "changes[%zu].seq", i);
	if (get_integer(c, name, "seq", 1, INT64_MAX, &n, err) == -1)
		return -1;
	if (n <= prev_seq) {
		errf(err, "member \"%s\": %lld is not after %lld (%s)", name,
		    (long long)n, (long long)prev_seq, i == 0 ? "\"after\"" :
		    "the change before it");
		return -1;
	}
	if (n < j->first || n > j->last) {
		errf(err, "member \"%s\": %lld is outside the journal,"
		    " \"first\" %lld to \"last\" %lld", name, (long long)n,
		    (long long)j->first, (long long)j->last);
		return -1;
	}
	r->seq = n;
	snprintf(name, sizeof(name), "changes[%zu].txn", i);
	if (get_integer(c, name, "txn", 0, r->seq, &n, err) == -1)
		return -1;
	r->txn = n;
	snprintf(name, sizeof(name), "changes[%zu].at", i);
	if (get_time(c, name, "at", r->at, err) == -1)
		return -1;
	snprintf(name, sizeof(name), "changes[%zu].op", i);
	if (get_word(c, name, "op", ops, &op, err) == -1)
		return -1;
	strlcpy_(r->op, ops[op], sizeof(r->op));
	snprintf(name, sizeof(name), "changes[%zu].e164", i);
	if (get_string(c, name, "e164", r->e164, sizeof(r->e164), err) == -1)
		return -1;
	/* import and zone (a zone added) name no number. */
	if (strcmp(r->op, "import") == 0 || strcmp(r->op, "zone") == 0 ?
	    r->e164[0] != '\0' : store_e164_valid(r->e164, verr) == -1) {
		if (strcmp(r->op, "import") == 0 || strcmp(r->op, "zone") == 0)
			errf(err, "member \"%s\": not \"\" although \"op\" is"
			    " \"%s\"", name, r->op);
		else
			errf(err, "member \"%s\": %s", name, verr);
		return -1;
	}
	snprintf(name, sizeof(name), "changes[%zu].zone", i);
	if (get_string(c, name, "zone", r->zone, sizeof(r->zone), err) == -1)
		return -1;
	if (store_origin_valid(r->zone, NULL, verr) == -1) {
		errf(err, "member \"%s\": %s", name, verr);
		return -1;
	}
	snprintf(name, sizeof(name), "changes[%zu].serial", i);
	if (get_integer(c, name, "serial", 0, UINT32_MAX, &n, err) == -1)
		return -1;
	r->serial = (uint32_t)n;
	snprintf(name, sizeof(name), "changes[%zu].records", i);
	if (get_records(c, name, r->op, &r->records, err) == -1)
		return -1;
	if (get_version(c, i, &r->v, err) == -1)
		return -1;
	snprintf(name, sizeof(name), "changes[%zu].prev_origin", i);
	if (get_uuid(c, name, "prev_origin", r->prev_origin,
	    sizeof(r->prev_origin), 1, err) == -1)
		return -1;
	snprintf(name, sizeof(name), "changes[%zu].prev_oseq", i);
	if (r->prev_origin[0] == '\0') {
		if (get_integer(c, name, "prev_oseq", 0, 0, &n, err) == -1) {
			strlcpy_(err + strlen(err), " (\"prev_origin\" is"
			    " \"\")", ENUMDR_ERRLEN - strlen(err));
			return -1;
		}
	} else if (get_integer(c, name, "prev_oseq", 1, INT64_MAX, &n,
	    err) == -1)
		return -1;
	r->prev_oseq = n;
	snprintf(name, sizeof(name), "changes[%zu].flags", i);
	if (get_integer(c, name, "flags", 0, STORE_JF_ALL, &n, err) == -1)
		return -1;
	r->flags = (unsigned)n;
	return 0;
}

static int
parse_changes(json_t *root, struct peerproto_journal *j, char *err)
{
	json_t *arr;
	int64_t prev;
	size_t i, n;

	if (member(root, "changes", "changes", &arr, err) == -1)
		return -1;
	if (!json_is_array(arr)) {
		errf(err, "member \"changes\": not an array (it is %s)",
		    json_util_type_name(arr));
		return -1;
	}
	if ((n = json_array_size(arr)) > PEERPROTO_CHANGES_MAX) {
		errf(err, "member \"changes\": %zu changes, more than %d", n,
		    PEERPROTO_CHANGES_MAX);
		return -1;
	}
	if (n > 0 && (j->rows = calloc(n, sizeof(*j->rows))) == NULL) {
		errf(err, "member \"changes\": out of memory for %zu changes",
		    n);
		return -1;
	}
	prev = j->after;
	for (i = 0; i < n; i++) {
		/* nrows counts the rows whose records may need freeing */
		j->nrows = i + 1;
		if (parse_change(json_array_get(arr, i), i, j, prev,
		    &j->rows[i], err) == -1)
			return -1;
		prev = j->rows[i].seq;
	}
	return 0;
}

/* Every member of the root object, in the order the agent sends them. */
static int
parse_journal_members(json_t *root, struct peerproto_journal *j, char *err)
{
	json_int_t i;

	if (parse_version(root, &j->version, err) == -1)
		return -1;
	if (get_room(root, "room", "room", j->room, sizeof(j->room), 0,
	    err) == -1)
		return -1;
	if (get_uuid(root, "database", "database", j->database,
	    sizeof(j->database), 0, err) == -1)
		return -1;
	if (get_integer(root, "after", "after", 0, INT64_MAX, &i, err) == -1)
		return -1;
	j->after = i;
	if (get_integer(root, "last", "last", 0, INT64_MAX - 1, &i,
	    err) == -1)
		return -1;
	j->last = i;
	if (get_integer(root, "first", "first", 1, j->last + 1, &i,
	    err) == -1) {
		strlcpy_(err + strlen(err), " (\"last\" + 1 at most)",
		    ENUMDR_ERRLEN - strlen(err));
		return -1;
	}
	j->first = i;
	if (get_time(root, "time", "time", j->time, err) == -1)
		return -1;
	return parse_changes(root, j, err);
}

int
peerproto_journal_parse(const char *body, size_t len,
    struct peerproto_journal *j, char *err)
{
	json_t *root;
	int ret;

	memset(j, 0, sizeof(*j));
	if (load_object(body, len, PEERPROTO_JOURNAL_BODY_MAX, &root,
	    err) == -1)
		return -1;
	if ((ret = parse_journal_members(root, j, err)) == -1)
		peerproto_journal_free(j);
	json_decref(root);
	return ret;
}

void
peerproto_journal_free(struct peerproto_journal *j)
{
	store_journal_free(j->rows, j->nrows);
	j->rows = NULL;
	j->nrows = 0;
}

int
peerproto_journal_gap(const struct peerproto_journal *j)
{
	return j->after < j->first - 1;
}

/* One change as the journal message's object. */
static json_t *
change_json(const struct journal_row *r)
{
	return json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:I,s:s,"
	    "s:s,s:I,s:I}",
	    "seq", (json_int_t)r->seq,
	    "txn", (json_int_t)r->txn,
	    "at", r->at,
	    "op", r->op,
	    "e164", r->e164,
	    "zone", r->zone,
	    "serial", (json_int_t)r->serial,
	    "records", r->records != NULL ? r->records : "",
	    "origin", r->v.origin,
	    "oseq", (json_int_t)r->v.oseq,
	    "hlc", (json_int_t)r->v.hlc,
	    "room", r->v.room,
	    "prev_origin", r->prev_origin,
	    "prev_oseq", (json_int_t)r->prev_oseq,
	    "flags", (json_int_t)r->flags);
}

json_t *
peerproto_journal_json(const struct peerproto_journal *j, char *err)
{
	json_t *o = NULL, *changes;
	size_t i;

	changes = json_array();
	for (i = 0; changes != NULL && i < j->nrows; i++) {
		if (json_array_append_new(changes, change_json(&j->rows[i])) ==
		    -1) {
			json_decref(changes);
			changes = NULL;
		}
	}
	/* "o" steals changes, also when the pack fails. */
	if (changes != NULL)
		o = json_pack("{s:i,s:s,s:s,s:I,s:I,s:I,s:s,s:o}",
		    "v", PEERPROTO_VERSION,
		    "room", j->room,
		    "database", j->database,
		    "after", (json_int_t)j->after,
		    "first", (json_int_t)j->first,
		    "last", (json_int_t)j->last,
		    "time", j->time,
		    "changes", changes);
	if (o == NULL)
		errf(err, "journal: out of memory building the JSON");
	return o;
}

struct peerproto_client *
peerproto_client_new(void)
{
	struct peerproto_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->curl = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
peerproto_client_abort_on(struct peerproto_client *c, const atomic_int *flag)
{
	c->abort_flag = flag;
}

void
peerproto_client_free(struct peerproto_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

int
peerproto_journal_get(struct peerproto_client *c, const char *journal_url,
    const char *room, int64_t after, int limit, int wait_ms, int connect_ms,
    struct peerproto_journal *out, char *err)
{
	char url[CONFIG_URL_MAX + 160], shown[CONFIG_URL_MAX];
	char perr[ENUMDR_ERRLEN];
	char *body;
	size_t len;
	long code, total_ms;
	int ret;

	memset(out, 0, sizeof(out[0]));
	transfer_url_show(journal_url, shown, sizeof(shown));
	if (after < 0 || limit < 1 || limit > PEERPROTO_CHANGES_MAX ||
	    wait_ms < 0 || wait_ms > PEERPROTO_WAIT_MAX || (room != NULL &&
	    room[0] != '\0' && !token_valid(room, CONFIG_NAME_MAX, 0))) {
		errf(err, "journal from %s: bad request (after %lld, limit %d,"
		    " wait_ms %d, room \"%.64s\")", shown, (long long)after,
		    limit, wait_ms, room != NULL ? room : "");
		return PEERPROTO_EPROTO;
	}
	/* room is [A-Za-z0-9_-]: nothing to escape */
	if (snprintf(url, sizeof(url), "%s%safter=%lld&limit=%d&wait_ms=%d%s%s",
	    journal_url, strchr(journal_url, '?') != NULL ? "&" : "?",
	    (long long)after, limit, wait_ms, room != NULL && room[0] != '\0' ?
	    "&room=" : "", room != NULL ? room : "") >= (int)sizeof(url)) {
		errf(err, "journal from %s: URL too long", shown);
		return PEERPROTO_EPROTO;
	}
	if (connect_ms < 1)
		connect_ms = 1;
	total_ms = (long)wait_ms + 2L * connect_ms + PEERPROTO_WAIT_MARGIN_MS;
	ret = fetch(c->curl, c->abort_flag, 0, url, connect_ms, total_ms,
	    PEERPROTO_JOURNAL_BODY_MAX, "journal", &body, &len, &code, err);
	if (ret != PEERPROTO_OK)
		return ret;
	ret = PEERPROTO_EPROTO;
	if (peerproto_journal_parse(body, len, out, perr) == -1)
		errf(err, "journal from %s: %s", shown, perr);
	else if (out->after != after) {
		errf(err, "journal from %s: member \"after\": %lld, but the"
		    " request asked after %lld", shown, (long long)out->after,
		    (long long)after);
		peerproto_journal_free(out);
	} else
		ret = PEERPROTO_OK;
	free(body);
	return ret;
}

/* ---- the switchover negotiation (issue 15, doc/switchover.md) --------- */

static const char *const sw_requests[] = {
	[PEERPROTO_SW_REQUEST] = "request-switch",
	[PEERPROTO_SW_GOING] = "going-to-switch",
	[PEERPROTO_SW_ABORT] = "abort",
};
static const char *const sw_answers[] = {
	[PEERPROTO_SW_AGREE] = "agree-switch",
	[PEERPROTO_SW_SWITCHING] = "switching",
	[PEERPROTO_SW_ABORTED] = "aborted",
	[PEERPROTO_SW_REFUSED] = "refused",
};

const char *
peerproto_sw_request_name(enum peerproto_sw_request r)
{
	return (size_t)r < sizeof(sw_requests) / sizeof(sw_requests[0]) ?
	    sw_requests[r] : "unknown";
}

int
peerproto_sw_request_from_name(const char *name, enum peerproto_sw_request *r)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(sw_requests) /
	    sizeof(sw_requests[0]); i++)
		if (strcmp(name, sw_requests[i]) == 0) {
			*r = (enum peerproto_sw_request)i;
			return 0;
		}
	return -1;
}

const char *
peerproto_sw_answer_name(enum peerproto_sw_answer a)
{
	return (size_t)a < sizeof(sw_answers) / sizeof(sw_answers[0]) ?
	    sw_answers[a] : "unknown";
}

/* Every member of root is one of known (NULL-terminated); else -1 with
 * err naming the first other one ("what": the message). */
static int
only_members(json_t *root, const char *const *known, const char *what,
    char *err)
{
	const char *key;
	json_t *v;
	size_t k;

	json_object_foreach(root, key, v) {
		for (k = 0; known[k] != NULL && strcmp(known[k], key) != 0; k++)
			;
		if (known[k] == NULL) {
			errf(err, "member \"%.64s\": not a member of a %s", key,
			    what);
			return -1;
		}
	}
	return 0;
}

int
peerproto_switchover_parse(const char *body, size_t len,
    struct peerproto_switchover *sw, char *err)
{
	static const char *const known[] = { "v", "room", "state", "position",
	    "error", NULL };
	char state[24];
	json_t *root, *v;
	json_int_t i;
	size_t k;
	int ret = -1;

	memset(sw, 0, sizeof(*sw));
	if (load_object(body, len, PEERPROTO_BODY_MAX, &root, err) == -1)
		return -1;
	if (only_members(root, known, "switchover answer", err) == -1)
		goto done;
	if (parse_version(root, &sw->version, err) == -1 ||
	    get_room(root, "room", "room", sw->room, sizeof(sw->room), 0,
	    err) == -1 || get_string(root, "state", "state", state,
	    sizeof(state), err) == -1)
		goto done;
	for (k = 0; k < sizeof(sw_answers) / sizeof(sw_answers[0]); k++)
		if (strcmp(state, sw_answers[k]) == 0)
			break;
	if (k == sizeof(sw_answers) / sizeof(sw_answers[0])) {
		errf(err, "member \"state\": \"%s\" is not a switchover answer"
		    " (agree-switch, switching, aborted, refused)", state);
		goto done;
	}
	sw->answer = (enum peerproto_sw_answer)k;
	if (get_integer(root, "position", "position", 0, INT64_MAX, &i,
	    err) == -1)
		goto done;
	sw->position = i;
	if ((v = json_object_get(root, "error")) == NULL) {
		errf(err, "member \"error\" missing");
		goto done;
	}
	if (!json_is_null(v) && take_string(v, "error", sw->error,
	    sizeof(sw->error), err) == -1)
		goto done;
	if (sw->answer == PEERPROTO_SW_REFUSED && sw->error[0] == '\0') {
		errf(err, "member \"error\": a refusal names its reason");
		goto done;
	}
	ret = 0;
done:
	json_decref(root);
	return ret;
}

json_t *
peerproto_switchover_json(const struct peerproto_switchover *sw)
{
	return json_pack("{s:i,s:s,s:s,s:I,s:o}", "v", PEERPROTO_VERSION,
	    "room", sw->room, "state", peerproto_sw_answer_name(sw->answer),
	    "position", (json_int_t)sw->position, "error", sw->error[0] ?
	    json_string(sw->error) : json_null());
}

int
peerproto_switchover_post(const char *switchover_url, const char *from,
    enum peerproto_sw_request req, int64_t position, int wait_ms,
    int connect_ms, struct peerproto_switchover *out, char *err)
{
	char url[CONFIG_URL_MAX + 160], shown[CONFIG_URL_MAX];
	char perr[ENUMDR_ERRLEN];
	char *body;
	size_t len;
	long code, total_ms;
	int ret;

	memset(out, 0, sizeof(*out));
	transfer_url_show(switchover_url, shown, sizeof(shown));
	if (!token_valid(from, CONFIG_NAME_MAX, 0) || position < 0 ||
	    wait_ms < 0 || wait_ms > PEERPROTO_WAIT_MAX ||
	    (size_t)req >= sizeof(sw_requests) / sizeof(sw_requests[0])) {
		errf(err, "switchover at %s: bad request (from \"%.64s\","
		    " position %lld, wait_ms %d)", shown, from,
		    (long long)position, wait_ms);
		return PEERPROTO_EPROTO;
	}
	/* from is [A-Za-z0-9_-], state a fixed token: nothing to escape */
	if (snprintf(url, sizeof(url), "%s%sfrom=%s&state=%s&position=%lld"
	    "&wait_ms=%d", switchover_url, strchr(switchover_url, '?') != NULL ?
	    "&" : "?", from, sw_requests[req], (long long)position, wait_ms) >=
	    (int)sizeof(url)) {
		errf(err, "switchover at %s: URL too long", shown);
		return PEERPROTO_EPROTO;
	}
	if (connect_ms < 1)
		connect_ms = 1;
	total_ms = (long)wait_ms + 2L * connect_ms + PEERPROTO_WAIT_MARGIN_MS;
	ret = fetch(NULL, NULL, 1, url, connect_ms, total_ms,
	    PEERPROTO_BODY_MAX, "switchover answer", &body, &len, &code, err);
	if (ret != PEERPROTO_OK)
		return ret;
	ret = PEERPROTO_OK;
	if (peerproto_switchover_parse(body, len, out, perr) == -1) {
		errf(err, "switchover answer from %s: %s", shown, perr);
		ret = PEERPROTO_EPROTO;
	}
	free(body);
	return ret;
}

/* ---- the witness (issue 15, doc/witness.md) ---------------------------- */

int
peerproto_room_valid(const char *s)
{
	return token_valid(s, CONFIG_NAME_MAX, 0);
}

int
peerproto_witness_parse(const char *body, size_t len,
    struct peerproto_witness *w, char *err)
{
	static const char *const known[] = { "v", "witness", "time", NULL };
	json_t *root;
	int ret = -1;

	memset(w, 0, sizeof(*w));
	if (load_object(body, len, PEERPROTO_BODY_MAX, &root, err) == -1)
		return -1;
	if (only_members(root, known, "witness answer", err) == -1)
		goto done;
	if (parse_version(root, &w->version, err) == -1 ||
	    get_room(root, "witness", "witness", w->witness,
	    sizeof(w->witness), 0, err) == -1 ||
	    get_time(root, "time", "time", w->time, err) == -1)
		goto done;
	ret = 0;
done:
	json_decref(root);
	return ret;
}

json_t *
peerproto_witness_json(const char *witness)
{
	char now[PEERPROTO_TIME_MAX];

	util_utc_iso8601(now, sizeof(now));
	return json_pack("{s:i,s:s,s:s}", "v", PEERPROTO_VERSION, "witness",
	    witness, "time", now);
}

int
peerproto_witness_get(const char *witness_url, const char *room,
    int connect_ms, struct peerproto_witness *out, char *err)
{
	char url[CONFIG_URL_MAX + 80], shown[CONFIG_URL_MAX];
	char perr[ENUMDR_ERRLEN];
	char *body;
	size_t len;
	long code;
	int ret;

	memset(out, 0, sizeof(*out));
	transfer_url_show(witness_url, shown, sizeof(shown));
	if (!token_valid(room, CONFIG_NAME_MAX, 0) ||
	    snprintf(url, sizeof(url), "%s%sroom=%s", witness_url,
	    strchr(witness_url, '?') != NULL ? "&" : "?", room) >=
	    (int)sizeof(url)) {
		errf(err, "witness %s: bad request (room \"%.64s\")", shown,
		    room);
		return PEERPROTO_EPROTO;
	}
	if (connect_ms < 1)
		connect_ms = 1;
	ret = fetch(NULL, NULL, 0, url, connect_ms, 2L * connect_ms,
	    PEERPROTO_BODY_MAX, "witness", &body, &len, &code, err);
	if (ret != PEERPROTO_OK)
		return ret;
	if (peerproto_witness_parse(body, len, out, perr) == -1) {
		errf(err, "witness answer from %s: %s", shown, perr);
		ret = PEERPROTO_EPROTO;
	}
	free(body);
	return ret;
}
