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
	if (store_naptr_parse(naptr, ch.entry.naptr, &ch.entry.nnaptr, err) ||
	    store_apply(st, &ch, 1, NULL, NULL, err) != STORE_OK)
		diag("add %s: %s", e164, err);
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

	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ok(system(path) == 0, "cleanup");
	return tap_done();
}
