/*
 * test_peerproto.c — the peer protocol's heartbeat (lib/peerproto.c;
 * S0.3, S0.4, S0.7): the strict parser fed malformed, truncated and
 * oversized bodies, wrong types, each required member missing in turn and
 * bad values — every error naming the member — and emitter -> parser
 * round trips.  Every parser case counts one "parser test" (printed at
 * the end as a diagnostic).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "peerproto.h"
#include "tap.h"

static int parser_tests;

static const char good_text[] =
    "{\"v\":1,\"room\":\"B\",\"role\":\"BACKUP\",\"listener\":\"closed\","
    "\"journal\":42,\"zones\":[{\"origin\":\"6.4.e164.arpa\",\"serial\":7},"
    "{\"origin\":\"7.4.e164.arpa\",\"serial\":4294967295}],"
    "\"snapshot\":{\"created\":\"2026-11-29T15:34:26Z\",\"journal\":40,"
    "\"size\":8192,\"sha256\":\"0123456789abcdef0123456789abcdef"
    "0123456789abcdef0123456789abcdef\"},\"alarms\":2,\"storage\":\"ok\","
    "\"storage_error\":null,\"time\":\"2026-11-29T15:34:27Z\"}";

static json_t *
good(void)
{
	json_t *j = json_loads(good_text, 0, NULL);

	if (j == NULL) {
		printf("Bail out! the good heartbeat does not load\n");
		exit(1);
	}
	return j;
}

/* Parse text; 0 or -1, err filled. */
static int
parse_text(const char *text, size_t len, char *err)
{
	struct peerproto_heartbeat hb;
	int rc;

	err[0] = '\0';
	parser_tests++;
	rc = peerproto_heartbeat_parse(text, len, &hb, err);
	peerproto_heartbeat_free(&hb);
	return rc;
}

/* j (consumed) must be refused with an error containing needle. */
static void
refused(json_t *j, const char *needle, const char *what)
{
	char err[ENUMDR_ERRLEN], *text;

	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL) {
		ok(0, what);
		return;
	}
	if (ok(parse_text(text, strlen(text), err) == -1, what))
		like(err, needle, "... naming it");
	else
		ok(0, "... naming it");
	free(text);
}

/* The object at where ("" root, "zone" zones[0], "snapshot") of j. */
static json_t *
at(json_t *j, const char *where)
{
	if (strcmp(where, "zone") == 0)
		return json_array_get(json_object_get(j, "zones"), 0);
	if (strcmp(where, "snapshot") == 0)
		return json_object_get(j, "snapshot");
	return j;
}

/* A good heartbeat with member key of where set to the JSON value (NULL:
 * removed) must be refused naming needle. */
static void
mutated(const char *where, const char *key, const char *value,
    const char *needle)
{
	char what[256];
	json_t *j = good(), *v;

	if (value == NULL) {
		json_object_del(at(j, where), key);
		snprintf(what, sizeof(what), "%s%s%s missing: refused", where,
		    *where ? "." : "", key);
	} else {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		if (v == NULL) {
			printf("Bail out! test value %s is not JSON\n", value);
			exit(1);
		}
		json_object_set_new(at(j, where), key, v);
		snprintf(what, sizeof(what), "%s%s%s = %.60s: refused", where,
		    *where ? "." : "", key, value);
	}
	refused(j, needle, what);
}

