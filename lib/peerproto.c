/*
 * peerproto.c — the peer protocol between rooms (issue 13): the heartbeat
 * (S0.3, S0.4 liveness; S0.7 journal position) as a struct, its emitter,
 * its strict parser and its bounded client.  See peerproto.h and
 * doc/peer-protocol.md.
 *
 * A heartbeat comes from another process, maybe from another machine: it
 * is size-checked before it is parsed (PEERPROTO_BODY_MAX, and at most
 * PEERPROTO_ZONES_MAX zones), jansson bounds the nesting depth, duplicate
 * keys are refused, and every member is checked for type and value before
 * it is copied into the struct.  Nothing is defaulted.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "json_util.h"
#include "peerproto.h"
#include "transfer.h"

#define NAME_LEN 64     /* a member's name in a message: "zones[9999].origin" */

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
 * heartbeat of another version is named as such, not by a member. */
static int
parse_version(json_t *root, struct peerproto_heartbeat *hb, char *err)
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
	hb->version = PEERPROTO_VERSION;
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

/* Every member of the root object, in the order the agent sends them. */
static int
parse_members(json_t *root, struct peerproto_heartbeat *hb, char *err)
{
	static const char *const listener_words[] = { "open", "closed", NULL };
	json_int_t i;
	int w;

	if (parse_version(root, hb, err) == -1)
		return -1;
	if (get_string(root, "room", "room", hb->room, sizeof(hb->room),
	    err) == -1)
		return -1;
	if (!token_valid(hb->room, sizeof(hb->room), 0)) {
		errf(err, "member \"room\": \"%s\" is not a room name"
		    " ([A-Za-z0-9_-]{1,63})", hb->room);
		return -1;
	}
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
	return get_time(root, "time", "time", hb->time, err);
}

int
peerproto_heartbeat_parse(const char *body, size_t len,
    struct peerproto_heartbeat *hb, char *err)
{
	json_error_t jerr;
	json_t *root = NULL;
	int ret = -1;

	memset(hb, 0, sizeof(*hb));
	if (body == NULL || len == 0) {
		errf(err, "empty body");
		return -1;
	}
	if (len > PEERPROTO_BODY_MAX) {
		errf(err, "body of %zu bytes, more than %d", len,
		    PEERPROTO_BODY_MAX);
		return -1;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		errf(err, "not JSON: %s at line %d column %d", jerr.text,
		    jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		errf(err, "not a JSON object (it is %s)", json_util_type_name(root));
		goto done;
	}
	ret = parse_members(root, hb, err);
done:
	if (ret == -1)
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

int
peerproto_heartbeat_get(const char *url, long connect_ms, long total_ms,
    struct peerproto_heartbeat *hb, long *status, char *err)
{
	struct transfer_opts o;
	char shown[CONFIG_URL_MAX], perr[ENUMDR_ERRLEN], why[256];
	char *body = NULL;
	size_t len = 0;
	long code = 0;
	int ret = PEERPROTO_EPROTO;

	memset(hb, 0, sizeof(*hb));
	memset(&o, 0, sizeof(o));
	if (total_ms < 1)
		total_ms = 1;
	o.total_timeout_ms = total_ms;
	o.connect_timeout_ms = connect_ms > 0 && connect_ms < total_ms ?
	    connect_ms : total_ms;
	if (status != NULL)
		*status = 0;
	transfer_url_show(url, shown, sizeof(shown));
	if (transfer_http_get(url, &o, PEERPROTO_BODY_MAX, &body, &len,
	    &code, err) == -1) {
		if (status != NULL)
			*status = code;
		if (code == 0)
			return PEERPROTO_EUNREACHABLE;	/* err: "GET URL: ..." */
		/* It answered, with too much (transfer_http_get's cap). */
		errf(err, "heartbeat from %s: HTTP status %ld, body over %d"
		    " bytes", shown, code, PEERPROTO_BODY_MAX);
		return PEERPROTO_EPROTO;
	}
	if (status != NULL)
		*status = code;
	if (code != 200) {
		answer_error(body, len, why, sizeof(why));
		errf(err, "heartbeat from %s: HTTP status %ld%s", shown, code,
		    why);
		goto done;
	}
	if (peerproto_heartbeat_parse(body, len, hb, perr) == -1) {
		errf(err, "heartbeat from %s: %s", shown, perr);
		goto done;
	}
	ret = PEERPROTO_OK;
done:
	free(body);
	return ret;
}
