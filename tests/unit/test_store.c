/*
 * test_store.c — the store: validation of numbers and NAPTR records,
 * zone lookup, serial bump + journal row per change in one transaction
 * (S0.1, S0.2, S0.7), all-or-nothing batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "naptr.h"
#include "store.h"
#include "tap.h"
#include "util.h"

static void
sip_entry(struct number_entry *e, const char *e164)
{
	memset(e, 0, sizeof(*e));
	strlcpy_(e->e164, e164, sizeof(e->e164));
	e->nnaptr = 1;
	e->naptr[0].order = 100;
	e->naptr[0].preference = 10;
	strlcpy_(e->naptr[0].flags, "U", sizeof(e->naptr[0].flags));
	strlcpy_(e->naptr[0].service, "E2U+sip", sizeof(e->naptr[0].service));
	snprintf(e->naptr[0].regexp, sizeof(e->naptr[0].regexp),
	    "!^.*$!sip:%s@ims.example.net!", e164);
	strlcpy_(e->naptr[0].replacement, ".", sizeof(e->naptr[0].replacement));
}

static uint32_t
zone_serial(struct store *st, const char *origin)
{
	struct zone_info *z;
	size_t n, i;
	uint32_t s = 0;
	char err[ENUMDR_ERRLEN];

	if (store_list_zones(st, &z, &n, err) != STORE_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(z[i].origin, origin) == 0)
			s = z[i].serial;
	free(z);
	return s;
}

static void
test_validation(void)
{
	char err[ENUMDR_ERRLEN], prefix[STORE_E164_MAX], dom[64];
	struct naptr_record r;

	ok(store_e164_valid("+4681234567", err) == 0, "valid E.164 accepted");
	ok(store_e164_valid("+1", err) == 0, "shortest E.164 accepted");
	ok(store_e164_valid("+123456789012345", err) == 0, "15 digits accepted");
	ok(store_e164_valid("+1234567890123456", err) == -1, "16 digits refused");
	like(err, "1 to 15 digits", "error says how many digits");
	ok(store_e164_valid("4681234567", err) == -1, "missing + refused");
	like(err, "must start with '+'", "error names the missing +");
	ok(store_e164_valid("+46a1", err) == -1, "letter refused");
	like(err, "character 4", "error names the position");
	ok(store_e164_valid("+0461", err) == -1, "leading 0 refused");
	ok(store_e164_valid("+", err) == -1, "bare + refused");
	ok(store_e164_valid("", err) == -1, "empty refused");

	ok(store_origin_valid("6.4.e164.arpa", prefix, err) == 0, "origin ok");
	is_str(prefix, "46", "prefix of 6.4.e164.arpa is 46");
	ok(store_origin_valid("6.4.E164.ARPA.", prefix, err) == 0,
	    "origin with final dot and capitals ok");
	ok(store_origin_valid("e164.arpa", prefix, err) == -1,
	    "bare e164.arpa refused");
	ok(store_origin_valid("64.e164.arpa", prefix, err) == -1,
	    "multi-digit label refused");
	ok(store_origin_valid("6.4.example.com", prefix, err) == -1,
	    "zone outside e164.arpa refused");
	ok(store_e164_to_domain("+4681", dom, sizeof(dom)) == 0 &&
	    strcmp(dom, "1.8.6.4.e164.arpa") == 0, "domain of +4681");

	memset(&r, 0, sizeof(r));
	strcpy(r.flags, "U");
	strcpy(r.service, "E2U+sip");
	strcpy(r.regexp, "!^\\+46(.*)$!sip:\\1@example.net!");
	strcpy(r.replacement, ".");
	ok(naptr_valid(&r, err) == 0, "NAPTR with backreference ok");
	strcpy(r.regexp, "!^.*$!sip:x@example.net");
	ok(naptr_valid(&r, err) == -1, "regexp missing delimiter refused");
	like(err, "RFC 3402", "error cites the RFC");
	strcpy(r.regexp, "!^.*$!sip:x@example.net!");
	strcpy(r.replacement, "sip.example.net");
	ok(naptr_valid(&r, err) == -1,
	    "regexp and replacement together refused");
	strcpy(r.replacement, ".");
	strcpy(r.flags, "U!");
	ok(naptr_valid(&r, err) == -1, "bad flags refused");
	strcpy(r.flags, "U");
	r.service[0] = '\0';
	ok(naptr_valid(&r, err) == -1, "empty service refused");
	strcpy(r.service, "E2U+sip");
	r.regexp[0] = '\0';
	strcpy(r.replacement, "_sip._udp.example.net");
	ok(naptr_valid(&r, err) == 0, "non-terminal NAPTR ok");
}

static void
test_format_roundtrip(void)
{
	struct naptr_record r[2], back[NAPTR_MAX];
	char err[ENUMDR_ERRLEN], *text = NULL;
	size_t n = 0;

	memset(r, 0, sizeof(r));
	r[0].order = 100; r[0].preference = 10;
	strcpy(r[0].flags, "u");
	strcpy(r[0].service, "E2U+sip");
	strcpy(r[0].regexp, "!^\\+(.*)$!sip:\\1@a\"b.example!");
	strcpy(r[0].replacement, ".");
	r[1].order = 65535; r[1].preference = 0;
	strcpy(r[1].flags, "");
	strcpy(r[1].service, "E2U+voice:tel");
	strcpy(r[1].regexp, "");
	strcpy(r[1].replacement, "next.example.net.");
	ok(naptr_format(r, 2, &text) == 0, "format two records");
	like(text, "100 10 \"u\" \"E2U+sip\" \"!^\\\\+(.*)$!sip:\\\\1@a\\\"b.example!\" .",
	    "presentation form escapes \\ and \"");
	ok(naptr_parse(text, back, &n, err) == 0, "parse it back");
	is_int(n, 2, "two records back");
	ok(memcmp(r, back, sizeof(r)) == 0, "records identical after round trip");
	free(text);
	ok(naptr_parse("100 10 \"U\" \"E2U+sip\"", back, &n, err) == -1,
	    "short line refused");
	ok(naptr_parse("70000 10 \"U\" \"E2U+sip\" \"!a!b!\" .", back,
	    &n, err) == -1, "order > 65535 refused");
	like(err, "0-65535", "error names the range");
}

static void
test_changes(void)
{
	char err[ENUMDR_ERRLEN], zone[STORE_ORIGIN_MAX];
	struct store_change ch[3];
	struct store_change_result res[3];
	struct journal_row *rows;
	struct number_entry got;
	struct store *st;
	size_t n, failed = 99;
	int64_t pos;

	ok(store_open(":memory:", STORE_CREATE, &st, err) == STORE_OK,
	    "open in-memory store");
	ok(store_add_zone(st, "6.4.e164.arpa", 100, err) == STORE_OK,
	    "add zone 6.4.e164.arpa");
	ok(store_add_zone(st, "8.6.4.e164.arpa.", 7, err) == STORE_OK,
	    "add more specific zone 8.6.4.e164.arpa");
	is_int(store_add_zone(st, "6.4.e164.arpa", 1, err), STORE_EEXIST,
	    "adding a zone twice refused");
	ok(store_zone_for(st, "+4681234", zone, sizeof(zone), err) == STORE_OK &&
	    strcmp(zone, "8.6.4.e164.arpa") == 0, "longest prefix wins");
	ok(store_zone_for(st, "+4631234", zone, sizeof(zone), err) == STORE_OK &&
	    strcmp(zone, "6.4.e164.arpa") == 0, "shorter prefix otherwise");
	is_int(store_zone_for(st, "+1555", zone, sizeof(zone), err),
	    STORE_ENOZONE, "number without zone");
	like(err, "no zone covers +1555", "error names the number");

	memset(ch, 0, sizeof(ch));
	ch[0].op = STORE_ADD;
	sip_entry(&ch[0].entry, "+4631000001");
	ch[1].op = STORE_ADD;
	sip_entry(&ch[1].entry, "+4631000002");
	is_int(store_apply(st, ch, 2, res, NULL, err), STORE_OK, "add two numbers");
	is_int(res[0].serial, 101, "first change: serial 101");
	is_int(res[1].serial, 102, "second change: serial 102");
	is_int(res[1].journal_seq, res[0].journal_seq + 1, "journal rows in order");
	is_int(zone_serial(st, "6.4.e164.arpa"), 102, "zone serial moved by 2");
	is_int(zone_serial(st, "8.6.4.e164.arpa"), 7, "other zone untouched");

	/* A batch with one bad change is refused whole. */
	ch[0].op = STORE_ADD;
	sip_entry(&ch[0].entry, "+4631000003");
	ch[1].op = STORE_ADD;
	sip_entry(&ch[1].entry, "+4631000001");     /* exists */
	is_int(store_apply(st, ch, 2, res, &failed, err), STORE_EEXIST,
	    "batch with an existing number refused");
	is_int(failed, 1, "failed index names the second change");
	like(err, "change 2 of 2: +4631000001 exists", "error names change and number");
	is_int(store_get_number(st, "+4631000003", &got, err), STORE_ENOENT,
	    "first change of the failed batch rolled back");
	is_int(zone_serial(st, "6.4.e164.arpa"), 102, "serial unchanged by failed batch");
	ok(store_journal_position(st, &pos, err) == STORE_OK && pos == 2,
	    "journal position unchanged by failed batch");

	/* Invalid input: nothing written. */
	ch[0].op = STORE_ADD;
	sip_entry(&ch[0].entry, "+46x");
	is_int(store_apply(st, ch, 1, res, NULL, err), STORE_EINVAL,
	    "invalid number refused");
	sip_entry(&ch[0].entry, "+4631000009");
	strcpy(ch[0].entry.naptr[0].service, "bad service");
	is_int(store_apply(st, ch, 1, res, NULL, err), STORE_EINVAL,
	    "invalid NAPTR refused");
	like(err, "NAPTR record 1", "error names the record");
	sip_entry(&ch[0].entry, "+1555000");
	is_int(store_apply(st, ch, 1, res, NULL, err), STORE_ENOZONE,
	    "number without zone refused");

	/* Replace and remove. */
	ch[0].op = STORE_REPLACE;
	sip_entry(&ch[0].entry, "+4631000001");
	strcpy(ch[0].entry.naptr[0].regexp, "!^.*$!sip:moved@ims.example.net!");
	is_int(store_apply(st, ch, 1, res, NULL, err), STORE_OK, "replace");
	ok(store_get_number(st, "+4631000001", &got, err) == STORE_OK &&
	    strcmp(got.naptr[0].regexp, "!^.*$!sip:moved@ims.example.net!") == 0,
	    "replaced record read back");
	is_str(got.zone, "6.4.e164.arpa", "read back names the zone");
	ch[0].op = STORE_REPLACE;
	sip_entry(&ch[0].entry, "+4631000077");
	is_int(store_apply(st, ch, 1, res, NULL, err), STORE_ENOENT,
	    "replace of a missing number refused");
	ch[0].op = STORE_REMOVE;
	memset(&ch[0].entry, 0, sizeof(ch[0].entry));
	strcpy(ch[0].entry.e164, "+4631000002");
	is_int(store_apply(st, ch, 1, res, NULL, err), STORE_OK, "remove");
	is_int(res[0].serial, 104, "remove bumps the serial");
	is_int(store_apply(st, ch, 1, res, NULL, err), STORE_ENOENT,
	    "remove of a missing number refused");

	ok(store_journal_read(st, 0, 100, &rows, &n, err) == STORE_OK,
	    "read journal");
	is_int(n, 4, "four journal rows (add, add, replace, remove)");
	if (n == 4) {
		is_str(rows[0].op, "add", "row 1 is add");
		is_str(rows[2].op, "replace", "row 3 is replace");
		is_str(rows[3].op, "remove", "row 4 is remove");
		is_str(rows[3].e164, "+4631000002", "row 4 names the number");
		is_int(rows[3].serial, 104, "row 4 carries the new serial");
		like(rows[2].records, "sip:moved@", "replace row carries the records");
	}
	store_journal_free(rows, n);
	ok(store_journal_read(st, 3, 100, &rows, &n, err) == STORE_OK && n == 1 &&
	    rows[0].seq == 4, "journal after position 3");
	store_journal_free(rows, n);
	{
		int64_t first = -1, last = -1;

		ok(store_journal_bounds(st, &first, &last, err) == STORE_OK &&
		    first == 1 && last == 4, "journal bounds 1..4");
		ok(sqlite3_exec(store_handle(st), "DELETE FROM journal WHERE"
		    " seq < 3", NULL, NULL, NULL) == SQLITE_OK &&
		    store_journal_bounds(st, &first, &last, err) == STORE_OK &&
		    first == 3 && last == 4, "trimmed to 3..4: bounds 3..4");
		ok(sqlite3_exec(store_handle(st), "DELETE FROM journal", NULL,
		    NULL, NULL) == SQLITE_OK &&
		    store_journal_bounds(st, &first, &last, err) == STORE_OK &&
		    first == 5 && last == 4, "all trimmed: first 5, last still"
		    " 4");
	}

	ok(store_set_parameter(st, "ttl", "3600", err) == STORE_OK, "set parameter");
	{
		char v[64];
		ok(store_get_parameter(st, "ttl", v, sizeof(v), err) == STORE_OK &&
		    strcmp(v, "3600") == 0, "read parameter");
		ok(store_identity(st, v, sizeof(v), err) == STORE_OK &&
		    strlen(v) == 32, "database has a 32-hex uuid");
	}
	store_close(st);
}