static void
test_good(void)
{
	struct peerproto_heartbeat hb;
	char err[ENUMDR_ERRLEN];
	json_t *j;
	char *text;

	parser_tests++;
	ok(peerproto_heartbeat_parse(good_text, strlen(good_text), &hb,
	    err) == 0, "a full heartbeat parses");
	is_int(hb.version, 1, "... v");
	is_str(hb.room, "B", "... room");
	is_str(hb.role, "BACKUP", "... role");
	is_int(hb.listener_open, 0, "... listener closed");
	is_int(hb.journal, 42, "... journal");
	is_int(hb.nzones, 2, "... two zones");
	is_str(hb.nzones > 1 ? hb.zones[1].origin : "", "7.4.e164.arpa",
	    "... second origin");
	is_int(hb.nzones > 1 ? hb.zones[1].serial : 0, 4294967295LL,
	    "... serial 2^32-1");
	is_int(hb.have_snapshot, 1, "... a snapshot");
	is_int(hb.snapshot.journal, 40, "... its journal");
	is_int(hb.snapshot.size, 8192, "... its size");
	is_int(hb.alarms, 2, "... alarms");
	is_int(hb.storage, PEERPROTO_STORAGE_OK, "... storage ok");
	is_str(hb.time, "2026-11-29T15:34:27Z", "... time");
	peerproto_heartbeat_free(&hb);

	/* Members the protocol does not list are ignored (a later v1). */
	j = good();
	json_object_set_new(j, "colour", json_string("red"));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	is_int(parse_text(text, strlen(text), err), 0,
	    "an unknown member is ignored");
	free(text);

	j = good();
	json_object_set_new(j, "snapshot", json_null());
	json_object_set_new(j, "zones", json_array());
	json_object_set_new(j, "storage", json_string("full"));
	json_object_set_new(j, "storage_error", json_string("disk full"));
	json_object_set_new(j, "listener", json_string("open"));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	parser_tests++;
	ok(peerproto_heartbeat_parse(text, strlen(text), &hb, err) == 0,
	    "no snapshot, no zones, storage full: parses");
	is_int(hb.have_snapshot, 0, "... no snapshot");
	is_int(hb.listener_open, 1, "... listener open");
	is_int(hb.storage, PEERPROTO_STORAGE_FULL, "... storage full");
	is_str(hb.storage_error, "disk full", "... storage_error");
	peerproto_heartbeat_free(&hb);
	free(text);
}

static void
test_missing(void)
{
	static const char *const root[] = { "v", "room", "role", "listener",
	    "journal", "zones", "snapshot", "alarms", "storage",
	    "storage_error", "time", NULL };
	static const char *const snap[] = { "created", "journal", "size",
	    "sha256", NULL };
	char needle[64];
	size_t i;

	for (i = 0; root[i] != NULL; i++) {
		snprintf(needle, sizeof(needle), "member \"%s\" missing",
		    root[i]);
		mutated("", root[i], NULL, needle);
	}
	for (i = 0; snap[i] != NULL; i++) {
		snprintf(needle, sizeof(needle), "member \"snapshot.%s\""
		    " missing", snap[i]);
		mutated("snapshot", snap[i], NULL, needle);
	}
	mutated("zone", "origin", NULL, "member \"zones[0].origin\" missing");
	mutated("zone", "serial", NULL, "member \"zones[0].serial\" missing");
}

static void
test_types(void)
{
	mutated("", "v", "\"1\"", "member \"v\": not an integer");
	mutated("", "room", "5", "member \"room\": not a string");
	mutated("", "role", "null", "member \"role\": not a string");
	mutated("", "listener", "true", "member \"listener\": not a string");
	mutated("", "journal", "\"42\"", "member \"journal\": not an integer");
	mutated("", "journal", "42.0", "member \"journal\": not an integer");
	mutated("", "zones", "{}", "member \"zones\": not an array");
	mutated("", "zones", "[5]", "member \"zones[0]\": not an object");
	mutated("", "snapshot", "\"x\"", "member \"snapshot\": neither");
	mutated("", "snapshot", "[]", "member \"snapshot\": neither");
	mutated("", "alarms", "\"0\"", "member \"alarms\": not an integer");
	mutated("", "storage", "1", "member \"storage\": not a string");
	mutated("", "storage_error", "\"x\"", "member \"storage_error\": not"
	    " null");
	mutated("", "time", "0", "member \"time\": not a string");
	mutated("zone", "origin", "64", "member \"zones[0].origin\": not a"
	    " string");
	mutated("zone", "serial", "\"7\"", "member \"zones[0].serial\": not"
	    " an integer");
	mutated("snapshot", "created", "1", "member \"snapshot.created\": not"
	    " a string");
	mutated("snapshot", "journal", "null", "member \"snapshot.journal\":"
	    " not an integer");
	mutated("snapshot", "size", "\"1\"", "member \"snapshot.size\": not an"
	    " integer");
	mutated("snapshot", "sha256", "5", "member \"snapshot.sha256\": not a"
	    " string");
}

