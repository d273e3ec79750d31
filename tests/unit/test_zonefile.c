/*
 * test_zonefile.c — the foreground load (S0.6): zone files written from the
 * database carry the zone serial and exactly its numbers, with owner names
 * relative to the zone, SOA/NS from the parameter table; their ZONEMD
 * (RFC 8976) is checked by an independent implementation, a real knotd on
 * loopback (zonemd-verify, zonemd-generate), which also interprets the
 * catalog zone (RFC 9432).  The knotd part is skipped without knotd and
 * kdig, except under CI=true.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnsupdate.h"
#include "naptr.h"
#include "store.h"
#include "tap.h"
#include "testsys.h"
#include "util.h"
#include "zonefile.h"

/* Add a number; 0, or -1 (and a diagnostic unless quiet). */
static int
add_number(struct store *st, const char *e164, const char *naptr, int quiet)
{
	struct store_change ch;
	char err[ENUMDR_ERRLEN];

	memset(&ch, 0, sizeof(ch));
	ch.op = STORE_ADD;
	strlcpy_(ch.entry.e164, e164, sizeof(ch.entry.e164));
	if (naptr_parse(naptr, ch.entry.naptr, &ch.entry.nnaptr, err) ||
	    store_apply(st, &ch, 1, NULL, NULL, err) != STORE_OK) {
		if (!quiet)
			diag("add %s: %s", e164, err);
		return -1;
	}
	return 0;
}

