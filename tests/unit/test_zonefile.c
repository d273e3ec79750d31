/*
 * test_zonefile.c — the foreground load (S0.6): zone files written from the
 * database carry the zone serial and exactly its numbers, with owner names
 * relative to the zone, SOA/NS from the parameter table.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "naptr.h"
#include "store.h"
#include "tap.h"
#include "util.h"
#include "zonefile.h"

static void
add(struct store *st, const char *e164, const char *naptr)
{
	struct store_change ch;
	char err[ENUMDR_ERRLEN];

	memset(&ch, 0, sizeof(ch));
	ch.op = STORE_ADD;
	strlcpy_(ch.entry.e164, e164, sizeof(ch.entry.e164));
	if (naptr_parse(naptr, ch.entry.naptr, &ch.entry.nnaptr, err) ||
	    store_apply(st, &ch, 1, NULL, NULL, err) != STORE_OK)
		diag("add %s: %s", e164, err);
}

/*
 * Issue 12: the writer trusts nothing it reads.  Rows are put into the
 * database with raw SQL, past the store's checks, as an unchecked import
 * used to leave them; each must be refused with an error naming the number
 * or parameter, no record may reach the zone file, and the file already in
 * place stays as it was (the DNS server keeps serving it).  Before the fix
 * the 150-digit number wrote past a 64-byte stack buffer (ASan
 * stack-buffer-overflow), "+46*" became a wildcard owner, a newline in a
 * parameter added records, and "+4" in 6.4.e164.arpa read past its string.
 */
static const char good_naptr[] =
    "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:a@ims.example!\" .";

static void
hostile_one(const char *dir, const char *what, const char *sql,
    const char *needle)
{
	char err[ENUMDR_ERRLEN], path[PATH_MAX], *before = NULL, *after = NULL;
	struct store *st;
	sqlite3 *db;

	if (store_open(":memory:", STORE_CREATE, &st, err) != STORE_OK) {
		ok(0, "store for a hostile row");
		return;
	}
	store_add_zone(st, "6.4.e164.arpa", 7, err);
	add(st, "+4681234", good_naptr);
	ok(zonefile_write_all(st, dir, "6.4.e164.arpa", NULL, NULL, err) == 0,
	    "hostile rows: a good zone file first");
	snprintf(path, sizeof(path), "%s/6.4.e164.arpa.zone", dir);
	util_read_file(path, 1 << 20, &before, NULL, err);
	db = store_handle(st);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		diag("inject %s: %s", what, sqlite3_errmsg(db));
	ok(zonefile_write_all(st, dir, "6.4.e164.arpa", NULL, NULL, err) == -1,
	    what);
	like(err, needle, "  the error names the row");
	util_read_file(path, 1 << 20, &after, NULL, err);
	ok(before != NULL && after != NULL && strcmp(before, after) == 0,
	    "  the zone file in place is unchanged");
	free(before);
	free(after);
	store_close(st);
}

static void
hostile_rows(const char *dir)
{
	char sql[1024], digits[151];

	memset(digits, '7', 150);
	digits[150] = '\0';
	snprintf(sql, sizeof(sql), "INSERT INTO number VALUES ('+46%s',"
	    " '6.4.e164.arpa', '%s', '2026-12-02T00:00:00Z')", digits,
	    good_naptr);
	hostile_one(dir, "a 150-digit number is refused (no overflow)", sql,
	    "+46777777");
	snprintf(sql, sizeof(sql), "INSERT INTO number VALUES ('+46*',"
	    " '6.4.e164.arpa', '%s', '2026-12-02T00:00:00Z')", good_naptr);
	hostile_one(dir, "\"+46*\" (a wildcard owner) is refused", sql,
	    "+46*");
	snprintf(sql, sizeof(sql), "INSERT INTO number VALUES ('+4',"
	    " '6.4.e164.arpa', '%s', '2026-12-02T00:00:00Z')", good_naptr);
	hostile_one(dir, "\"+4\" held by 6.4.e164.arpa is refused", sql,
	    "does not start with the zone's prefix +46");
	hostile_one(dir, "a NAPTR text ending in \"(\" is refused",
	    "INSERT INTO number VALUES ('+46999', '6.4.e164.arpa', '100 10"
	    " \"u\" \"E2U+sip\" \"!^.*$!sip:a@b!\" . (',"
	    " '2026-12-02T00:00:00Z')", "+46999");
	hostile_one(dir, "a NAPTR text with a second, raw line is refused",
	    "INSERT INTO number VALUES ('+46998', '6.4.e164.arpa', '100 10"
	    " \"u\" \"E2U+sip\" \"!^.*$!sip:a@b!\" .' || char(10) ||"
	    " '* A 6.6.6.6', '2026-12-02T00:00:00Z')", "+46998");
	hostile_one(dir, "a NAPTR field with an unbalanced quote is refused",
	    "INSERT INTO number VALUES ('+46997', '6.4.e164.arpa', '100 10"
	    " \"u\" \"E2U+sip\" \"!^.*$!sip:a\"@b!\" .',"
	    " '2026-12-02T00:00:00Z')", "+46997");
	hostile_one(dir, "a NAPTR order over 65535 is refused",
	    "INSERT INTO number VALUES ('+46996', '6.4.e164.arpa', '70000 10"
	    " \"u\" \"E2U+sip\" \"!^.*$!sip:a@b!\" .',"
	    " '2026-12-02T00:00:00Z')", "+46996");
	hostile_one(dir, "dns.soa_rname holding a newline is refused",
	    "INSERT INTO parameter VALUES ('dns.soa_rname', 'h.example.' ||"
	    " char(10) || '*  A  6.6.6.6')", "dns.soa_rname");
	hostile_one(dir, "dns.ttl that is not a number is refused",
	    "INSERT INTO parameter VALUES ('dns.ttl', '3600 IN A 6.6.6.6')",
	    "dns.ttl");
	hostile_one(dir, "dns.ns with a record in it is refused",
	    "INSERT INTO parameter VALUES ('dns.ns', 'ns1.example. ; x')",
	    "dns.ns");
	hostile_one(dir, "a zone row whose prefix is not its origin's is"
	    " refused", "UPDATE zone SET prefix = '4'", "prefix");
}