static void
test_values(void)
{
	mutated("", "v", "2", "protocol version 2 (member \"v\")");
	mutated("", "v", "0", "protocol version 0 (member \"v\")");
	mutated("", "room", "\"A B\"", "member \"room\": \"A B\" is not a"
	    " room name");
	mutated("", "room", "\"\"", "member \"room\"");
	mutated("", "room", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", "member \"room\": longer");
	mutated("", "role", "\"MASTER X\"", "member \"role\": \"MASTER X\" is"
	    " not a role");
	mutated("", "role", "\"master\"", "member \"role\"");
	mutated("", "role", "\"\"", "member \"role\"");
	mutated("", "role", "\"MASTER-LOADING-X\"", "member \"role\": longer");
	mutated("", "role", "\"MASTER\\u0001\"", "member \"role\": byte 6");
	mutated("", "listener", "\"maybe\"", "member \"listener\": \"maybe\""
	    " is not \"open\" or \"closed\"");
	mutated("", "listener", "\"OPEN\"", "member \"listener\"");
	mutated("", "listener", "\"open-and-closed\"", "member \"listener\"");
	mutated("", "journal", "-1", "member \"journal\": -1 is out of range");
	{
		/* Beyond any integer jansson holds: refused by the parser. */
		char text[sizeof(good_text) + 32], err[ENUMDR_ERRLEN];
		const char *p = strstr(good_text, "42,");

		snprintf(text, sizeof(text), "%.*s99999999999999999999%s",
		    (int)(p - good_text), good_text, p + 2);
		is_int(parse_text(text, strlen(text), err), -1, "journal ="
		    " 99999999999999999999: refused");
		like(err, "too big", "... too big an integer");
	}
	mutated("", "alarms", "-1", "member \"alarms\": -1 is out of range");
	mutated("", "alarms", "4294967296", "member \"alarms\": 4294967296 is"
	    " out of range");
	mutated("", "storage", "\"broken\"", "member \"storage\": \"broken\""
	    " is not");
	mutated("", "storage", "\"full\"", "member \"storage_error\": not a"
	    " string (it is null)");
	mutated("", "time", "\"yesterday\"", "member \"time\": \"yesterday\""
	    " is not UTC");
	mutated("", "time", "\"2026-11-29 15:34:27Z\"", "member \"time\"");
	mutated("zone", "serial", "4294967296", "member \"zones[0].serial\":"
	    " 4294967296 is out of range 0..4294967295");
	mutated("zone", "serial", "-1", "member \"zones[0].serial\": -1 is out"
	    " of range");
	mutated("zone", "origin", "\"example.com\"", "member"
	    " \"zones[0].origin\": invalid zone");
	mutated("zone", "origin", "\"6.4.e164.arpa.example\"", "member"
	    " \"zones[0].origin\": invalid zone");
	mutated("zone", "origin", "\"64.e164.arpa\"", "member"
	    " \"zones[0].origin\": invalid zone");
	mutated("snapshot", "created", "\"now\"", "member \"snapshot.created\"");
	mutated("snapshot", "journal", "-5", "member \"snapshot.journal\": -5"
	    " is out of range");
	mutated("snapshot", "size", "-1", "member \"snapshot.size\": -1 is out"
	    " of range");
	mutated("snapshot", "sha256", "\"0123\"", "member \"snapshot.sha256\":"
	    " not 64 lower-case hex");
	mutated("snapshot", "sha256", "\"0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\"", "member \"snapshot.sha256\"");

	/* storage full with an empty storage_error */
	{
		json_t *j = good();

		json_object_set_new(j, "storage", json_string("error"));
		json_object_set_new(j, "storage_error", json_string(""));
		refused(j, "member \"storage_error\": empty", "storage error"
		    " with an empty storage_error: refused");
	}
	/* the second zone bad: the index is named */
	{
		json_t *j = good();

		json_object_set_new(json_array_get(json_object_get(j, "zones"),
		    1), "origin", json_string("4.e164.org"));
		refused(j, "member \"zones[1].origin\"", "a bad second zone:"
		    " refused");
	}
}