static void
test_serial_wrap(void)
{
	char err[ENUMDR_ERRLEN];
	struct store_change ch;
	struct store_change_result res;
	struct store *st;

	ok(store_open(":memory:", STORE_CREATE, &st, err) == STORE_OK, "open");
	store_add_zone(st, "1.e164.arpa", 4294967295u, err);
	memset(&ch, 0, sizeof(ch));
	ch.op = STORE_ADD;
	sip_entry(&ch.entry, "+15550001");
	is_int(store_apply(st, &ch, 1, &res, NULL, err), STORE_OK, "add at max serial");
	is_int(res.serial, 0, "serial wraps from 4294967295 to 0 (RFC 1982)");
	store_close(st);
}

static void
test_not_a_database(void)
{
	char err[ENUMDR_ERRLEN], path[] = "/tmp/enumdr-test-XXXXXX";
	struct store *st;
	int fd = mkstemp(path);

	ok(fd >= 0 && write(fd, "this is not sqlite\n", 19) == 19, "garbage file");
	close(fd);
	ok(store_open(path, 0, &st, err) != STORE_OK, "garbage refused");
	like(err, path, "error names the file");
	unlink(path);
	ok(store_open("/nonexistent/dir/x.db", STORE_CREATE, &st, err) != STORE_OK,
	    "unwritable path refused");
	like(err, "/nonexistent/dir/x.db", "error names the path");
}

