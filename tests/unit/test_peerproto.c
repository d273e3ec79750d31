/*
 * test_peerproto.c — the peer protocol's heartbeat (lib/peerproto.c;
 * S0.3, S0.4, S0.7) and change journal (issue 14): the strict parsers fed
 * malformed, truncated and oversized bodies, wrong types, each required
 * member missing in turn and bad values — every error naming the member
 * — bounds and ordering, emitter -> parser round trips, and the journal
 * client's refusals.  Every parser case counts one "parser test" (printed
 * at the end as a diagnostic).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "peerproto.h"
#include "tap.h"
#include "transfer.h"

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

/* ---- the change journal ------------------------------------------------ */

#define UUID_A "0123456789abcdef0123456789abcdef"
#define UUID_B "fedcba98765432100123456789abcdef"
#define NAPTR1 "100 10 \\\"u\\\" \\\"E2U+sip\\\" \\\"!^.*$!sip:info@example.com!\\\" ."
#define NAPTR2 "100 10 \\\"u\\\" \\\"E2U+sip\\\" \\\"!^.*$!sip:a@example.com!\\\" .\\n" \
    "200 10 \\\"u\\\" \\\"E2U+sip\\\" \\\"!^.*$!sip:b@example.com!\\\" ."

/* Four changes: a versioned add, a replace of it from room B (a decision,
 * in the add's transaction), a remove written before schema 2, an import. */
static const char good_journal_text[] =
    "{\"v\":1,\"room\":\"A\",\"database\":\"" UUID_A "\",\"after\":4,"
    "\"first\":2,\"last\":9,\"time\":\"2026-12-02T04:20:31Z\",\"changes\":["
    "{\"seq\":5,\"txn\":5,\"at\":\"2026-12-02T04:20:30Z\",\"op\":\"add\","
    "\"e164\":\"+46701\",\"zone\":\"6.4.e164.arpa\",\"serial\":1005,"
    "\"records\":\"" NAPTR1 "\",\"origin\":\"" UUID_A "\",\"oseq\":5,"
    "\"hlc\":1234567890,\"room\":\"A\",\"prev_origin\":\"\",\"prev_oseq\":0,"
    "\"flags\":0},"
    "{\"seq\":6,\"txn\":5,\"at\":\"2026-12-02T04:20:30Z\",\"op\":\"replace\","
    "\"e164\":\"+46701\",\"zone\":\"6.4.e164.arpa\",\"serial\":1006,"
    "\"records\":\"" NAPTR2 "\",\"origin\":\"" UUID_B "\",\"oseq\":3,"
    "\"hlc\":1234567891,\"room\":\"B\",\"prev_origin\":\"" UUID_A "\","
    "\"prev_oseq\":5,\"flags\":1},"
    "{\"seq\":7,\"txn\":0,\"at\":\"2026-12-01T00:00:00Z\",\"op\":\"remove\","
    "\"e164\":\"+46702\",\"zone\":\"6.4.e164.arpa\",\"serial\":1007,"
    "\"records\":\"\",\"origin\":\"\",\"oseq\":0,\"hlc\":0,\"room\":\"\","
    "\"prev_origin\":\"\",\"prev_oseq\":0,\"flags\":0},"
    "{\"seq\":9,\"txn\":9,\"at\":\"2026-12-02T04:20:31Z\",\"op\":\"import\","
    "\"e164\":\"\",\"zone\":\"7.4.e164.arpa\",\"serial\":7,\"records\":\"\","
    "\"origin\":\"\",\"oseq\":0,\"hlc\":0,\"room\":\"\",\"prev_origin\":\"\","
    "\"prev_oseq\":0,\"flags\":0}]}";

static json_t *
good_journal(void)
{
	json_t *j = json_loads(good_journal_text, 0, NULL);

	if (j == NULL) {
		printf("Bail out! the good journal does not load\n");
		exit(1);
	}
	return j;
}

static int
jparse_text(const char *text, size_t len, char *err)
{
	struct peerproto_journal jr;
	int rc;

	err[0] = '\0';
	parser_tests++;
	rc = peerproto_journal_parse(text, len, &jr, err);
	peerproto_journal_free(&jr);
	return rc;
}

/* j (consumed) must be refused with an error containing needle. */
static void
jrefused(json_t *j, const char *needle, const char *what)
{
	char err[ENUMDR_ERRLEN], *text;

	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL) {
		ok(0, what);
		return;
	}
	if (ok(jparse_text(text, strlen(text), err) == -1, what))
		like(err, needle, "... naming it");
	else
		ok(0, "... naming it");
	free(text);
}