static void
test_bodies(void)
{
	char err[ENUMDR_ERRLEN], *big, *deep;
	size_t len = strlen(good_text), i, bad = 0, n;
	json_t *j, *zones;
	char *text;

	is_int(parse_text("", 0, err), -1, "an empty body: refused");
	like(err, "empty body", "... says so");
	is_int(parse_text(NULL, 0, err), -1, "no body: refused");
	is_int(parse_text("{", 1, err), -1, "\"{\": refused");
	like(err, "not JSON", "... not JSON");
	is_int(parse_text("not json", 8, err), -1, "text: refused");
	like(err, "not JSON", "... not JSON");
	is_int(parse_text("[]", 2, err), -1, "an array: refused");
	like(err, "not a JSON object (it is an array)", "... naming its type");
	is_int(parse_text("\"x\"", 3, err), -1, "a string: refused");
	is_int(parse_text("null", 4, err), -1, "null: refused");
	is_int(parse_text("{}", 2, err), -1, "an empty object: refused");
	like(err, "member \"v\" missing", "... the version first");
	like(err, "speaks version 1", "... saying which version this is");

	/* Every truncation of a good body is refused, and says why. */
	for (i = 1; i < len; i++) {
		if (parse_text(good_text, i, err) != -1 || err[0] == '\0')
			bad++;
	}
	is_int(bad, 0, "every one of the truncated bodies is refused");
	is_int(parse_text(good_text, len / 2, err), -1, "half a body: refused");
	like(err, "not JSON", "... not JSON");

	/* A NUL inside: json_loadb sees the whole length. */
	{
		char withnul[sizeof(good_text)];

		memcpy(withnul, good_text, sizeof(good_text));
		withnul[20] = '\0';
		is_int(parse_text(withnul, len, err), -1, "a NUL byte inside:"
		    " refused");
	}
	/* The same key twice. */
	is_int(parse_text("{\"v\":1,\"v\":1}", 13, err), -1,
	    "a duplicate key: refused");
	like(err, "duplicate", "... says so");

	/* Oversized: exactly the limit parses, one byte more does not. */
	big = malloc(PEERPROTO_BODY_MAX + 2);
	if (big == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	memset(big, ' ', PEERPROTO_BODY_MAX + 1);
	memcpy(big, good_text, len);
	is_int(parse_text(big, PEERPROTO_BODY_MAX, err), 0, "a body of exactly"
	    " the limit (padded): parses");
	is_int(parse_text(big, PEERPROTO_BODY_MAX + 1, err), -1, "one byte"
	    " over the limit: refused");
	like(err, "more than 1048576", "... naming the limit");
	free(big);

	/* Deep nesting in an ignored member: jansson's depth limit. */
	n = 100000;
	deep = malloc(2 * n + len + 16);
	if (deep == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	strcpy(deep, "{\"x\":");
	memset(deep + 5, '[', n);
	memset(deep + 5 + n, ']', n);
	strcpy(deep + 5 + 2 * n, ",");
	strcat(deep, good_text + 1);
	is_int(parse_text(deep, strlen(deep), err), -1, "100000 nested arrays:"
	    " refused");
	like(err, "not JSON", "... by the parser's depth limit");
	free(deep);

	/* More zones than PEERPROTO_ZONES_MAX. */
	j = good();
	zones = json_array();
	for (i = 0; i <= PEERPROTO_ZONES_MAX; i++)
		json_array_append_new(zones, json_pack("{s:s,s:i}", "origin",
		    "6.4.e164.arpa", "serial", 1));
	json_object_set_new(j, "zones", zones);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	is_int(parse_text(text, strlen(text), err), -1, "10001 zones:"
	    " refused");
	like(err, "member \"zones\": 10001 zones", "... naming the member");
	free(text);
}

/* Emitter -> parser: what the agent sends is what the parser reads. */
static void
round_trip(const struct peerproto_heartbeat *in, const char *what)
{
	struct peerproto_heartbeat out;
	char err[ENUMDR_ERRLEN], *text = NULL;
	json_t *j;
	int same;
	size_t i;

	j = peerproto_heartbeat_json(in, err);
	ok(j != NULL, what);
	if (j != NULL)
		text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	parser_tests++;
	if (!ok(text != NULL && peerproto_heartbeat_parse(text, strlen(text),
	    &out, err) == 0, "... parses back")) {
		diag("%s", err);
		free(text);
		return;
	}
	free(text);
	same = out.version == PEERPROTO_VERSION &&
	    strcmp(out.room, in->room) == 0 &&
	    strcmp(out.role, in->role) == 0 &&
	    out.listener_open == in->listener_open &&
	    out.journal == in->journal && out.nzones == in->nzones &&
	    out.have_snapshot == in->have_snapshot && out.alarms == in->alarms &&
	    out.storage == in->storage &&
	    strcmp(out.storage_error, in->storage_error) == 0 &&
	    strcmp(out.time, in->time) == 0;
	for (i = 0; same && i < in->nzones; i++)
		same = strcmp(out.zones[i].origin, in->zones[i].origin) == 0 &&
		    out.zones[i].serial == in->zones[i].serial;
	if (same && in->have_snapshot)
		same = strcmp(out.snapshot.created, in->snapshot.created) == 0 &&
		    out.snapshot.journal == in->snapshot.journal &&
		    out.snapshot.size == in->snapshot.size &&
		    strcmp(out.snapshot.sha256, in->snapshot.sha256) == 0;
	ok(same, "... every field the same");
	peerproto_heartbeat_free(&out);
}

static void
test_round_trip(void)
{
	struct peerproto_zone zones[3] = {
		{ "6.4.e164.arpa", 0 },
		{ "7.4.e164.arpa", 4294967295U },
		{ "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.e164.arpa", 2026113001 },
	};
	struct peerproto_heartbeat hb;
	char err[ENUMDR_ERRLEN];
	json_t *j;

	memset(&hb, 0, sizeof(hb));
	strcpy(hb.room, "A");
	strcpy(hb.role, "UNKNOWN");
	strcpy(hb.time, "2026-12-02T04:20:31Z");
	round_trip(&hb, "round trip: a fresh agent (no zones, no snapshot)");

	strcpy(hb.room, "room_B-2");
	strcpy(hb.role, "MASTER-LOADING");
	hb.listener_open = 1;
	hb.journal = INT64_MAX;
	hb.zones = zones;
	hb.nzones = 3;
	hb.have_snapshot = 1;
	strcpy(hb.snapshot.created, "2026-12-02T04:00:00Z");
	hb.snapshot.journal = 12345;
	hb.snapshot.size = 1ULL << 40;
	strcpy(hb.snapshot.sha256, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	hb.alarms = 3;
	hb.storage = PEERPROTO_STORAGE_ERROR;
	strcpy(hb.storage_error, "commit: disk I/O error (/var/lib/x.db)");
	round_trip(&hb, "round trip: zones, a snapshot, storage error");

	/* The emitted heartbeat names its protocol version. */
	hb.nzones = 0;
	j = peerproto_heartbeat_json(&hb, err);
	is_int(json_integer_value(json_object_get(j, "v")), PEERPROTO_VERSION,
	    "the emitter writes \"v\":1");
	json_decref(j);
}

int
main(void)
{
	test_good();
	test_missing();
	test_types();
	test_values();
	test_bodies();
	test_round_trip();
	is_str(peerproto_storage_name(PEERPROTO_STORAGE_FULL), "full",
	    "storage names");
	diag("%d parser tests (bodies parsed), %zu of them truncations",
	    parser_tests, strlen(good_text) - 1);
	return tap_done();
}