int
main(void)
{
	char dir[] = "/tmp/enumdr-zf-XXXXXX", err[ENUMDR_ERRLEN], path[PATH_MAX];
	struct zonefile_result *res;
	struct store *st;
	char *text = NULL;
	size_t n = 0;

	ok(mkdtemp(dir) != NULL, "temp dir");
	ok(store_open(":memory:", STORE_CREATE, &st, err) == STORE_OK, "store");
	store_add_zone(st, "6.4.e164.arpa", 2026112900, err);
	store_add_zone(st, "1.e164.arpa", 5, err);
	add(st, "+4681234", "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:a@ims.example!\" .");
	add(st, "+46", "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:operator@ims.example!\" .");
	add(st, "+15550100", "100 10 \"u\" \"E2U+sip\" \"!^\\\\+1(.*)$!sip:\\\\1@b.example!\" .\n"
	    "102 10 \"u\" \"E2U+tel\" \"!^(.*)$!tel:\\\\1!\" .");
	store_set_parameter(st, "dns.ns", "ns1.example.net. ns2.example.net.", err);

	ok(zonefile_write_all(st, dir, NULL, &res, &n, err) == 0, "write all zones");
	is_int(n, 2, "two zone files");
	if (n == 2) {
		is_str(res[1].origin, "6.4.e164.arpa", "sorted by origin");
		is_int(res[1].serial, 2026112902, "serial after two changes");
		is_int(res[1].numbers, 2, "two numbers in 6.4");
	}
	free(res);
	snprintf(path, sizeof(path), "%s/6.4.e164.arpa.zone", dir);
	ok(util_read_file(path, 1 << 20, &text, NULL, err) == 0, "read 6.4 zone file");
	like(text, "$ORIGIN 6.4.e164.arpa.\n", "origin line");
	like(text, "@\tSOA\tns1.6.4.e164.arpa. hostmaster.6.4.e164.arpa. 2026112902 ", "SOA with serial");
	like(text, "@\tNS\tns1.example.net.\n@\tNS\tns2.example.net.\n", "NS from parameters");
	like(text, "4.3.2.1.8\tNAPTR\t100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:a@ims.example!\" .\n",
	    "number's owner is relative to the zone");
	like(text, "@\tNAPTR\t100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:operator@", "the prefix number is the apex");
	free(text);
	snprintf(path, sizeof(path), "%s/1.e164.arpa.zone", dir);
	ok(util_read_file(path, 1 << 20, &text, NULL, err) == 0, "read 1. zone file");
	like(text, "0.0.1.0.5.5.5\tNAPTR\t100 10 \"u\" \"E2U+sip\" \"!^\\\\+1(.*)$!sip:\\\\1@b.example!\" .\n"
	    "0.0.1.0.5.5.5\tNAPTR\t102 10", "two records, backslashes escaped");
	free(text);

	ok(zonefile_write_all(st, dir, "9.e164.arpa", NULL, NULL, err) == -1,
	    "unknown zone refused");
	like(err, "no zone 9.e164.arpa", "error names the zone");
	ok(zonefile_write_all(st, "/proc/enumdr-no", NULL, NULL, NULL, err) == -1,
	    "unwritable directory refused");
	like(err, "/proc/enumdr-no", "error names the directory");

	hostile_rows(dir);

	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ok(system(path) == 0, "cleanup");
	return tap_done();
}
