/*
 * test_rowcheck.c — a peer's snapshot is untrusted input (issue 12).  A
 * snapshot whose files are sound (size, SHA-256, quick_check and serial
 * file all match, because the test reseals them after crafting) but that
 * holds one row breaking the store's rules — for each row kind: number,
 * zone, NAPTR text, parameter, zone history, number version, version
 * vector (schema 2), and the schema itself — is refused whole by the
 * import and by the sync (S0.2 step 4), names the row, and leaves the
 * live database exactly as it was; a snapshot at the edge of every rule
 * is imported.  The crafted snapshots are made here from a real export,
 * never stored.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "naptr.h"
#include "sha256.h"
#include "snapshot.h"
#include "store.h"
#include "sync.h"
#include "tap.h"
#include "util.h"

#define ZONE46 "6.4.e164.arpa"
#define ZONE47 "7.4.e164.arpa"
#define GOOD_NAPTR "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:x@ims.example!\" ."
#define NOW "2026-12-02T00:00:00Z"
#define ORIGIN "0123456789abcdef0123456789abcdef"   /* a change's origin */
#define HLC "117713770905600000"   /* (ms << 16): 2026-12-02 */

/* The peer's number versions (schema 2, issue 14): +46100 and +46101
 * live, +46199 removed (a tombstone), +47100 written before schema 2 (no
 * version row); its version vector.  Written with plain SQL: what matters
 * here is what a snapshot may hold. */
#define VERSIONS \
	"INSERT OR REPLACE INTO number_version VALUES" \
	" ('+46100', '" ZONE46 "', '" ORIGIN "', 1, " HLC ", 'P', 0, '" NOW \
	"')," \
	" ('+46101', '" ZONE46 "', '" ORIGIN "', 2, " HLC " + 1, 'P', 0, '" \
	NOW "')," \
	" ('+46199', '" ZONE46 "', '" ORIGIN "', 3, " HLC " + 2, 'P', 1, '" \
	NOW "');" \
	"DELETE FROM number_version WHERE e164 = '+47100';" \
	"INSERT OR REPLACE INTO origin_seen VALUES ('" ORIGIN "', 'P', 3, " \
	HLC " + 2);"
/* A removed number's version row (a tombstone): e164 in zone. */
#define TOMBSTONE(e164, zone) "INSERT INTO number_version VALUES ('" e164 \
	"', '" zone "', '" ORIGIN "', 9, 9, 'P', 1, '" NOW "')"

static char base[] = "/tmp/enumdr-rowcheck-XXXXXX";

static void
join(char *out, const char *a, const char *b)
{
	if (snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX) {
		printf("Bail out! path too long\n");
		exit(1);
	}
}

static void
add(struct store *st, const char *e164)
{
	struct store_change ch;
	char err[ENUMDR_ERRLEN];

	memset(&ch, 0, sizeof(ch));
	ch.op = STORE_ADD;
	strlcpy_(ch.entry.e164, e164, sizeof(ch.entry.e164));
	if (naptr_parse(GOOD_NAPTR, ch.entry.naptr, &ch.entry.nnaptr,
	    err) || store_apply(st, &ch, 1, NULL, NULL, err) != STORE_OK)
		diag("add %s: %s", e164, err);
}

/* Everything a user would compare: every table but the journal's rows. */
static char *
fingerprint(struct store *st)
{
	static const char sql[] = "SELECT group_concat(x, '|') FROM ("
	    "SELECT origin || ' ' || prefix || ' ' || serial AS x FROM zone"
	    " UNION ALL SELECT e164 || ' ' || zone || ' ' || naptr FROM number"
	    " UNION ALL SELECT name || '=' || value FROM parameter"
	    " UNION ALL SELECT zone || ' ' || actor || ' ' || changes FROM"
	    " zone_history"
	    " UNION ALL SELECT e164 || ' ' || zone || ' ' || origin || ' ' ||"
	    " oseq || ' ' || hlc || ' ' || room || ' ' || removed FROM"
	    " number_version"
	    " UNION ALL SELECT origin || ' ' || room || ' ' || oseq || ' ' ||"
	    " hlc FROM origin_seen"
	    " UNION ALL SELECT 'peer_cursor ' || count(*) FROM peer_cursor"
	    " UNION ALL SELECT 'conflict ' || count(*) FROM conflict"
	    " UNION ALL SELECT 'journal ' || count(*) FROM journal)";
	sqlite3_stmt *q;
	char *out = NULL;

	if (sqlite3_prepare_v2(store_handle(st), sql, -1, &q, NULL) !=
	    SQLITE_OK)
		return strdup("?");
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		out = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return out != NULL ? out : strdup("");
}