static void
add(struct store *st, const char *e164, const char *naptr)
{
	add_number(st, e164, naptr, 0);
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

/* ---- ZONEMD, SOA, catalog: without a DNS server ------------------------ */

/* The ZONEMD line of a zone file's text: its serial and digest. */
static int
zonemd_of(const char *text, unsigned long *serial, char *hex, size_t hexlen)
{
	const char *z = strstr(text, "\n@\tZONEMD\t");
	unsigned scheme, alg;
	char end;

	/* one, the last line */
	if (hexlen < 200 || z == NULL || strstr(z + 1, "ZONEMD") != z + 3 ||
	    strchr(z + 1, '\n') != text + strlen(text) - 1)
		return -1;
	if (sscanf(z + 10, "%lu %u %u %199s%c", serial, &scheme, &alg, hex,
	    &end) != 5 || scheme != 1 || alg != 1 || end != '\n')
		return -1;
	return 0;
}

static char *
read_zone(const char *dir, const char *origin)
{
	char path[PATH_MAX], err[ENUMDR_ERRLEN], *text = NULL;

	snprintf(path, sizeof(path), "%s/%s.zone", dir, origin);
	if (util_read_file(path, 64 << 20, &text, NULL, err) == -1)
		diag("%s", err);
	return text;
}

static void
test_zonemd_file(const char *dir)
{
	char err[ENUMDR_ERRLEN], hex[200], hex2[200];
	unsigned long serial = 0;
	struct zonefile_result *res = NULL;
	struct store *st;
	char *text;
	size_t n, i;

	if (store_open(":memory:", STORE_CREATE, &st, err) != STORE_OK) {
		ok(0, "store for ZONEMD");
		return;
	}
	store_add_zone(st, "6.4.e164.arpa", 41, err);
	add(st, "+4681234", good_naptr);
	ok(zonefile_write(st, dir, NULL, ZONEFILE_ZONEMD, &res, &n, err) == 0,
	    "ZONEMD: a zone file with its digest");
	ok(n == 1 && res[0].serial == 42 && res[0].numbers == 1,
	    "  the result as without ZONEMD");
	free(res);
	text = read_zone(dir, "6.4.e164.arpa");
	ok(text != NULL && zonemd_of(text, &serial, hex, sizeof(hex)) == 0,
	    "  one apex ZONEMD line, scheme 1 hash 1, at the end");
	is_int(serial, 42, "  ZONEMD serial = the SOA serial");
	is_int(strlen(hex), 96, "  a SHA-384 digest: 96 hex digits");
	for (i = 0; hex[i]; i++)
		if (!isxdigit((unsigned char)hex[i]) ||
		    isupper((unsigned char)hex[i]))
			break;
	is_int(i, 96, "  lowercase hex");
	free(text);

	ok(zonefile_write(st, dir, NULL, ZONEFILE_ZONEMD, NULL, NULL, err) ==
	    0, "the same zone again");
	text = read_zone(dir, "6.4.e164.arpa");
	ok(text && zonemd_of(text, &serial, hex2, sizeof(hex2)) == 0 &&
	    strcmp(hex, hex2) == 0, "  the same digest");
	free(text);
	add(st, "+46812345", good_naptr);
	ok(zonefile_write(st, dir, NULL, ZONEFILE_ZONEMD, NULL, NULL, err) ==
	    0, "one more number");
	text = read_zone(dir, "6.4.e164.arpa");
	ok(text && zonemd_of(text, &serial, hex2, sizeof(hex2)) == 0 &&
	    strcmp(hex, hex2) != 0 && serial == 43, "  another digest");
	free(text);

	ok(zonefile_write_all(st, dir, NULL, NULL, NULL, err) == 0,
	    "zonefile_write_all");
	text = read_zone(dir, "6.4.e164.arpa");
	ok(text && strstr(text, "ZONEMD") == NULL, "  writes no ZONEMD");
	free(text);
	ok(zonefile_write(st, dir, NULL, 0x80, NULL, NULL, err) == -1,
	    "an unknown flag is refused");
	like(err, "unknown flags 0x80", "  err says so");

	/* What the shape check lets through but the digest's parser does
	 * not: refused, nothing replaced. */
	sqlite3_exec(store_handle(st), "INSERT INTO number VALUES ('+46999',"
	    " '6.4.e164.arpa', '100 10 \"u+\" \"E2U+sip\" \"!^.*$!sip:a@b!\" .',"
	    " '2026-12-02T00:00:00Z')", NULL, NULL, NULL);
	ok(zonefile_write(st, dir, NULL, ZONEFILE_ZONEMD, NULL, NULL, err) ==
	    -1, "ZONEMD: a record naptr_parse refuses is refused");
	like(err, "number +46999", "  err names the number");
	text = read_zone(dir, "6.4.e164.arpa");
	ok(text && strstr(text, "+46999") == NULL && strstr(text, "9.9.9") ==
	    NULL, "  the file in place is unchanged");
	free(text);
	sqlite3_exec(store_handle(st), "DELETE FROM number WHERE e164 ="
	    " '+46999'", NULL, NULL, NULL);

	/* A relative name that is too long once the origin is appended. */
	{
		char naptr[400], label[64];

		memset(label, 'a', 60);
		label[60] = '\0';
		snprintf(naptr, sizeof(naptr), "10 1 \"s\" \"E2U+sip\" \"\""
		    " %s.%s.%s.%s", label, label, label, label);
		add(st, "+46777", naptr);
		ok(zonefile_write(st, dir, NULL, ZONEFILE_ZONEMD, NULL, NULL,
		    err) == -1, "ZONEMD: a replacement longer than 255 bytes"
		    " once absolute is refused");
		like(err, "number +46777", "  err names the number");
	}
	store_close(st);
}

static void
test_soa(void)
{
	char err[ENUMDR_ERRLEN];
	struct dnsupd_soa soa;
	struct store *st;
	uint32_t ttl = 0;

	if (store_open(":memory:", STORE_CREATE, &st, err) != STORE_OK) {
		ok(0, "store for zonefile_soa");
		return;
	}
	store_add_zone(st, "6.4.e164.arpa", 1, err);
	ok(zonefile_soa(st, "6.4.e164.arpa", &soa, &ttl, err) == 0,
	    "zonefile_soa: the defaults");
	is_str(soa.mname, "ns1.6.4.e164.arpa.", "  mname");
	is_str(soa.rname, "hostmaster.6.4.e164.arpa.", "  rname");
	ok(ttl == 3600 && soa.ttl == 3600 && soa.refresh == 3600 &&
	    soa.retry == 600 && soa.expire == 604800 && soa.minimum == 60,
	    "  ttl and timers");
	store_set_parameter(st, "dns.soa_mname", "dns", err);
	store_set_parameter(st, "dns.soa_rname", "Hostmaster.Example.NET.",
	    err);
	store_set_parameter(st, "dns.ttl", "300", err);
	store_set_parameter(st, "dns.soa_expire", "2147483647", err);
	ok(zonefile_soa(st, "6.4.e164.arpa.", &soa, &ttl, err) == 0,
	    "zonefile_soa: parameters, the origin with its final dot");
	is_str(soa.mname, "dns.6.4.e164.arpa.",
	    "  a relative name is relative to the zone, as in the file");
	is_str(soa.rname, "Hostmaster.Example.NET.", "  an absolute name");
	ok(ttl == 300 && soa.ttl == 300 && soa.expire == 2147483647,
	    "  ttl and expire");
	ok(zonefile_soa(st, "6.4.example", &soa, &ttl, err) == -1,
	    "zonefile_soa: not an ENUM zone");
	like(err, "6.4.example", "  err names it");
	store_close(st);
}

static void
test_catalog_file(const char *dir)
{
	struct zone_info z[2];
	char err[ENUMDR_ERRLEN], label[8], *text;

	ok(zonefile_catalog_label("46", label, sizeof(label)) == 0 &&
	    strcmp(label, "p46") == 0, "catalog label: p46");
	ok(zonefile_catalog_label("46", label, 4) == 0, "  fits 4 bytes");
	ok(zonefile_catalog_label("46", label, 3) == -1, "  not 3");
	ok(zonefile_catalog_label("", label, sizeof(label)) == -1,
	    "  no empty prefix");
	ok(zonefile_catalog_label("4a", label, sizeof(label)) == -1,
	    "  only digits");

	memset(z, 0, sizeof(z));
	strlcpy_(z[0].origin, "1.e164.arpa", sizeof(z[0].origin));
	strlcpy_(z[0].prefix, "1", sizeof(z[0].prefix));
	strlcpy_(z[1].origin, "6.4.e164.arpa", sizeof(z[1].origin));
	strlcpy_(z[1].prefix, "46", sizeof(z[1].prefix));
	ok(zonefile_write_catalog(dir, "catalog.enumdr.", z, 2, 1234, err) ==
	    0, "catalog zone written");
	text = read_zone(dir, "catalog.enumdr");
	like(text, "\n$ORIGIN catalog.enumdr.\n", "  origin");
	like(text, "\n@\t0\tSOA\tinvalid. invalid. 1234 3600 600 2147483646"
	    " 0\n@\t0\tNS\tinvalid.\nversion\t0\tTXT\t\"2\"\n", "  SOA, NS,"
	    " version 2");
	like(text, "\np1.zones\t0\tPTR\t1.e164.arpa.\n"
	    "p46.zones\t0\tPTR\t6.4.e164.arpa.\n", "  one PTR per member");
	free(text);
	strlcpy_(z[1].prefix, "47", sizeof(z[1].prefix));
	ok(zonefile_write_catalog(dir, "catalog.enumdr", z, 2, 1235, err) ==
	    -1, "a member whose prefix is not its origin's is refused");
	like(err, "6.4.e164.arpa", "  err names it");
	text = read_zone(dir, "catalog.enumdr");
	like(text, " 1234 ", "  the catalog in place is unchanged");
	free(text);
	ok(zonefile_write_catalog(dir, "../x", z, 1, 1, err) == -1,
	    "a catalog name that is not a domain name is refused");
	like(err, "../x", "  err names it");
}

/* ---- against a real knotd -------------------------------------------- */

static char kdir[] = "/tmp/enumdr-zfknot-XXXXXX";
static int kdir_made, kport;
static pid_t knotd = -1;

static void
knot_stop(void)
{
	int i;

	if (knotd <= 0)
		return;
	kill(knotd, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(knotd, NULL, WNOHANG) == knotd) {
			knotd = -1;
			return;
		}
		usleep(50000);
	}
	kill(knotd, SIGKILL);
	waitpid(knotd, NULL, 0);
	knotd = -1;
}