/* The object at where of j: "" the root, "0".."3" changes[i]. */
static json_t *
jat(json_t *j, const char *where)
{
	if (*where == '\0')
		return j;
	return json_array_get(json_object_get(j, "changes"),
	    (size_t)(*where - '0'));
}

/* A good journal with member key of where set to the JSON value (NULL:
 * removed) must be refused naming needle. */
static void
jmutated(const char *where, const char *key, const char *value,
    const char *needle)
{
	char what[256];
	json_t *j = good_journal(), *v;

	if (value == NULL) {
		json_object_del(jat(j, where), key);
		snprintf(what, sizeof(what), "journal %s%s%s missing: refused",
		    *where ? "changes[" : "", where, key);
	} else {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		if (v == NULL) {
			printf("Bail out! test value %s is not JSON\n", value);
			exit(1);
		}
		json_object_set_new(jat(j, where), key, v);
		snprintf(what, sizeof(what), "journal %s%s%s%s = %.60s: refused",
		    *where ? "changes[" : "", where, *where ? "]." : "", key,
		    value);
	}
	jrefused(j, needle, what);
}

/* A good journal with member key of where set to value must parse. */
static void
jaccepted(const char *where, const char *key, const char *value,
    const char *what)
{
	char err[ENUMDR_ERRLEN], *text;
	json_t *j = good_journal();

	json_object_set_new(jat(j, where), key, json_loads(value,
	    JSON_DECODE_ANY, NULL));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!ok(text != NULL && jparse_text(text, strlen(text), err) == 0,
	    what))
		diag("%s", err);
	free(text);
}

static void
test_journal_good(void)
{
	struct peerproto_journal jr;
	char err[ENUMDR_ERRLEN], *text;
	json_t *j;

	parser_tests++;
	if (!ok(peerproto_journal_parse(good_journal_text,
	    strlen(good_journal_text), &jr, err) == 0, "a full journal parses"))
		diag("%s", err);
	is_int(jr.version, 1, "... v");
	is_str(jr.room, "A", "... room");
	is_str(jr.database, UUID_A, "... database");
	is_int(jr.after, 4, "... after");
	is_int(jr.first, 2, "... first");
	is_int(jr.last, 9, "... last");
	is_str(jr.time, "2026-12-02T04:20:31Z", "... time");
	is_int(jr.nrows, 4, "... four changes");
	if (jr.nrows == 4) {
		is_int(jr.rows[0].seq, 5, "... seq");
		is_int(jr.rows[1].txn, 5, "... txn");
		is_str(jr.rows[1].op, "replace", "... op");
		is_str(jr.rows[1].e164, "+46701", "... e164");
		is_str(jr.rows[1].zone, "6.4.e164.arpa", "... zone");
		is_int(jr.rows[1].serial, 1006, "... serial");
		like(jr.rows[1].records, "sip:a@example.com!\" .\n200 ",
		    "... records, two lines");
		is_str(jr.rows[1].v.origin, UUID_B, "... origin");
		is_int(jr.rows[1].v.oseq, 3, "... oseq");
		is_int(jr.rows[1].v.hlc, 1234567891, "... hlc");
		is_str(jr.rows[1].v.room, "B", "... room");
		is_str(jr.rows[1].prev_origin, UUID_A, "... prev_origin");
		is_int(jr.rows[1].prev_oseq, 5, "... prev_oseq");
		is_int(jr.rows[1].flags, STORE_JF_DECISION, "... flags");
		is_str(jr.rows[2].records, "", "... a remove's records");
		is_str(jr.rows[3].op, "import", "... an import");
		is_str(jr.rows[3].e164, "", "... without a number");
	}
	ok(!peerproto_journal_gap(&jr), "after 4, first 2: no gap");
	jr.after = 0;
	ok(peerproto_journal_gap(&jr), "after 0, first 2: a gap");
	jr.after = 1;
	ok(!peerproto_journal_gap(&jr), "after 1, first 2: no gap");
	peerproto_journal_free(&jr);
	is_int(jr.nrows, 0, "free: no rows left");

	/* Unknown members are ignored, at the root and in a change. */
	j = good_journal();
	json_object_set_new(j, "colour", json_string("red"));
	json_object_set_new(jat(j, "1"), "shade", json_integer(3));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	is_int(jparse_text(text, strlen(text), err), 0,
	    "journal: unknown members are ignored");
	free(text);

	/* Nothing to send: an empty journal, and one that was trimmed. */
	{
		static const char *const empty[] = {
		    "{\"v\":1,\"room\":\"A\",\"database\":\"" UUID_A "\","
		    "\"after\":0,\"first\":1,\"last\":0,\"time\":"
		    "\"2026-12-02T04:20:31Z\",\"changes\":[]}",
		    "{\"v\":1,\"room\":\"A\",\"database\":\"" UUID_A "\","
		    "\"after\":3,\"first\":9,\"last\":8,\"time\":"
		    "\"2026-12-02T04:20:31Z\",\"changes\":[]}",
		    "{\"v\":1,\"room\":\"A\",\"database\":\"" UUID_A "\","
		    "\"after\":12,\"first\":1,\"last\":8,\"time\":"
		    "\"2026-12-02T04:20:31Z\",\"changes\":[]}",
		};

		is_int(jparse_text(empty[0], strlen(empty[0]), err), 0,
		    "a journal never written (first 1, last 0) parses");
		is_int(jparse_text(empty[1], strlen(empty[1]), err), 0,
		    "a journal trimmed to nothing (first 9, last 8) parses");
		is_int(jparse_text(empty[2], strlen(empty[2]), err), 0,
		    "after beyond last (another database?) parses: the"
		    " follower judges it");
	}
}