/* store_zones: one call for every reader of the zone list. */
static void
test_zones(void)
{
	char err[ENUMDR_ERRLEN], path[] = "/tmp/enumdr-test-zones-XXXXXX";
	struct store_change c;
	struct zone_info *z = NULL;
	struct store *st, *snap;
	int64_t journal = -1;
	size_t n = 0;
	int fd;

	if ((fd = mkstemp(path)) == -1) {
		ok(0, "mkstemp");
		return;
	}
	close(fd);
	unlink(path);
	if (store_open(path, STORE_CREATE, &st, err) != STORE_OK) {
		diag("open %s: %s", path, err);
		ok(0, "open a database for store_zones");
		return;
	}
	store_add_zone(st, "7.4.e164.arpa", 5, err);
	store_add_zone(st, "6.4.e164.arpa", 17, err);
	memset(&c, 0, sizeof(c));
	c.op = STORE_ADD;
	sip_entry(&c.entry, "+46701");
	ok(store_apply(st, &c, 1, NULL, NULL, err) == STORE_OK, "one number");

	ok(store_zones(st, 0, 0, &z, &n, &journal, err) == STORE_OK,
	    "store_zones without the count");
	is_int(n, 2, "both zones");
	if (n == 2) {
		is_str(z[0].origin, "6.4.e164.arpa", "in origin order");
		is_int(z[0].serial, 18, "serial after the change");
		is_str(z[0].prefix, "46", "prefix");
		is_int(z[0].numbers, -1, "numbers not counted");
		ok(strlen(z[0].updated_at) == 20, "updated_at read");
	}
	is_int(journal, 1, "journal position of the same read");
	free(z);
	ok(store_zones(st, STORE_ZONES_COUNT, 0, &z, &n, NULL, err) ==
	    STORE_OK && n == 2 && z[0].numbers == 1 && z[1].numbers == 0,
	    "STORE_ZONES_COUNT counts each zone's numbers");
	free(z);
	ok(store_zones(st, 0, 1, &z, &n, NULL, err) == STORE_EIO &&
	    z == NULL && n == 0, "more zones than max: refused");
	like(err, "more than 1 zones", "error says the limit");
	store_close(st);

	/* a snapshot copy: read-only, no schema-version check */
	ok(store_open(path, STORE_READONLY | STORE_SNAPSHOT, &snap, err) ==
	    STORE_OK, "open as a snapshot");
	if (snap != NULL) {
		ok(store_zones(snap, 0, 0, &z, &n, &journal, err) ==
		    STORE_OK && n == 2 && journal == 1,
		    "store_zones on the snapshot");
		free(z);
		store_close(snap);
	}
	unlink(path);
}

int
main(void)
{
	test_validation();
	test_format_roundtrip();
	test_changes();
	test_serial_wrap();
	test_not_a_database();
	test_zones();
	return tap_done();
}