static void
knot_cleanup(void)
{
	char cmd[PATH_MAX];

	knot_stop();
	if (kdir_made) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", kdir);
		kdir_made = 0;
	}
}

/* The SOA serial knotd serves for zone (kdig ... SOA), -1: none. */
static long
served_serial(const char *zone)
{
	char out[1024], mname[256], rname[256];
	unsigned long serial;

	test_run(out, sizeof(out), "kdig @127.0.0.1 -p %d +short +time=1"
	    " +retry=0 SOA %s 2>/dev/null", kport, zone);
	if (sscanf(out, "%255s %255s %lu", mname, rname, &serial) != 3)
		return -1;
	return (long)serial;
}

/* How many times knotd's log holds needle. */
static int
knot_log_count(const char *needle)
{
	char path[PATH_MAX], err[ENUMDR_ERRLEN], *text = NULL;
	const char *p;
	int n = 0;

	snprintf(path, sizeof(path), "%s/knotd.log", kdir);
	if (util_read_file(path, 16 << 20, &text, NULL, err) == -1)
		return 0;
	for (p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

static int
knot_log_has(const char *needle)
{
	return knot_log_count(needle) > 0;
}

static void
knot_show_log(void)
{
	char cmd[PATH_MAX];

	snprintf(cmd, sizeof(cmd), "sed 's/^/# knotd: /' '%s/knotd.log'",
	    kdir);
	if (system(cmd) != 0)
		diag("no knotd log");
}

/* knotd in the foreground (it dies with us: PR_SET_PDEATHSIG), its log
 * in kdir. */
static int
knot_start(void)
{
	char conf[PATH_MAX], log[PATH_MAX];
	pid_t parent = getpid();
	int fd;

	snprintf(conf, sizeof(conf), "%s/knot.conf", kdir);
	snprintf(log, sizeof(log), "%s/knotd.log", kdir);
	fflush(stdout);
	if ((knotd = fork()) == -1)
		return -1;
	if (knotd == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) !=
		    -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("knotd", "knotd", "-c", conf, (char *)NULL);
		_exit(127);
	}
	return 0;
}

/* The knot.conf: every template reads DIR/ZONE.zone and never writes it;
 * default verifies ZONEMD (and is the catalog's members' template),
 * generate makes knotd keep a ZONEMD itself (journal-content changes, as
 * conf/knot.conf: with none every load would be a change). */
static int
knot_config(void)
{
	static const char *const verify[] = { "9.4.e164.arpa", "6.4.e164.arpa",
	    "7.4.e164.arpa" };
	static const char *const generate[] = { "8.4.e164.arpa",
	    "5.4.e164.arpa" };
	char path[PATH_MAX], common[1024], err[ENUMDR_ERRLEN];
	char *conf;
	size_t i, len = 0, cap = 8192;
	int ret;

	if ((conf = malloc(cap)) == NULL)
		return -1;
	snprintf(common, sizeof(common),
	    "    storage: \"%s\"\n"
	    "    file: \"%%s.zone\"\n"
	    "    zonefile-sync: -1\n"
	    "    zonefile-load: whole\n"
	    "    journal-content: changes\n", kdir);
	len += (size_t)snprintf(conf + len, cap - len,
	    "server:\n"
	    "    rundir: \"%s\"\n"
	    "    listen: 127.0.0.1@%d\n"
	    "log:\n"
	    "  - target: stderr\n"
	    "    any: info\n"
	    "database:\n"
	    "    storage: \"%s/db\"\n"
	    "template:\n"
	    "  - id: default\n%s"
	    "    zonemd-verify: on\n"
	    "  - id: generate\n%s"
	    "    zonemd-generate: zonemd-sha384\n"
	    "zone:\n"
	    "  - domain: catalog.enumdr.\n"
	    "    catalog-role: interpret\n"
	    "    catalog-template: default\n"
	    "    journal-content: none\n"
	    "    zonemd-verify: off\n", kdir, kport, kdir, common, common);
	for (i = 0; i < sizeof(verify) / sizeof(verify[0]); i++)
		len += (size_t)snprintf(conf + len, cap - len,
		    "  - domain: %s.\n", verify[i]);
	for (i = 0; i < sizeof(generate) / sizeof(generate[0]); i++)
		len += (size_t)snprintf(conf + len, cap - len,
		    "  - domain: %s.\n    template: generate\n", generate[i]);
	snprintf(path, sizeof(path), "%s/knot.conf", kdir);
	ret = len < cap ? util_write_file_atomic(path, conf, len, 0600, err) :
	    -1;
	if (ret == -1)
		diag("knot.conf: %s", len < cap ? err : "too long");
	free(conf);
	return ret;
}

/*
 * The big zone: a few hundred numbers under +46 of 1 to 12 more digits,
 * many of them prefixes of others (+467, +4670, ...), with 1 to 3 NAPTR
 * records each from a set that covers the canonical form's corners:
 * uppercase in flags, services and names, an empty flags field, a
 * replacement other than ".", absolute and relative, backslashes and
 * quotes in a regexp; plus a number with a duplicated record, one with
 * 16 records, one with a 255-byte regexp, and the apex (+46).
 */
static const char *const big_records[] = {
	"100 10 \"U\" \"E2U+SIP\" \"!^.*$!sip:{}@Ims.Example!\" .",
	"200 20 \"\" \"E2U+Tel\" \"\" Sip.Example.COM.",
	"10 1 \"S\" \"SIP+D2U\" \"\" _sip._udp.Node{}",
	"102 10 \"u\" \"E2U+tel\" \"!^\\\\+46(.*)$!tel:+46\\\\1;x={}!\" .",
	"50 50 \"u\" \"E2U+sip\" \"!^(.*)$!sip:\\\"{}\\\"@b.example!i\" .",
	"0 65535 \"A\" \"E2U+H323\" \"\" gw{}.example.",
};

/* tmpl with its "{}" (if any) replaced by value. */
static void
fill_in(char *out, size_t outlen, const char *tmpl, const char *value)
{
	const char *at = strstr(tmpl, "{}");

	if (at == NULL)
		snprintf(out, outlen, "%s", tmpl);
	else
		snprintf(out, outlen, "%.*s%s%s", (int)(at - tmpl), tmpl,
		    value, at + 2);
}
#define NBIG_RECORDS (sizeof(big_records) / sizeof(big_records[0]))

static int
fill_big_zone(struct store *st)
{
	char e164[STORE_E164_MAX + 1], text[NAPTR_TEXT_MAX], rec[600];
	char regexp[300];
	unsigned long x = 12345;
	size_t len, k, nrec;
	int i, n = 0, nd, d;

	for (i = 0; n < 300 && i < 2000; i++) {
		/* a chain of prefixes every 10th number, else random digits */
		x = x * 1103515245UL + 12345UL;
		nd = (int)((x >> 8) % 12) + 1;
		if (i % 10 == 0)
			nd = 1 + (i / 10) % 12;
		len = (size_t)snprintf(e164, sizeof(e164), "+46");
		for (d = 0; d < nd; d++) {
			x = x * 1103515245UL + 12345UL;
			e164[len++] = (char)(i % 10 == 0 ? "701234567890"[d] :
			    '0' + (int)((x >> 16) % 10));
		}
		e164[len] = '\0';
		nrec = 1 + (size_t)((x >> 4) % 3);
		len = 0;
		for (k = 0; k < nrec; k++) {
			fill_in(rec, sizeof(rec),
			    big_records[((size_t)i + k * 2) % NBIG_RECORDS],
			    e164 + 1);
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s%s", k ? "\n" : "", rec);
		}
		if (add_number(st, e164, text, 1) == 0)
			n++;
	}
	/* the apex, a duplicate record, 16 records, a 255-byte regexp */
	n += add_number(st, "+46", "100 10 \"U\" \"E2U+SIP\""
	    " \"!^.*$!sip:Operator@Ims.Example!\" .\n"
	    "10 1 \"S\" \"SIP+D2U\" \"\" _sip._udp.Apex", 0) == 0;
	n += add_number(st, "+4699", "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:a@b!\""
	    " .\n10 1 \"S\" \"SIP+D2U\" \"\" Z.example.\n100 10 \"u\" \"E2U+sip\""
	    " \"!^.*$!sip:a@b!\" .", 0) == 0;
	len = 0;
	for (k = 0; k < 16; k++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s%zu %zu \"u\" \"E2U+sip\" \"!^.*$!sip:%zu@b!\" .",
		    k ? "\n" : "", (16 - k) % 5, k, 16 - k);
	n += add_number(st, "+46988", text, 0) == 0;
	memset(regexp, 'x', sizeof(regexp));
	memcpy(regexp, "!^.*$!sip:", 10);
	regexp[253] = '!';
	regexp[254] = 'i';
	regexp[255] = '\0';
	snprintf(text, sizeof(text), "1 1 \"u\" \"E2U+sip\" \"%s\" .", regexp);
	n += add_number(st, "+46987", text, 0) == 0;
	return n;
}

/* Corrupt one hex digit of the ZONEMD digest in the file of origin. */
static int
corrupt_zonemd(const char *dir, const char *origin)
{
	char path[PATH_MAX], err[ENUMDR_ERRLEN], *text, *z;
	size_t len;
	int ret;

	if ((text = read_zone(dir, origin)) == NULL ||
	    (z = strstr(text, "\tZONEMD\t")) == NULL) {
		free(text);
		return -1;
	}
	z += strlen(z) - 2;             /* the last digit, before "\n" */
	*z = *z == '0' ? '1' : '0';
	len = strlen(text);
	snprintf(path, sizeof(path), "%s/%s.zone", dir, origin);
	ret = util_write_file_atomic(path, text, len, 0644, err);
	free(text);
	return ret;
}

static void
test_knotd(void)
{
	static const char *const zones[] = { "9.4.e164.arpa", "6.4.e164.arpa",
	    "7.4.e164.arpa", "8.4.e164.arpa", "5.4.e164.arpa", "1.e164.arpa",
	    "3.3.e164.arpa" };
	char err[ENUMDR_ERRLEN], out[4096], needle[256];
	struct zonefile_result *res = NULL;
	struct zone_info *zi = NULL, members[2];
	long serial[sizeof(zones) / sizeof(zones[0])], got;
	struct store *st;
	size_t i, n = 0, nz = 0, nmembers = 0;
	int64_t deadline;
	int nbig, ready = 0;

	if (mkdtemp(kdir) == NULL || (kport = test_free_port()) == -1) {
		ok(0, "a directory and a port for knotd");
		return;
	}
	kdir_made = 1;
	atexit(knot_cleanup);
	snprintf(out, sizeof(out), "%s/db", kdir);
	if (util_mkdir_p(out, 0700, err) == -1) {
		ok(0, "knotd's database directory");
		return;
	}
	if (store_open(":memory:", STORE_CREATE, &st, err) != STORE_OK) {
		ok(0, "store for knotd");
		return;
	}
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		store_add_zone(st, zones[i], 100 + (uint32_t)i, err);
	store_set_parameter(st, "dns.ns", "ns1.example.net. NS2.Example.NET."
	    " ns3, NS1.EXAMPLE.NET. ns1.example.net.", err);
	store_set_parameter(st, "dns.soa_mname", "NS3", err);
	store_set_parameter(st, "dns.soa_rname", "Hostmaster.Example.NET.",
	    err);
	store_set_parameter(st, "dns.ttl", "300", err);
	nbig = fill_big_zone(st);
	ok(nbig >= 300, "the big zone has a few hundred numbers");
	add(st, "+4781", good_naptr);
	add(st, "+47", good_naptr);
	add(st, "+4812", good_naptr);
	add(st, "+4512", good_naptr);
	add(st, "+15550100", "100 10 \"U\" \"E2U+SIP\""
	    " \"!^\\\\+1(.*)$!sip:\\\\1@B.example!\" .");
	add(st, "+331", good_naptr);
	ok(zonefile_write(st, kdir, NULL, ZONEFILE_ZONEMD, &res, &n, err) ==
	    0, "zone files with ZONEMD for knotd");
	for (i = 0; i < n; i++)
		diag("%s: serial %u, %lld numbers", res[i].origin,
		    res[i].serial, (long long)res[i].numbers);
	free(res);
	/* 5.4 without ZONEMD: zonemd-generate must bump its serial (the
	 * control that the generate case can fail) */
	ok(zonefile_write(st, kdir, "5.4.e164.arpa", 0, NULL, NULL, err) == 0,
	    "5.4 without ZONEMD");
	ok(corrupt_zonemd(kdir, "7.4.e164.arpa") == 0,
	    "7.4: one digit of its digest changed");
	/* the catalog lists 1 and 3.3, served through it only */
	if (store_list_zones(st, &zi, &nz, err) != STORE_OK ||
	    nz != sizeof(zones) / sizeof(zones[0])) {
		ok(0, "the zones for knotd");
		store_close(st);
		return;
	}
	for (i = 0; i < nz; i++)
		if (strcmp(zi[i].origin, "1.e164.arpa") == 0 ||
		    strcmp(zi[i].origin, "3.3.e164.arpa") == 0)
			members[nmembers++] = zi[i];
	ok(nmembers == 2 && zonefile_write_catalog(kdir, "catalog.enumdr",
	    members, nmembers, 77, err) == 0, "the catalog with 2 members");
	ok(knot_config() == 0 && knot_start() == 0, "knotd started");

	/* wait (20 s at most) until every zone is served or refused */
	for (i = 0; i < nz; i++) {
		serial[i] = zi[i].serial;
		if (strcmp(zi[i].origin, "5.4.e164.arpa") == 0)
			serial[i]++;
		if (strcmp(zi[i].origin, "7.4.e164.arpa") == 0)
			serial[i] = -1;
	}
	deadline = util_now_ms() + 20000;
	while (!ready && util_now_ms() < deadline) {
		usleep(100000);
		ready = knot_log_has("[7.4.e164.arpa.] ZONEMD, verification"
		    " failed");
		for (i = 0; i < nz && ready; i++)
			if (serial[i] >= 0 &&
			    served_serial(zi[i].origin) != serial[i])
				ready = 0;
	}
	for (i = 0; i < nz; i++) {
		got = served_serial(zi[i].origin);
		if (strcmp(zi[i].origin, "7.4.e164.arpa") == 0) {
			is_int(got, -1, "knotd refuses 7.4 (a digit of its"
			    " digest changed)");
			ok(knot_log_has("[7.4.e164.arpa.] ZONEMD, verification"
			    " failed"), "  and logs ZONEMD, verification"
			    " failed");
			continue;
		}
		snprintf(needle, sizeof(needle), "knotd serves %s at serial"
		    " %ld%s", zi[i].origin, serial[i],
		    strcmp(zi[i].origin, "5.4.e164.arpa") == 0 ?
		    " (file serial + 1: no ZONEMD, generated)" :
		    strcmp(zi[i].origin, "8.4.e164.arpa") == 0 ?
		    " (the file's: its ZONEMD kept by zonemd-generate)" :
		    strcmp(zi[i].origin, "9.4.e164.arpa") == 0 ?
		    " (empty zone)" : "");
		is_int(got, serial[i], needle);
		if (strcmp(zi[i].origin, "5.4.e164.arpa") == 0 ||
		    strcmp(zi[i].origin, "8.4.e164.arpa") == 0)
			continue;
		snprintf(needle, sizeof(needle), "[%s.] ZONEMD, verification"
		    " successful", zi[i].origin);
		ok(knot_log_has(needle), "  verified by knotd (its log)");
	}
	is_int(knot_log_count("ZONEMD, verification failed"), 1,
	    "only 7.4 failed verification");
	/* zonemd-generate kept the file's ZONEMD, not one of its own */
	{
		char hex[200], *text = read_zone(kdir, "8.4.e164.arpa");
		unsigned long zs;

		test_run(out, sizeof(out), "kdig @127.0.0.1 -p %d +short +time=1"
		    " +retry=0 ZONEMD 8.4.e164.arpa 2>/dev/null | tr -d ' \\n'",
		    kport);
		ok(text != NULL && zonemd_of(text, &zs, hex, sizeof(hex)) ==
		    0 && strlen(out) > 96 && strcasecmp(out + strlen(out) - 96,
		    hex) == 0, "8.4: knotd serves the file's ZONEMD digest");
		if (strlen(out) <= 96 || strcasecmp(out + strlen(out) - 96,
		    hex) != 0)
			diag("served: %s", out);
		free(text);
	}
	/* the records are there, as written */
	like(test_run(out, sizeof(out), "kdig @127.0.0.1 -p %d +short +time=1"
	    " +retry=0 NAPTR 6.4.e164.arpa 2>/dev/null", kport),
	    "100 10 \"U\" \"E2U+SIP\" \"!^.*$!sip:Operator@Ims.Example!\" .",
	    "the apex NAPTR is served");
	like(test_run(out, sizeof(out), "kdig @127.0.0.1 -p %d +short +time=1"
	    " +retry=0 NS 6.4.e164.arpa 2>/dev/null | sort | tr '\\n' ' '",
	    kport), "ns1.example.net. ns2.example.net. ns3.6.4.e164.arpa. ",
	    "three NS, duplicates merged, ns3 relative to the zone");

	/* 7.4 written again, reloaded: now served */
	ok(zonefile_write(st, kdir, "7.4.e164.arpa", ZONEFILE_ZONEMD, NULL,
	    NULL, err) == 0, "7.4 written again with a good digest");
	test_run(out, sizeof(out), "knotc -s %s/knot.sock zone-reload"
	    " 7.4.e164.arpa 2>&1", kdir);
	deadline = util_now_ms() + 10000;
	for (got = -1; got == -1 && util_now_ms() < deadline;) {
		usleep(100000);
		got = served_serial("7.4.e164.arpa");
	}
	ok(got > 0 && knot_log_has("[7.4.e164.arpa.] ZONEMD, verification"
	    " successful"), "  knotd serves it after a reload");
	if (tap_failed)
		knot_show_log();
	knot_stop();
	free(zi);
	store_close(st);
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
	test_zonemd_file(dir);
	test_soa();
	test_catalog_file(dir);

	if (system("command -v knotd >/dev/null && command -v knotc"
	    " >/dev/null && command -v kdig >/dev/null") == 0)
		test_knotd();
	else if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
		ok(0, "knotd, knotc and kdig are installed (CI=true)");
	else
		printf("ok %d # SKIP knotd, knotc or kdig not installed\n",
		    ++tap_n);

	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ok(system(path) == 0, "cleanup");
	return tap_done();
}