static int
copy_dir(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX], err[ENUMDR_ERRLEN];

	if (util_mkdir_p(to, 0700, err) == -1)
		return -1;
	join(a, from, SNAPSHOT_DB_NAME);
	join(b, to, SNAPSHOT_DB_NAME);
	if (util_copy_file(a, b, err) == -1)
		return -1;
	join(a, from, SNAPSHOT_SERIALS_NAME);
	join(b, to, SNAPSHOT_SERIALS_NAME);
	return util_copy_file(a, b, err);
}

/* Run sql on the snapshot database of dir, then make the serial file
 * describe the result (size, SHA-256, zones and serials), as an attacker
 * who writes both files would: every file-level check then passes. */
static int
craft(const char *dir, const char *sql)
{
	char db[PATH_MAX], ser[PATH_MAX], err[ENUMDR_ERRLEN], *text = NULL;
	struct serial_zone *keep = NULL;
	size_t nkeep = 0;
	struct serial_file sf;
	sqlite3 *h = NULL;
	sqlite3_stmt *q;
	size_t len, n = 0;
	int ret = -1;

	memset(&sf, 0, sizeof(sf));
	join(db, dir, SNAPSHOT_DB_NAME);
	join(ser, dir, SNAPSHOT_SERIALS_NAME);
	if (sqlite3_open(db, &h) != SQLITE_OK ||
	    sqlite3_exec(h, "PRAGMA ignore_check_constraints = ON;"
	    " PRAGMA foreign_keys = OFF", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		diag("craft: %s: %s", sql, h ? sqlite3_errmsg(h) : "open");
		goto done;
	}
	if (serial_file_read(ser, &sf, err) == -1) {
		diag("craft: %s", err);
		goto done;
	}
	keep = sf.zones;
	nkeep = sf.nzones;
	sf.zones = calloc(64, sizeof(*sf.zones));
	sf.nzones = 0;
	if (sqlite3_prepare_v2(h, "SELECT origin, serial FROM zone ORDER BY"
	    " origin", -1, &q, NULL) != SQLITE_OK)
		goto done;
	while (sqlite3_step(q) == SQLITE_ROW && n < 64) {
		const char *o = (const char *)sqlite3_column_text(q, 0);

		strlcpy_(sf.zones[n].origin, o ? o : "",
		    sizeof(sf.zones[n].origin));
		sf.zones[n].serial = (uint32_t)sqlite3_column_int64(q, 1);
		n++;
	}
	sqlite3_finalize(q);
	sf.nzones = n;
	sqlite3_close(h);
	h = NULL;
	if (sha256_file(db, sf.snapshot_sha256, &sf.snapshot_size, err) ==
	    -1) {
		diag("craft: reseal: %s", err);
		goto done;
	}
	if (serial_file_format(&sf, &text, &len, err) == -1) {
		/* the serial file cannot even name such a zone: keep the old
		 * zone list, only size and checksum match */
		free(sf.zones);
		sf.zones = keep;
		sf.nzones = nkeep;
		keep = NULL;
		if (serial_file_format(&sf, &text, &len, err) == -1) {
			diag("craft: reseal: %s", err);
			goto done;
		}
	}
	if (util_write_file_atomic(ser, text, len, 0600, err) == -1) {
		diag("craft: reseal: %s", err);
		goto done;
	}
	ret = 0;
done:
	if (h != NULL)
		sqlite3_close(h);
	free(text);
	free(keep);
	serial_file_free(&sf);
	return ret;
}

struct hostile {
	const char *what;     /* the defect */
	const char *sql;      /* how the snapshot is crafted */
	const char *row;      /* the row the refusal must name */
	const char *why;      /* and the words of the rule it breaks (file
	                       * level: the zone's name) */
	int file_level;       /* may be refused before the rows are read: the
	                       * serial file or the snapshot's description
	                       * (size, zones, serials) already refuses it */
};

/* Bump zone 6.4's serial and the source's count of changes in its history,
 * so that the sync sees the peer newer and goes to the import. */
#define NEWER "UPDATE zone SET serial = serial + 5 WHERE origin = '" ZONE46 \
	"'; UPDATE zone_history SET changes = changes + 5 WHERE zone = '" \
	ZONE46 "';"

static const struct hostile cases[] = {
	/* numbers */
	{ "number: 150 digits (overflowed the zone-file writer)",
	  NEWER "INSERT INTO number VALUES ('+46' || printf('%.150c', '7'),"
	  " '" ZONE46 "', '" GOOD_NAPTR "', '" NOW "')",
	  "number \"+46777", "e164 is too long", 0 },
	{ "number: \"+46*\" (a wildcard owner)",
	  NEWER "INSERT INTO number VALUES ('+46*', '" ZONE46 "', '"
	  GOOD_NAPTR "', '" NOW "')", "number \"+46*\"", "is not a digit", 0 },
	{ "number: \"+4\" held by 6.4.e164.arpa (owner past the string)",
	  NEWER "INSERT INTO number VALUES ('+4', '" ZONE46 "', '"
	  GOOD_NAPTR "', '" NOW "')", "number \"+4\"", "no zone of the snapshot"
	  " covers it", 0 },
	{ "number: held by a zone that does not cover it",
	  NEWER "INSERT INTO number VALUES ('+4712345', '" ZONE46 "', '"
	  GOOD_NAPTR "', '" NOW "')", "number \"+4712345\"",
	  "belongs to zone " ZONE47, 0 },
	{ "number: held by a zone the snapshot lacks",
	  NEWER "INSERT INTO number VALUES ('+4612345', '9.e164.arpa', '"
	  GOOD_NAPTR "', '" NOW "')", "number \"+4612345\"",
	  "not a zone of the snapshot", 0 },
	{ "number: a blob, not text",
	  NEWER "INSERT INTO number VALUES (x'2B343631', '" ZONE46 "', '"
	  GOOD_NAPTR "', '" NOW "')", "number \"+461\"", "is not text", 0 },
	{ "number: an embedded NUL byte",
	  NEWER "INSERT INTO number VALUES ('+4612' || char(0) || '99', '"
	  ZONE46 "', '" GOOD_NAPTR "', '" NOW "')", "number \"+4612\\x0099\"",
	  "NUL byte", 0 },
	{ "number: the same number twice (no primary key)",
	  NEWER "ALTER TABLE number RENAME TO n_old; CREATE TABLE number"
	  " (e164 TEXT, zone TEXT, naptr TEXT, updated_at TEXT);"
	  " INSERT INTO number SELECT * FROM n_old; INSERT INTO number"
	  " SELECT * FROM n_old LIMIT 1; DROP TABLE n_old",
	  "number \"+46", "appears twice", 0 },
	{ "number: updated_at is not a time",
	  NEWER "UPDATE number SET updated_at = 'yesterday' WHERE e164 ="
	  " (SELECT min(e164) FROM number)", "number \"+46", "updated_at", 0 },
	/* NAPTR texts */
	{ "NAPTR: text ending in \"(\" (the zone would not load)",
	  NEWER "UPDATE number SET naptr = naptr || ' (' WHERE e164 ="
	  " '+46100'", "number \"+46100\"", "unexpected text after", 0 },
	{ "NAPTR: a second raw line (record injection)",
	  NEWER "UPDATE number SET naptr = naptr || char(10) || '* A 6.6.6.6'"
	  " WHERE e164 = '+46100'", "number \"+46100\"", "NAPTR record 2", 0 },
	{ "NAPTR: not the canonical text",
	  NEWER "UPDATE number SET naptr = replace(naptr, ' 10 ', '  10 ')"
	  " WHERE e164 = '+46100'", "number \"+46100\"", "canonical form", 0 },
	{ "NAPTR: an empty service",
	  NEWER "UPDATE number SET naptr = replace(naptr, '\"E2U+sip\"', '\"\"')"
	  " WHERE e164 = '+46100'", "number \"+46100\"", "service is empty", 0 },
	{ "NAPTR: a control byte in the regexp",
	  NEWER "UPDATE number SET naptr = replace(naptr, 'sip:', 'sip:' ||"
	  " char(13)) WHERE e164 = '+46100'", "number \"+46100\"",
	  "non-printable", 0 },
	/* zones */
	{ "zone: not digit labels under e164.arpa",
	  "INSERT INTO zone VALUES ('x.e164.arpa', 'x', 1, '" NOW "')",
	  "zone \"x.e164.arpa\"", "x.e164.arpa", 1 },
	{ "zone: prefix is not the origin's digits",
	  "UPDATE zone SET prefix = '4' WHERE origin = '" ZONE46 "'",
	  "zone \"" ZONE46 "\"", "is not the origin's digits", 0 },
	{ "zone: serial out of range",
	  "UPDATE zone SET serial = -1 WHERE origin = '" ZONE46 "'",
	  "zone \"" ZONE46 "\"", ZONE46, 1 },
	{ "zone: capitals (not canonical)",
	  "UPDATE zone SET origin = '7.4.E164.ARPA' WHERE origin = '" ZONE47
	  "'", "zone \"7.4.E164.ARPA\"", "7.4.E164.ARPA", 1 },
	/* parameters */
	{ "parameter: dns.soa_rname holding a newline (record injection)",
	  "INSERT INTO parameter VALUES ('dns.soa_rname', 'h.example.' ||"
	  " char(10) || '*  A  6.6.6.6')", "parameter \"dns.soa_rname\"",
	  "control", 0 },
	{ "parameter: dns.ttl that is not a number",
	  "INSERT INTO parameter VALUES ('dns.ttl', '1 IN A 6.6.6.6')",
	  "parameter \"dns.ttl\"", "not a decimal", 0 },
	{ "parameter: an unknown DNS parameter",
	  "INSERT INTO parameter VALUES ('dns.soa_serial', '7')",
	  "parameter \"dns.soa_serial\"", "unknown DNS parameter", 0 },
	{ "parameter: a name with a space",
	  "INSERT INTO parameter VALUES ('my name', 'x')",
	  "parameter \"my name\"", "[a-z0-9._-]", 0 },
	/* zone histories */
	{ "zone_history: a zone the snapshot lacks",
	  "INSERT INTO zone_history VALUES ('9.e164.arpa', 'ab12', 1)",
	  "zone_history \"9.e164.arpa\"", "not a zone of the snapshot", 0 },
	{ "zone_history: a NULL actor (crashed the comparison)",
	  "ALTER TABLE zone_history RENAME TO h_old; CREATE TABLE"
	  " zone_history (zone, actor, changes); INSERT INTO zone_history"
	  " SELECT * FROM h_old; DROP TABLE h_old; INSERT INTO zone_history"
	  " VALUES ('" ZONE46 "', NULL, 1)",
	  "zone_history \"" ZONE46 "\"", "actor is not text", 0 },
	{ "zone_history: negative changes",
	  "UPDATE zone_history SET changes = -3", "zone_history \"",
	  "changes", 0 },
	/* the schema */
	{ "schema: a view",
	  "CREATE VIEW v AS SELECT 1", "sqlite_schema \"v\"", "view", 0 },
	{ "schema: a trigger",
	  "CREATE TRIGGER t AFTER INSERT ON parameter BEGIN SELECT 1; END",
	  "sqlite_schema \"t\"", "trigger", 0 },
	{ "schema: the number table is missing a column",
	  "ALTER TABLE number DROP COLUMN updated_at", "table \"number\"",
	  "no table number with a column updated_at", 0 },
	/* number versions (schema 2) */
	{ "number_version: \"+46*\"", TOMBSTONE("+46*", ZONE46),
	  "number_version \"+46*\"", "is not a digit", 0 },
	{ "number_version: a blob, not text",
	  "INSERT INTO number_version VALUES (x'2B343631', '" ZONE46 "', '"
	  ORIGIN "', 9, 9, 'P', 1, '" NOW "')", "number_version \"+461\"",
	  "e164 is not text", 0 },
	{ "number_version: held by a zone that does not cover it",
	  TOMBSTONE("+4712345", ZONE46), "number_version \"+4712345\"",
	  "belongs to zone " ZONE47, 0 },
	{ "number_version: held by a zone the snapshot lacks",
	  TOMBSTONE("+4612345", "9.e164.arpa"), "number_version \"+4612345\"",
	  "not a zone of the snapshot", 0 },
	{ "number_version: no zone covers it",
	  TOMBSTONE("+4", ZONE46), "number_version \"+4\"",
	  "no zone of the snapshot covers it", 0 },
	{ "number_version: origin in capitals",
	  "UPDATE number_version SET origin = upper(origin) WHERE e164 ="
	  " '+46100'", "number_version \"+46100\"",
	  "origin is not a database uuid", 0 },
	{ "number_version: origin empty",
	  "UPDATE number_version SET origin = '' WHERE e164 = '+46100'",
	  "number_version \"+46100\"", "origin is not a database uuid", 0 },
	{ "number_version: oseq 0",
	  "UPDATE number_version SET oseq = 0 WHERE e164 = '+46101'",
	  "number_version \"+46101\"", "oseq is not an integer >= 1", 0 },
	{ "number_version: hlc 0",
	  "UPDATE number_version SET hlc = 0 WHERE e164 = '+46101'",
	  "number_version \"+46101\"", "hlc is not an integer >= 1", 0 },
	{ "number_version: hlc as text",
	  "UPDATE number_version SET hlc = 'soon' WHERE e164 = '+46101'",
	  "number_version \"+46101\"", "hlc is not an integer", 0 },
	{ "number_version: a room name with a space",
	  "UPDATE number_version SET room = 'room a' WHERE e164 = '+46101'",
	  "number_version \"+46101\"", "room is not a room name", 0 },
	{ "number_version: a room name with a dot",
	  "UPDATE number_version SET room = 'room.a' WHERE e164 = '+46101'",
	  "number_version \"+46101\"", "room is not a room name", 0 },
	{ "number_version: a room name of 64 characters",
	  "UPDATE number_version SET room = printf('%.64c', 'r') WHERE e164 ="
	  " '+46101'", "number_version \"+46101\"", "room is too long", 0 },
	{ "number_version: removed 2",
	  "UPDATE number_version SET removed = 2 WHERE e164 = '+46199'",
	  "number_version \"+46199\"", "removed is not 0 or 1", 0 },
	{ "number_version: at is not a time",
	  "UPDATE number_version SET at = 'yesterday' WHERE e164 = '+46199'",
	  "number_version \"+46199\"", "at is not a UTC time", 0 },
	{ "number_version: not removed, but no such number",
	  "UPDATE number_version SET removed = 0 WHERE e164 = '+46199'",
	  "number_version \"+46199\"", "removed is 0 but the snapshot has"
	  " no such number in zone " ZONE46, 0 },
	{ "number_version: the same number twice (no primary key)",
	  "ALTER TABLE number_version RENAME TO v_old; CREATE TABLE"
	  " number_version (e164, zone, origin, oseq, hlc, room, removed, at);"
	  " INSERT INTO number_version SELECT * FROM v_old; INSERT INTO"
	  " number_version SELECT * FROM v_old WHERE e164 = '+46101';"
	  " DROP TABLE v_old", "number_version \"+46101\"", "appears twice",
	  0 },
	{ "schema: number_version is missing a column",
	  "ALTER TABLE number_version DROP COLUMN hlc",
	  "table \"number_version\"", "no table number_version with a column"
	  " hlc", 0 },
	{ "schema: number_version is a view",
	  "DROP TABLE number_version; CREATE VIEW number_version AS SELECT"
	  " e164, zone, '" ORIGIN "' AS origin, 1 AS oseq, 1 AS hlc, 'P' AS"
	  " room, 0 AS removed, updated_at AS at FROM number",
	  "sqlite_schema \"number_version\"", "view", 0 },
	/* the version vector (schema 2) */
	{ "origin_seen: origin not a uuid",
	  "UPDATE origin_seen SET origin = 'not-a-uuid' WHERE origin = '"
	  ORIGIN "'",
	  "origin_seen \"not-a-uuid\"", "origin is not a database uuid", 0 },
	{ "origin_seen: origin a blob",
	  "INSERT INTO origin_seen VALUES (x'3132', 'P', 1, 1)",
	  "origin_seen \"12\"", "origin is not text", 0 },
	{ "origin_seen: a room name with a slash",
	  "UPDATE origin_seen SET room = '../P' WHERE origin = '" ORIGIN "'",
	  "origin_seen \"" ORIGIN "\"",
	  "room is not a room name", 0 },
	{ "origin_seen: oseq 0",
	  "UPDATE origin_seen SET oseq = 0 WHERE origin = '" ORIGIN "'",
	  "origin_seen \"" ORIGIN "\"",
	  "oseq is not an integer >= 1", 0 },
	{ "origin_seen: negative hlc",
	  "UPDATE origin_seen SET hlc = -1 WHERE origin = '" ORIGIN "'",
	  "origin_seen \"" ORIGIN "\"",
	  "hlc is not an integer >= 0", 0 },
	{ "origin_seen: a real hlc",
	  "UPDATE origin_seen SET hlc = 1.5 WHERE origin = '" ORIGIN "'",
	  "origin_seen \"" ORIGIN "\"",
	  "hlc is not an integer >= 0", 0 },
	{ "origin_seen: the same origin twice (no primary key)",
	  "ALTER TABLE origin_seen RENAME TO s_old; CREATE TABLE origin_seen"
	  " (origin, room, oseq, hlc); INSERT INTO origin_seen SELECT * FROM"
	  " s_old; INSERT INTO origin_seen VALUES ('" ORIGIN "', 'Q', 1, 1);"
	  " DROP TABLE s_old", "origin_seen \"" ORIGIN "\"", "appears twice",
	  0 },
	{ "schema: no origin_seen table",
	  "DROP TABLE origin_seen", "table \"origin_seen\"",
	  "no table origin_seen with a column origin", 0 },
	/* another schema version: refused by the description check, with
	 * what to do */
	{ "schema: a snapshot of schema 1 (exported before the upgrade)",
	  "DROP TABLE number_version; DROP TABLE origin_seen; DROP TABLE"
	  " peer_cursor; DROP TABLE conflict; ALTER TABLE journal DROP COLUMN"
	  " txn; ALTER TABLE journal DROP COLUMN origin; ALTER TABLE journal"
	  " DROP COLUMN oseq; ALTER TABLE journal DROP COLUMN hlc; ALTER TABLE"
	  " journal DROP COLUMN room; ALTER TABLE journal DROP COLUMN"
	  " prev_origin; ALTER TABLE journal DROP COLUMN prev_oseq; ALTER TABLE"
	  " journal DROP COLUMN flags; UPDATE database_identity SET"
	  " schema_version = 1", "", "snapshot of schema 1, this program reads"
	  " schema 2: export it again with the upgraded agent", 1 },
	{ "schema: a snapshot of schema 3",
	  "UPDATE database_identity SET schema_version = 3", "",
	  "snapshot of schema 3, this program reads schema 2: upgrade this"
	  " program", 1 },
	{ "schema: the journal is missing a schema 2 column",
	  "ALTER TABLE journal DROP COLUMN txn", "table \"journal\"",
	  "no table journal with a column txn", 0 },
};

/* Snapshots that break no rule: each is imported (all zones, and zone 7.4
 * alone), so that every rule above refuses only what it should. */
static const struct {
	const char *what;
	const char *sql;
} good_cases[] = {
	{ "a tombstone with oseq 1, hlc 1 and a room of - and _",
	  "INSERT INTO number_version VALUES ('+46150', '" ZONE46 "', '"
	  ORIGIN "', 1, 1, 'room_B-2', 1, '" NOW "')" },
	{ "versions and a vector entry of a store whose room was never set",
	  "UPDATE number_version SET room = '' WHERE e164 = '+46101';"
	  " INSERT INTO origin_seen VALUES ('fedcba9876543210fedcba9876543210',"
	  " '', 1, 1)" },
	{ "a version vector entry with hlc 0",
	  "INSERT INTO origin_seen VALUES ('fedcba9876543210fedcba9876543210',"
	  " 'Q', 1, 0)" },
	{ "numbers without a version row (written before schema 2)",
	  "DELETE FROM number_version WHERE removed = 0" },
	{ "no number versions and no version vector at all",
	  "DELETE FROM number_version; DELETE FROM origin_seen" },
	{ "peer_cursor and conflict rows are local state: not read",
	  "DROP TABLE peer_cursor; CREATE TABLE peer_cursor (peer, room, seq,"
	  " updated_at); INSERT INTO peer_cursor VALUES (x'00ff', 'a room',"
	  " -1, 'x'); DROP TABLE conflict; CREATE TABLE conflict (id, e164);"
	  " INSERT INTO conflict VALUES ('x', '+46*')" },
	{ "no peer_cursor and no conflict table",
	  "DROP TABLE peer_cursor; DROP TABLE conflict" },
};

int
main(void)
{
	char err[ENUMDR_ERRLEN], src_dir[PATH_MAX], dir[PATH_MAX],
	    path[PATH_MAX], row[ROWCHECK_ROW_MAX], what[256];
	const char *only47[] = { ZONE47 };
	struct sync_report rep;
	struct sync_opts opts;
	struct store *a = NULL, *b = NULL, *c = NULL;
	char *before, *after;
	size_t i;
	int rc;

	if (mkdtemp(base) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	/* the peer (a) and this room (b), b a copy of a's data */
	join(path, base, "a.db");
	ok(store_open(path, STORE_CREATE, &a, err) == STORE_OK, "peer store");
	join(path, base, "b.db");
	ok(store_open(path, STORE_CREATE, &b, err) == STORE_OK, "own store");
	if (a == NULL || b == NULL)
		return tap_done();
	store_add_zone(a, ZONE46, 100, err);
	store_add_zone(a, ZONE47, 200, err);
	add(a, "+46100");
	add(a, "+46101");
	add(a, "+47100");
	ok(store_set_parameter(a, "dns.ns", "ns1.example.net.", err) ==
	    STORE_OK, "peer: parameter dns.ns");
	ok(sqlite3_exec(store_handle(a), VERSIONS, NULL, NULL, NULL) ==
	    SQLITE_OK, "peer: number versions and version vector");
	join(src_dir, base, "snap");
	ok(snapshot_export(a, src_dir, "P", NULL, err) == 0, "peer: export");
	ok(snapshot_import(b, src_dir, NULL, 0, err) == 0,
	    "own room starts as a copy of the peer");

	/* control: a resealed but unchanged copy is accepted, so every
	 * refusal below is the row's doing, not the reseal's */
	join(dir, base, "control");
	ok(copy_dir(src_dir, dir) == 0 && craft(dir, NEWER) == 0,
	    "control: crafted copy with only a newer serial");
	memset(&opts, 0, sizeof(opts));
	join(path, base, "quarantine");
	opts.quarantine_dir = path;
	opts.dry_run = 1;
	ok(sync_run(b, dir, &opts, &rep, err) == 0 &&
	    rep.outcome == SYNC_PEER_NEWER, "control: the sync sees the peer"
	    " newer (dry run)");
	sync_report_free(&rep);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hostile *h = &cases[i];

		snprintf(dir, sizeof(dir), "%s/case%zu", base, i);
		if (copy_dir(src_dir, dir) == -1 || craft(dir, h->sql) == -1) {
			ok(0, h->what);
			continue;
		}
		before = fingerprint(b);

		row[0] = '\0';
		rc = snapshot_import_checked(b, dir, NULL, 0, row, sizeof(row),
		    err);
		snprintf(what, sizeof(what), "%s: import refused", h->what);
		if (h->file_level) {
			/* the zone (or the schema version) named, by
			 * whatever check saw it first */
			ok(rc != 0, what);
			like(err, h->why, "  the refusal says why");
		} else {
			is_int(rc, SNAPSHOT_EINVALID, what);
			like(row, h->row, "  the refusal names the row");
			like(err, h->why, "  and the rule it breaks");
			like(err, "refused", "  and says the snapshot is"
			    " refused");
		}

		/* only zone 7.4: the snapshot is still refused whole */
		row[0] = '\0';
		rc = snapshot_import_checked(b, dir, only47, 1, row,
		    sizeof(row), err);
		ok(rc != 0 && (h->file_level || (rc == SNAPSHOT_EINVALID &&
		    row[0] != '\0')),
		    "  a zone-subset import of it is refused too");

		memset(&opts, 0, sizeof(opts));
		opts.quarantine_dir = path;
		rc = sync_run(b, dir, &opts, &rep, err);
		if (h->file_level) {
			ok(rc == -1, "  the sync refuses it");
			like(err, h->why, "  and says why");
		} else
			/* whatever the outcome would have been (peer newer
			 * or not), before the comparison reads a row */
			ok(rc == -1 && rep.step ==
			    SYNC_STEP_VALIDATE && strstr(rep.invalid_row, h->row) != NULL,
			    "  the sync fails at step \"validate peer"
			    " snapshot\" naming the row");
		sync_report_free(&rep);

		after = fingerprint(b);
		is_str(after, before, "  the live data are unchanged");
		free(before);
		free(after);
	}

	/* what breaks no rule is imported, whole or one zone */
	join(path, base, "c.db");
	ok(store_open(path, STORE_CREATE, &c, err) == STORE_OK,
	    "a third store for the valid snapshots");
	for (i = 0; c != NULL &&
	    i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/good%zu", base, i);
		if (copy_dir(src_dir, dir) == -1 ||
		    craft(dir, good_cases[i].sql) == -1) {
			ok(0, good_cases[i].what);
			continue;
		}
		row[0] = '\0';
		rc = snapshot_import_checked(c, dir, NULL, 0, row, sizeof(row),
		    err);
		snprintf(what, sizeof(what), "%s: imported", good_cases[i].what);
		is_int(rc, 0, what);
		if (rc != 0)
			diag("%s", err);
		rc = snapshot_import_checked(c, dir, only47, 1, row,
		    sizeof(row), err);
		is_int(rc, 0, "  and zone " ZONE47 " alone");
		if (rc != 0)
			diag("%s", err);
	}
	store_close(c);

	/* the same rules at the source: the store refuses such a parameter */
	ok(store_set_parameter(a, "dns.soa_rname", "a.\n* A 1.2.3.4", err) ==
	    STORE_EINVAL, "store: a parameter with a newline is refused");
	ok(store_set_parameter(a, "dns.soa_mname", "ns1.example.net.", err) ==
	    STORE_OK, "store: a valid dns.soa_mname is kept");
	ok(naptr_text_valid(GOOD_NAPTR, err) == 0,
	    "store: canonical NAPTR text is valid");

	store_close(a);
	store_close(b);
	snprintf(path, sizeof(path), "rm -rf '%s'", base);
	ok(system(path) == 0, "cleanup");
	return tap_done();
}