static void
test_journal_missing(void)
{
	static const char *const root[] = { "v", "room", "database", "after",
	    "first", "last", "time", "changes", NULL };
	static const char *const change[] = { "seq", "txn", "at", "op",
	    "e164", "zone", "serial", "records", "origin", "oseq", "hlc",
	    "room", "prev_origin", "prev_oseq", "flags", NULL };
	char needle[64];
	size_t i;

	for (i = 0; root[i] != NULL; i++) {
		snprintf(needle, sizeof(needle), "member \"%s\" missing",
		    root[i]);
		jmutated("", root[i], NULL, needle);
	}
	for (i = 0; change[i] != NULL; i++) {
		snprintf(needle, sizeof(needle), "member \"changes[1].%s\""
		    " missing", change[i]);
		jmutated("1", change[i], NULL, needle);
	}
	/* the unversioned remove and the import need them all as well */
	jmutated("2", "origin", NULL, "member \"changes[2].origin\" missing");
	jmutated("2", "oseq", NULL, "member \"changes[2].oseq\" missing");
	jmutated("3", "records", NULL, "member \"changes[3].records\" missing");
	jmutated("3", "e164", NULL, "member \"changes[3].e164\" missing");
}

static void
test_journal_types(void)
{
	static const struct {
		const char *where, *key, *value, *needle;
	} t[] = {
		{ "", "v", "\"1\"", "member \"v\": not an integer" },
		{ "", "room", "1", "member \"room\": not a string" },
		{ "", "database", "null", "member \"database\": not a string" },
		{ "", "after", "\"4\"", "member \"after\": not an integer" },
		{ "", "first", "2.0", "member \"first\": not an integer" },
		{ "", "last", "true", "member \"last\": not an integer" },
		{ "", "time", "0", "member \"time\": not a string" },
		{ "", "changes", "{}", "member \"changes\": not an array" },
		{ "", "changes", "[1]", "member \"changes[0]\": not an object" },
		{ "1", "seq", "\"6\"", "member \"changes[1].seq\": not an"
		    " integer" },
		{ "1", "txn", "null", "member \"changes[1].txn\": not an"
		    " integer" },
		{ "1", "at", "5", "member \"changes[1].at\": not a string" },
		{ "1", "op", "[]", "member \"changes[1].op\": not a string" },
		{ "1", "e164", "46701", "member \"changes[1].e164\": not a"
		    " string" },
		{ "1", "zone", "{}", "member \"changes[1].zone\": not a string" },
		{ "1", "serial", "\"1006\"", "member \"changes[1].serial\": not"
		    " an integer" },
		{ "1", "records", "null", "member \"changes[1].records\": not a"
		    " string" },
		{ "1", "origin", "0", "member \"changes[1].origin\": not a"
		    " string" },
		{ "1", "oseq", "3.5", "member \"changes[1].oseq\": not an"
		    " integer" },
		{ "1", "hlc", "\"1\"", "member \"changes[1].hlc\": not an"
		    " integer" },
		{ "1", "room", "false", "member \"changes[1].room\": not a"
		    " string" },
		{ "1", "prev_origin", "null", "member \"changes[1].prev_origin\":"
		    " not a string" },
		{ "1", "prev_oseq", "\"5\"", "member \"changes[1].prev_oseq\":"
		    " not an integer" },
		{ "1", "flags", "true", "member \"changes[1].flags\": not an"
		    " integer" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		jmutated(t[i].where, t[i].key, t[i].value, t[i].needle);
}

static void
test_journal_values(void)
{
	static const struct {
		const char *where, *key, *value, *needle;
	} t[] = {
		/* the envelope */
		{ "", "v", "2", "protocol version 2 (member \"v\")" },
		{ "", "room", "\"A B\"", "member \"room\": \"A B\" is not a"
		    " room name" },
		{ "", "room", "\"\"", "member \"room\"" },
		{ "", "database", "\"0123\"", "member \"database\": \"0123\" is"
		    " not a database uuid" },
		{ "", "database", "\"\"", "member \"database\": \"\" is not a"
		    " database uuid" },
		{ "", "database", "\"0123456789ABCDEF0123456789abcdef\"",
		    "member \"database\"" },
		{ "", "after", "-1", "member \"after\": -1 is out of range" },
		{ "", "last", "-1", "member \"last\": -1 is out of range" },
		{ "", "first", "0", "member \"first\": 0 is out of range 1..10" },
		{ "", "first", "11", "member \"first\": 11 is out of range"
		    " 1..10 (\"last\" + 1 at most)" },
		{ "", "time", "\"now\"", "member \"time\": \"now\" is not UTC" },
		/* ordering and bounds of seq, txn */
		{ "0", "seq", "4", "member \"changes[0].seq\": 4 is not after 4"
		    " (\"after\")" },
		{ "1", "seq", "5", "member \"changes[1].seq\": 5 is not after 5"
		    " (the change before it)" },
		{ "2", "seq", "3", "member \"changes[2].seq\": 3 is not after 6" },
		{ "3", "seq", "10", "member \"changes[3].seq\": 10 is outside"
		    " the journal, \"first\" 2 to \"last\" 9" },
		{ "0", "seq", "0", "member \"changes[0].seq\": 0 is out of"
		    " range" },
		{ "", "first", "6", "member \"changes[0].seq\": 5 is outside"
		    " the journal" },
		{ "", "after", "5", "member \"changes[0].seq\": 5 is not after"
		    " 5" },
		{ "", "last", "8", "member \"changes[3].seq\": 9 is outside" },
		{ "1", "txn", "7", "member \"changes[1].txn\": 7 is out of range"
		    " 0..6" },
		{ "1", "txn", "-1", "member \"changes[1].txn\": -1 is out of"
		    " range" },
		{ "1", "at", "\"2026-12-02 04:20:30Z\"", "member"
		    " \"changes[1].at\"" },
		/* what a change is: issue 12's rules */
		{ "1", "op", "\"delete\"", "member \"changes[1].op\": \"delete\""
		    " is not \"add\", \"replace\", \"remove\", \"import\" or \"zone\"" },
		{ "1", "op", "\"ADD\"", "member \"changes[1].op\"" },
		{ "1", "e164", "\"46701\"", "member \"changes[1].e164\"" },
		{ "1", "e164", "\"+0701\"", "member \"changes[1].e164\"" },
		{ "1", "e164", "\"\"", "member \"changes[1].e164\"" },
		{ "2", "e164", "\"+4670a\"", "member \"changes[2].e164\"" },
		{ "3", "e164", "\"+46701\"", "member \"changes[3].e164\": not"
		    " \"\" although \"op\" is \"import\"" },
		{ "1", "zone", "\"example.com\"", "member \"changes[1].zone\":"
		    " invalid zone" },
		{ "3", "zone", "\"\"", "member \"changes[3].zone\"" },
		{ "1", "serial", "4294967296", "member \"changes[1].serial\":"
		    " 4294967296 is out of range 0..4294967295" },
		{ "1", "serial", "-1", "member \"changes[1].serial\": -1 is out"
		    " of range" },
		{ "1", "records", "\"\"", "member \"changes[1].records\"" },
		{ "0", "records", "\"100 10 u E2U+sip x .\"",
		    "member \"changes[0].records\"" },
		{ "0", "records", "\"100  10 \\\"u\\\" \\\"E2U+sip\\\" "
		    "\\\"!^.*$!sip:info@example.com!\\\" .\"",
		    "member \"changes[0].records\": NAPTR text is not in the"
		    " canonical form" },
		{ "0", "records", "\"100 10 \\\"u\\\" \\\"E2U+sip\\\" "
		    "\\\"!^.*$!sip:info@example.com!\\\" .\\n\"",
		    "member \"changes[0].records\"" },
		{ "2", "records", "\"x\"", "member \"changes[2].records\": not"
		    " \"\" although \"op\" is \"remove\"" },
		{ "3", "records", "\"" NAPTR1 "\"", "member"
		    " \"changes[3].records\": not \"\" although \"op\" is"
		    " \"import\"" },
		/* versions */
		{ "1", "origin", "\"FEDCBA98765432100123456789ABCDEF\"",
		    "member \"changes[1].origin\": \"FEDCBA98765432100123456789"
		    "ABCDEF\" is not a database uuid" },
		{ "1", "origin", "\"fedcba9876543210\"", "member"
		    " \"changes[1].origin\"" },
		{ "1", "oseq", "0", "member \"changes[1].oseq\": 0 is out of"
		    " range 1.." },
		{ "1", "hlc", "0", "member \"changes[1].hlc\": 0 is out of range"
		    " 1.." },
		{ "1", "room", "\"\"", "member \"changes[1].room\": \"\" is not"
		    " a room name" },
		{ "1", "room", "\"B C\"", "member \"changes[1].room\"" },
		{ "1", "origin", "\"\"", "member \"changes[1].oseq\": 3 is out"
		    " of range 0..0 (\"origin\" is \"\": no version)" },
		{ "2", "oseq", "1", "member \"changes[2].oseq\": 1 is out of"
		    " range 0..0 (\"origin\" is \"\": no version)" },
		{ "2", "hlc", "7", "member \"changes[2].hlc\": 7 is out of range"
		    " 0..0" },
		{ "2", "room", "\"A\"", "member \"changes[2].room\": \"A\""
		    " although \"origin\" is \"\"" },
		{ "1", "prev_origin", "\"abc\"", "member"
		    " \"changes[1].prev_origin\": \"abc\" is not a database"
		    " uuid" },
		{ "1", "prev_oseq", "0", "member \"changes[1].prev_oseq\": 0 is"
		    " out of range 1.." },
		{ "1", "prev_oseq", "-1", "member \"changes[1].prev_oseq\"" },
		{ "0", "prev_oseq", "1", "member \"changes[0].prev_oseq\": 1 is"
		    " out of range 0..0 (\"prev_origin\" is \"\")" },
		{ "1", "flags", "4", "member \"changes[1].flags\": 4 is out of"
		    " range 0..3" },
		{ "1", "flags", "-1", "member \"changes[1].flags\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		jmutated(t[i].where, t[i].key, t[i].value, t[i].needle);

	/* and what is valid at the edges */
	jaccepted("1", "txn", "6", "txn = seq: accepted");
	jaccepted("1", "txn", "0", "txn 0 (a row before schema 2): accepted");
	jaccepted("1", "serial", "4294967295", "serial 2^32-1: accepted");
	jaccepted("1", "hlc", "9223372036854775807", "hlc 2^63-1: accepted");
	jmutated("3", "origin", "\"" UUID_B "\"", "member \"changes[3].oseq\":"
	    " 0 is out of range 1..");
}

static void
test_journal_bodies(void)
{
	char err[ENUMDR_ERRLEN], *big, *text;
	size_t len = strlen(good_journal_text), i, bad = 0;
	json_t *j, *changes, *c;

	is_int(jparse_text("", 0, err), -1, "journal: an empty body: refused");
	like(err, "empty body", "... says so");
	is_int(jparse_text("[]", 2, err), -1, "journal: an array: refused");
	like(err, "not a JSON object", "... naming its type");
	is_int(jparse_text("{}", 2, err), -1, "journal: {}: refused");
	like(err, "member \"v\" missing", "... the version first");
	is_int(jparse_text("{\"v\":1,\"v\":1}", 13, err), -1,
	    "journal: a duplicate key: refused");
	like(err, "duplicate", "... says so");

	/* A NUL in a string: jansson refuses \u0000 (JSON_ALLOW_NUL is off). */
	{
		char withnul[sizeof(good_journal_text) + 16];
		const char *p = strstr(good_journal_text, "\"records\":\"\"");

		snprintf(withnul, sizeof(withnul), "%.*s\"records\":\"a\\u0000b"
		    "\"%s", (int)(p - good_journal_text), good_journal_text,
		    p + strlen("\"records\":\"\""));
		is_int(jparse_text(withnul, strlen(withnul), err), -1,
		    "journal: records with \\u0000: refused");
		like(err, "not JSON", "... by the JSON parser");
	}

	for (i = 1; i < len; i++) {
		if (jparse_text(good_journal_text, i, err) != -1 ||
		    err[0] == '\0')
			bad++;
	}
	is_int(bad, 0, "every one of the truncated journal bodies is refused");

	/* Oversized: exactly the limit parses, one byte more does not. */
	big = malloc(PEERPROTO_JOURNAL_BODY_MAX + 2);
	if (big == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	memset(big, ' ', PEERPROTO_JOURNAL_BODY_MAX + 1);
	memcpy(big, good_journal_text, len);
	is_int(jparse_text(big, PEERPROTO_JOURNAL_BODY_MAX, err), 0,
	    "a journal body of exactly 64 MiB (padded): parses");
	is_int(jparse_text(big, PEERPROTO_JOURNAL_BODY_MAX + 1, err), -1,
	    "one byte over 64 MiB: refused");
	like(err, "more than 67108864", "... naming the limit");
	free(big);

	/* PEERPROTO_CHANGES_MAX changes parse, one more does not. */
	j = good_journal();
	changes = json_array();
	for (i = 0; i < PEERPROTO_CHANGES_MAX; i++) {
		c = json_deep_copy(jat(j, "2"));
		json_object_set_new(c, "seq", json_integer(5 + (json_int_t)i));
		json_array_append_new(changes, c);
	}
	json_object_set_new(j, "changes", changes);
	json_object_set_new(j, "last", json_integer(5 + PEERPROTO_CHANGES_MAX));
	text = json_dumps(j, JSON_COMPACT);
	is_int(jparse_text(text, strlen(text), err), 0, "10000 changes: parse");
	free(text);
	c = json_deep_copy(jat(j, "2"));
	json_object_set_new(c, "seq", json_integer(5 + PEERPROTO_CHANGES_MAX));
	json_array_append_new(changes, c);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	is_int(jparse_text(text, strlen(text), err), -1, "10001 changes:"
	    " refused");
	like(err, "member \"changes\": 10001 changes, more than 10000",
	    "... naming the member");
	free(text);
}

/* Emitter -> parser: what the agent sends is what the follower reads. */
static void
journal_round_trip(const struct peerproto_journal *in, const char *what)
{
	struct peerproto_journal out;
	char err[ENUMDR_ERRLEN], *text = NULL;
	const struct journal_row *a, *b;
	json_t *j;
	int same;
	size_t i;

	j = peerproto_journal_json(in, err);
	ok(j != NULL, what);
	if (j != NULL)
		text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	parser_tests++;
	if (!ok(text != NULL && peerproto_journal_parse(text, strlen(text),
	    &out, err) == 0, "... parses back")) {
		diag("%s", err);
		free(text);
		return;
	}
	free(text);
	same = out.version == PEERPROTO_VERSION &&
	    strcmp(out.room, in->room) == 0 &&
	    strcmp(out.database, in->database) == 0 &&
	    out.after == in->after && out.first == in->first &&
	    out.last == in->last && strcmp(out.time, in->time) == 0 &&
	    out.nrows == in->nrows;
	for (i = 0; same && i < in->nrows; i++) {
		a = &in->rows[i];
		b = &out.rows[i];
		same = a->seq == b->seq && a->txn == b->txn &&
		    strcmp(a->at, b->at) == 0 && strcmp(a->op, b->op) == 0 &&
		    strcmp(a->e164, b->e164) == 0 &&
		    strcmp(a->zone, b->zone) == 0 && a->serial == b->serial &&
		    strcmp(a->records, b->records) == 0 &&
		    strcmp(a->v.origin, b->v.origin) == 0 &&
		    a->v.oseq == b->v.oseq && a->v.hlc == b->v.hlc &&
		    strcmp(a->v.room, b->v.room) == 0 &&
		    strcmp(a->prev_origin, b->prev_origin) == 0 &&
		    a->prev_oseq == b->prev_oseq && a->flags == b->flags;
	}
	ok(same, "... every field the same");
	peerproto_journal_free(&out);
}

static void
test_journal_round_trip(void)
{
	char r0[] = "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .";
	char r1[] = "";
	struct journal_row rows[3];
	struct peerproto_journal jr;
	char err[ENUMDR_ERRLEN];
	json_t *j;

	memset(&jr, 0, sizeof(jr));
	strcpy(jr.room, "A");
	strcpy(jr.database, UUID_A);
	jr.first = 1;
	strcpy(jr.time, "2026-12-02T04:20:31Z");
	journal_round_trip(&jr, "journal round trip: never written");

	memset(rows, 0, sizeof(rows));
	rows[0].seq = 100;
	rows[0].txn = 100;
	strcpy(rows[0].at, "2026-12-02T04:20:30Z");
	strcpy(rows[0].op, "add");
	strcpy(rows[0].e164, "+468123456789012");
	strcpy(rows[0].zone, "8.6.4.e164.arpa");
	rows[0].serial = 4294967295U;
	rows[0].records = r0;
	strcpy(rows[0].v.origin, UUID_A);
	rows[0].v.oseq = INT64_MAX;
	rows[0].v.hlc = INT64_MAX;
	strcpy(rows[0].v.room, "room_B-2");
	strcpy(rows[0].prev_origin, UUID_B);
	rows[0].prev_oseq = 1;
	rows[0].flags = STORE_JF_DECISION;
	rows[1] = rows[0];
	rows[1].seq = 101;
	strcpy(rows[1].op, "remove");
	rows[1].records = r1;
	rows[1].v.oseq = 1;
	rows[1].v.hlc = 1;
	rows[1].prev_origin[0] = '\0';
	rows[1].prev_oseq = 0;
	rows[1].flags = 0;
	rows[2] = rows[1];
	rows[2].seq = INT64_MAX - 1;
	rows[2].txn = INT64_MAX - 1;
	strcpy(rows[2].op, "import");
	rows[2].e164[0] = '\0';
	rows[2].v.origin[0] = '\0';
	rows[2].v.oseq = 0;
	rows[2].v.hlc = 0;
	rows[2].v.room[0] = '\0';
	strcpy(jr.room, "room_B-2");
	jr.after = 99;
	jr.first = 50;
	jr.last = INT64_MAX - 1;
	jr.rows = rows;
	jr.nrows = 3;
	journal_round_trip(&jr, "journal round trip: add, remove, import at"
	    " the bounds");

	j = peerproto_journal_json(&jr, err);
	is_int(json_integer_value(json_object_get(j, "v")), PEERPROTO_VERSION,
	    "the journal emitter writes \"v\":1");
	is_int(json_array_size(json_object_get(j, "changes")), 3,
	    "... and every change");
	json_decref(j);
}

static void
test_journal_client(void)
{
	struct peerproto_client *c;
	struct peerproto_journal jr;
	char err[ENUMDR_ERRLEN];

	ok(transfer_global_init(err) == 0, "curl_global_init");
	c = peerproto_client_new();
	ok(c != NULL, "a journal client");
	if (c == NULL)
		return;
	is_int(peerproto_journal_get(c, "http://127.0.0.1:1/v1/journal", "B",
	    -1, 10, 0, 100, &jr, err), PEERPROTO_EPROTO, "after -1: refused");
	like(err, "bad request", "... before asking");
	is_int(peerproto_journal_get(c, "http://127.0.0.1:1/v1/journal", "B",
	    0, 10001, 0, 100, &jr, err), PEERPROTO_EPROTO,
	    "limit 10001: refused");
	is_int(peerproto_journal_get(c, "http://127.0.0.1:1/v1/journal", "B",
	    0, 10, 25001, 100, &jr, err), PEERPROTO_EPROTO,
	    "wait_ms 25001: refused");
	is_int(peerproto_journal_get(c, "http://127.0.0.1:1/v1/journal",
	    "B&x=1", 0, 10, 0, 100, &jr, err), PEERPROTO_EPROTO,
	    "a room that is no room name: refused");
	is_int(peerproto_journal_get(c, "http://127.0.0.1:1/v1/journal", "B",
	    0, 10, 0, 100, &jr, err), PEERPROTO_EUNREACHABLE,
	    "nothing listening: unreachable");
	like(err, "GET http://127.0.0.1:1/v1/journal?after=0&limit=10"
	    "&wait_ms=0&room=B", "... naming the request");
	is_int(peerproto_journal_get(c, "http://127.0.0.1:1/v1/journal", NULL,
	    7, 10, 0, 100, &jr, err), PEERPROTO_EUNREACHABLE,
	    "the same client again, no room");
	like(err, "after=7&limit=10&wait_ms=0:", "... without room=");
	peerproto_journal_free(&jr);
	peerproto_client_free(c);
	peerproto_client_free(NULL);
	transfer_global_cleanup();
}

/* "following" (issue 14): optional; when present, strict. */
static void
test_repl(void)
{
	struct peerproto_heartbeat hb, back;
	char err[ENUMDR_ERRLEN], *text;
	json_t *j;

	ok(peerproto_heartbeat_parse(good_text, strlen(good_text), &hb,
	    err) == 0 && hb.nrepl == 0, "no replication member: none (an"
	    " agent of before issue 14)");
	hb.nrepl = 2;
	strcpy(hb.repl[0].peer, "A");
	strcpy(hb.repl[0].state, "catching-up");
	hb.repl[0].behind = 120;
	strcpy(hb.repl[1].peer, "C");
	strcpy(hb.repl[1].state, "following");
	hb.repl[1].behind = 0;
	j = peerproto_heartbeat_json(&hb, err);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	ok(text != NULL && peerproto_heartbeat_parse(text, strlen(text), &back,
	    err) == 0, "replication: round trip");
	is_int(back.nrepl, 2, "... two entries");
	is_str(back.repl[0].peer, "A", "... peer");
	is_str(back.repl[0].state, "catching-up", "... state");
	is_int(back.repl[0].behind, 120, "... behind");
	is_str(back.repl[1].state, "following", "... second state");
	peerproto_heartbeat_free(&back);
	peerproto_heartbeat_free(&hb);
	free(text);

	j = good();
	json_object_set_new(j, "following", json_string("x"));
	refused(j, "member \"following\": not an array", "replication not"
	    " an array: refused");
	j = good();
	json_object_set_new(j, "following", json_loads("[{\"peer\":\"A\","
	    "\"state\":\"Following\",\"behind\":0}]", 0, NULL));
	refused(j, "member \"following[0].state\": \"Following\" is not a"
	    " state", "replication state with a capital: refused");
	j = good();
	json_object_set_new(j, "following", json_loads("[{\"peer\":\"A\","
	    "\"state\":\"following\",\"behind\":-1}]", 0, NULL));
	refused(j, "member \"following[0].behind\"", "replication behind"
	    " -1: refused");
	j = good();
	json_object_set_new(j, "following", json_loads("[{\"state\":"
	    "\"following\",\"behind\":0}]", 0, NULL));
	refused(j, "member \"following[0].peer\" missing", "following"
	    " without peer: refused");
}

/* The switchover answer (issue 15): strict parse, emitter round trip. */
static void
test_switchover(void)
{
	struct peerproto_switchover sw, back;
	char err[ENUMDR_ERRLEN], *text;
	json_t *o;
	enum peerproto_sw_request rq;
	static const struct {
		const char *body, *want;
	} bad[] = {
		{ "{\"v\":1,\"room\":\"B\",\"state\":\"refused\",\"position\":0,"
		  "\"error\":null}", "a refusal names its reason" },
		{ "{\"v\":1,\"room\":\"B\",\"state\":\"maybe\",\"position\":0,"
		  "\"error\":null}", "\"maybe\" is not a switchover answer" },
		{ "{\"v\":1,\"room\":\"B\",\"state\":\"switching\",\"position\":-1,"
		  "\"error\":null}", "member \"position\": -1 is out of range" },
		{ "{\"v\":1,\"room\":\"B\",\"state\":\"switching\",\"position\":1}",
		  "member \"error\" missing" },
		{ "{\"v\":1,\"room\":\"B\",\"state\":\"switching\",\"position\":1,"
		  "\"error\":null,\"extra\":1}", "member \"extra\": not a member" },
		{ "{\"v\":2,\"room\":\"B\",\"state\":\"switching\",\"position\":1,"
		  "\"error\":null}", "protocol version 2" },
		{ "{\"v\":1,\"room\":\"B C\",\"state\":\"switching\",\"position\":1,"
		  "\"error\":null}", "is not a room name" },
	};
	const char *good = "{\"v\":1,\"room\":\"B\",\"state\":\"refused\","
	    "\"position\":42,\"error\":\"room B is FAULT, not BACKUP\"}";
	size_t k;

	ok(peerproto_switchover_parse(good, strlen(good), &sw, err) == 0,
	    "switchover: a refusal parses");
	ok(sw.answer == PEERPROTO_SW_REFUSED && sw.position == 42 &&
	    strcmp(sw.room, "B") == 0 && strcmp(sw.error, "room B is FAULT,"
	    " not BACKUP") == 0, "... its members");
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ok(peerproto_switchover_parse(bad[k].body, strlen(bad[k].body),
		    &sw, err) == -1, "switchover: bad answer refused");
		like(err, bad[k].want, "... naming it");
	}
	memset(&sw, 0, sizeof(sw));
	strlcpy_(sw.room, "A", sizeof(sw.room));
	sw.answer = PEERPROTO_SW_SWITCHING;
	sw.position = 7;
	o = peerproto_switchover_json(&sw);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	ok(text != NULL && peerproto_switchover_parse(text, strlen(text),
	    &back, err) == 0 && back.answer == PEERPROTO_SW_SWITCHING &&
	    back.position == 7 && back.error[0] == '\0',
	    "switchover: the emitter's answer parses back");
	free(text);
	json_decref(o);
	ok(peerproto_sw_request_from_name("going-to-switch", &rq) == 0 &&
	    rq == PEERPROTO_SW_GOING && peerproto_sw_request_from_name(
	    "switch", &rq) == -1, "switchover: request names");
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
	test_repl();
	test_journal_good();
	test_journal_missing();
	test_journal_types();
	test_journal_values();
	test_journal_bodies();
	test_journal_round_trip();
	test_journal_client();
	test_switchover();
	is_str(peerproto_storage_name(PEERPROTO_STORAGE_FULL), "full",
	    "storage names");
	diag("%d parser tests (bodies parsed), %zu of them truncations",
	    parser_tests, strlen(good_text) - 1);
	return tap_done();
}
