/*
 * store.c — the room's SQLite database: schema, validation of numbers,
 * zones and parameters, and every change (S0.1 tables, S0.2 serials, S0.7
 * journal sequence number).  NAPTR records are naptr.c's.  See store.h
 * for the table mapping and the contract.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naptr.h"
#include "rfc1982.h"
#include "rowcheck.h"
#include "store.h"
#include "util.h"

#define BUSY_TIMEOUT_MS 5000

/*
 * Schema 2 (issue 14): every change has an identity (origin database,
 * origin sequence, HLC time, room) carried by the journal; every number,
 * and every removed number (a tombstone), has a number_version row naming
 * the change that last wrote it; origin_seen is the version vector;
 * peer_cursor how far this database has applied each peer's journal;
 * conflict the numbers two rooms changed concurrently.
 */
#define SCHEMA_V2_TABLES \
    "CREATE TABLE IF NOT EXISTS number_version (" \
    " e164 TEXT PRIMARY KEY," \
    " zone TEXT NOT NULL," \
    " origin TEXT NOT NULL," \
    " oseq INTEGER NOT NULL," \
    " hlc INTEGER NOT NULL," \
    " room TEXT NOT NULL," \
    " removed INTEGER NOT NULL CHECK (removed IN (0, 1))," \
    " at TEXT NOT NULL) WITHOUT ROWID;" \
    "CREATE INDEX IF NOT EXISTS number_version_by_zone ON" \
    " number_version(zone, e164);" \
    "CREATE TABLE IF NOT EXISTS origin_seen (" \
    " origin TEXT PRIMARY KEY," \
    " room TEXT NOT NULL," \
    " oseq INTEGER NOT NULL," \
    " hlc INTEGER NOT NULL) WITHOUT ROWID;" \
    "CREATE TABLE IF NOT EXISTS peer_cursor (" \
    " peer TEXT PRIMARY KEY," \
    " room TEXT NOT NULL," \
    " seq INTEGER NOT NULL," \
    " updated_at TEXT NOT NULL) WITHOUT ROWID;" \
    "CREATE TABLE IF NOT EXISTS conflict (" \
    " id INTEGER PRIMARY KEY AUTOINCREMENT," \
    " e164 TEXT NOT NULL," \
    " zone TEXT NOT NULL," \
    " detected_at TEXT NOT NULL," \
    " open INTEGER NOT NULL," \
    " served_origin TEXT NOT NULL, served_oseq INTEGER NOT NULL," \
    " served_hlc INTEGER NOT NULL, served_room TEXT NOT NULL," \
    " served_records TEXT NOT NULL," \
    " other_origin TEXT NOT NULL, other_oseq INTEGER NOT NULL," \
    " other_hlc INTEGER NOT NULL, other_room TEXT NOT NULL," \
    " other_records TEXT NOT NULL," \
    " decided_at TEXT NOT NULL DEFAULT ''," \
    " decision TEXT NOT NULL DEFAULT '');" \
    "CREATE INDEX IF NOT EXISTS conflict_open ON conflict(open, e164);"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS database_identity ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " uuid TEXT NOT NULL,"
    " schema_version INTEGER NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS zone ("
    " origin TEXT PRIMARY KEY,"
    " prefix TEXT NOT NULL UNIQUE,"
    " serial INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),"
    " updated_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS number ("
    " e164 TEXT PRIMARY KEY,"
    " zone TEXT NOT NULL REFERENCES zone(origin),"
    " naptr TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS number_by_zone ON number(zone, e164);"
    "CREATE TABLE IF NOT EXISTS parameter ("
    " name TEXT PRIMARY KEY,"
    " value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS zone_history ("
    " zone TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " changes INTEGER NOT NULL,"
    " PRIMARY KEY (zone, actor)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS journal ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at TEXT NOT NULL,"
    " op TEXT NOT NULL CHECK (op IN ('add','replace','remove','import',"
    "'zone')),"
    " e164 TEXT NOT NULL,"
    " zone TEXT NOT NULL,"
    " serial INTEGER NOT NULL,"
    " records TEXT NOT NULL,"
    " txn INTEGER NOT NULL DEFAULT 0,"
    " origin TEXT NOT NULL DEFAULT '',"
    " oseq INTEGER NOT NULL DEFAULT 0,"
    " hlc INTEGER NOT NULL DEFAULT 0,"
    " room TEXT NOT NULL DEFAULT '',"
    " prev_origin TEXT NOT NULL DEFAULT '',"
    " prev_oseq INTEGER NOT NULL DEFAULT 0,"
    " flags INTEGER NOT NULL DEFAULT 0);"
    SCHEMA_V2_TABLES
    "INSERT OR IGNORE INTO database_identity (id, uuid, schema_version,"
    " created_at) VALUES (1, lower(hex(randomblob(16))), 2,"
    " strftime('%Y-%m-%dT%H:%M:%SZ','now'));";

/* Schema 1 -> 2, in one transaction, by the writer's open. */
static const char migrate_v1_sql[] =
    "BEGIN IMMEDIATE;"
    /* the journal gains columns and the op "zone": a new table */
    "CREATE TABLE journal_v2 ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at TEXT NOT NULL,"
    " op TEXT NOT NULL CHECK (op IN ('add','replace','remove','import',"
    "'zone')),"
    " e164 TEXT NOT NULL,"
    " zone TEXT NOT NULL,"
    " serial INTEGER NOT NULL,"
    " records TEXT NOT NULL,"
    " txn INTEGER NOT NULL DEFAULT 0,"
    " origin TEXT NOT NULL DEFAULT '',"
    " oseq INTEGER NOT NULL DEFAULT 0,"
    " hlc INTEGER NOT NULL DEFAULT 0,"
    " room TEXT NOT NULL DEFAULT '',"
    " prev_origin TEXT NOT NULL DEFAULT '',"
    " prev_oseq INTEGER NOT NULL DEFAULT 0,"
    " flags INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO journal_v2 (seq, at, op, e164, zone, serial, records)"
    " SELECT seq, at, op, e164, zone, serial, records FROM journal;"
    "DROP TABLE journal;"
    "ALTER TABLE journal_v2 RENAME TO journal;"
    SCHEMA_V2_TABLES
"UPDATE database_identity SET schema_version = 2 WHERE id = 1;"
    "COMMIT;";

static void column_text(sqlite3_stmt *q, int col, char *out, size_t outlen);
static void hlc_seen(struct store *st, int64_t hlc);
static enum store_status tx_begin(struct store *st, char *err);
static void tx_rollback(struct store *st, int64_t hlc_before);
static enum store_status tx_commit(struct store *st, char *err);
static void remote_zone_moved(struct store_remote_result *res,
    const char *zone, uint32_t serial, int64_t seq);

/* Prepared statements kept for the life of the connection. */
enum stmt_id {
	ST_ZONE_FOR,
	ST_INSERT_NUMBER,
	ST_UPDATE_NUMBER,
	ST_DELETE_NUMBER,
	ST_BUMP_SERIAL,
	ST_INSERT_JOURNAL,
	ST_BUMP_HISTORY,
	ST_GET_VERSION,
	ST_PUT_VERSION,
	ST_GET_SEEN,
	ST_PUT_SEEN,
	ST_SET_SERIAL,
	ST_UPSERT_NUMBER,
	ST_BUMP_HISTORY_OF,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_ZONE_FOR] = "SELECT origin FROM zone WHERE ?1 LIKE prefix || '%'"
	    " ORDER BY length(prefix) DESC LIMIT 1",
	[ST_INSERT_NUMBER] = "INSERT INTO number (e164, zone, naptr, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[ST_UPDATE_NUMBER] = "UPDATE number SET naptr = ?2, updated_at = ?3"
	    " WHERE e164 = ?1 RETURNING zone",
	[ST_DELETE_NUMBER] = "DELETE FROM number WHERE e164 = ?1 RETURNING zone",
	[ST_BUMP_SERIAL] = "UPDATE zone SET serial = (serial + 1) % 4294967296,"
	    " updated_at = ?2 WHERE origin = ?1 RETURNING serial",
	[ST_INSERT_JOURNAL] = "INSERT INTO journal (at, op, e164, zone, serial,"
	    " records, txn, origin, oseq, hlc, room, prev_origin, prev_oseq,"
	    " flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	    " ?13, ?14)",
	[ST_BUMP_HISTORY] = "INSERT INTO zone_history (zone, actor, changes)"
	    " VALUES (?1, (SELECT uuid FROM database_identity WHERE id = 1), 1)"
	    " ON CONFLICT (zone, actor) DO UPDATE SET changes = changes + 1",
	[ST_GET_VERSION] = "SELECT v.origin, v.oseq, v.hlc, v.room, v.removed,"
	    " v.zone, n.naptr FROM number_version v LEFT JOIN number n"
	    " ON n.e164 = v.e164 WHERE v.e164 = ?1",
	[ST_PUT_VERSION] = "INSERT INTO number_version (e164, zone, origin,"
	    " oseq, hlc, room, removed, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8) ON CONFLICT (e164) DO UPDATE SET zone = excluded.zone,"
	    " origin = excluded.origin, oseq = excluded.oseq, hlc = excluded.hlc,"
	    " room = excluded.room, removed = excluded.removed, at = excluded.at",
	[ST_GET_SEEN] = "SELECT oseq FROM origin_seen WHERE origin = ?1",
	[ST_PUT_SEEN] = "INSERT INTO origin_seen (origin, room, oseq, hlc)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (origin) DO UPDATE SET"
	    " room = excluded.room, oseq = max(oseq, excluded.oseq),"
	    " hlc = max(hlc, excluded.hlc)",
	[ST_SET_SERIAL] = "UPDATE zone SET serial = ?2, updated_at = ?3"
	    " WHERE origin = ?1",
	[ST_UPSERT_NUMBER] = "INSERT INTO number (e164, zone, naptr, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (e164) DO UPDATE SET"
	    " zone = excluded.zone, naptr = excluded.naptr,"
	    " updated_at = excluded.updated_at",
	[ST_BUMP_HISTORY_OF] = "INSERT INTO zone_history (zone, actor, changes)"
	    " VALUES (?1, ?2, 1)"
	    " ON CONFLICT (zone, actor) DO UPDATE SET changes = changes + 1",
};

struct store {
	sqlite3 *db;
	char path[PATH_MAX];
	sqlite3_stmt *stmt[ST_COUNT];
	/* the writer's change identity (issue 14) */
	char uuid[STORE_UUID_MAX];        /* this database */
	char room[STORE_ROOM_MAX];        /* store_set_room */
	int64_t hlc_last;                 /* the newest HLC issued or seen */
	int64_t txn;                      /* journal seq of the open
	                                   * transaction's first row, 0: none */
};

const char *
store_status_name(enum store_status s)
{
	switch (s) {
	case STORE_OK: return "ok";
	case STORE_EINVAL: return "invalid";
	case STORE_ENOZONE: return "no zone";
	case STORE_EEXIST: return "exists";
	case STORE_ENOENT: return "not found";
	case STORE_EBUSY: return "busy";
	case STORE_EFULL: return "disk full";
	case STORE_EIO: return "database error";
	case STORE_EGAP: return "journal gap";
	}
	return "unknown";
}

enum store_status
store_sqlite_error(struct store *st, int rc, const char *what, char *err)
{
	const char *msg = st && st->db ? sqlite3_errmsg(st->db) :
	    sqlite3_errstr(rc);

	errf(err, "%s: %s (%s)", what, msg, st ? st->path : "?");
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_EBUSY;
	case SQLITE_FULL:
		return STORE_EFULL;
	case SQLITE_CONSTRAINT:
		return STORE_EEXIST;
	default:
		return STORE_EIO;
	}
}

sqlite3 *
store_handle(struct store *st)
{
	return st->db;
}

enum store_status
store_read_begin(struct store *st, char *err)
{
	int rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "begin read transaction",
		    err);
	return STORE_OK;
}

void
store_read_end(struct store *st)
{
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
}

void
store_busy_timeout(struct store *st, int ms)
{
	sqlite3_busy_timeout(st->db, ms);
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

enum store_status
store_open(const char *path, int flags, struct store **out, char *err)
{
	struct store *st;
	int oflags, rc, i;
	int memory = path == NULL || *path == '\0' ||
	    strcmp(path, ":memory:") == 0;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		errf(err, "out of memory opening %s", path);
		return STORE_EIO;
	}
	strlcpy_(st->path, memory ? ":memory:" : path, sizeof(st->path));
	if (flags & STORE_READONLY)
		oflags = SQLITE_OPEN_READONLY;
	else if (flags & STORE_CREATE)
		oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	else
		oflags = SQLITE_OPEN_READWRITE;
	oflags |= SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(st->path, &st->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		enum store_status s = store_sqlite_error(st, rc,
		    "open database", err);
		store_close(st);
		return s == STORE_EEXIST ? STORE_EIO : s;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* A peer's snapshot is ATTACHed to this connection on import: its
	 * schema (views, triggers, defaults) may not call functions with
	 * side effects (SQLite "untrusted schema" defence). */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (!(flags & STORE_READONLY)) {
		/* WAL for concurrent readers (checkers, heartbeats);
		 * synchronous=FULL: an acknowledged change survives power loss. */
		rc = sqlite3_exec(st->db, memory ? "PRAGMA synchronous=FULL;" :
		    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
		    NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	rc = sqlite3_exec(st->db, "PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if (flags & STORE_CREATE) {
		rc = sqlite3_exec(st->db, schema_sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	/* A database that is not ours (or not a database) fails here;
	 * a snapshot's caller checks its version itself. */
	if (!(flags & STORE_SNAPSHOT)) {
		sqlite3_stmt *q;
		int version = -1;

		rc = sqlite3_prepare_v2(st->db, "SELECT schema_version FROM"
		    " database_identity WHERE id = 1", -1, &q, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		if (sqlite3_step(q) == SQLITE_ROW)
			version = sqlite3_column_int(q, 0);
		rc = sqlite3_finalize(q);
		if (rc != SQLITE_OK)
			goto fail;
		if (version == 1 && !(flags & STORE_READONLY)) {
			/* Schema 1 -> 2 (issue 14): columns and tables
			 * added, no row rewritten. */
			rc = sqlite3_exec(st->db, migrate_v1_sql, NULL, NULL,
			    NULL);
			if (rc != SQLITE_OK) {
				if (!sqlite3_get_autocommit(st->db))
					sqlite3_exec(st->db, "ROLLBACK", NULL,
					    NULL, NULL);
				goto fail;
			}
			version = STORE_SCHEMA_VERSION;
		}
		if (version != STORE_SCHEMA_VERSION) {
			errf(err, "%s: not an enumdr database of schema version"
			    " %d (found %d)", st->path, STORE_SCHEMA_VERSION,
			    version);
			store_close(st);
			return STORE_EIO;
		}
	}
	for (i = 0; i < ST_COUNT; i++) {
		if (flags & STORE_READONLY)
			break;
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (!(flags & (STORE_READONLY | STORE_SNAPSHOT))) {
		sqlite3_stmt *q;

		/* The writer's change identity: its uuid, and an HLC that
		 * never goes back behind what this database has seen. */
		rc = sqlite3_prepare_v2(st->db, "SELECT uuid, (SELECT"
		    " coalesce(max(hlc), 0) FROM origin_seen) FROM"
		    " database_identity WHERE id = 1", -1, &q, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		if (sqlite3_step(q) == SQLITE_ROW) {
			column_text(q, 0, st->uuid, sizeof(st->uuid));
			st->hlc_last = sqlite3_column_int64(q, 1);
		}
		rc = sqlite3_finalize(q);
		if (rc != SQLITE_OK)
			goto fail;
	}
	*out = st;
	return STORE_OK;
fail:
	{
		enum store_status s = store_sqlite_error(st, rc,
		    "prepare database", err);
		store_close(st);
		return s == STORE_EEXIST ? STORE_EIO : s;
	}
}

void
store_close(struct store *st)
{
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

/* ---- validation ------------------------------------------------------ */

int
store_e164_valid(const char *e164, char *err)
{
	size_t i, len;

	if (e164 == NULL || e164[0] != '+') {
		errf(err, "invalid E.164 number \"%s\": must start with '+'",
		    e164 ? e164 : "");
		return -1;
	}
	len = strlen(e164 + 1);
	if (len < 1 || len > 15) {
		errf(err, "invalid E.164 number \"%s\": must have 1 to 15"
		    " digits after '+' (has %zu characters)", e164, len);
		return -1;
	}
	for (i = 1; e164[i]; i++) {
		if (!isdigit((unsigned char)e164[i])) {
			errf(err, "invalid E.164 number \"%s\": character %zu"
			    " is not a digit", e164, i + 1);
			return -1;
		}
	}
	if (e164[1] == '0') {
		errf(err, "invalid E.164 number \"%s\": a country code"
		    " never starts with 0", e164);
		return -1;
	}
	return 0;
}

int
store_origin_valid(const char *origin, char *prefix_out, char *err)
{
	char digits[STORE_E164_MAX];
	size_t len, nd = 0, i;
	const char *p;

	len = strlen(origin);
	if (len > 0 && origin[len - 1] == '.')
		len--;
	if (len >= STORE_ORIGIN_MAX || len < 11 ||
	    strncasecmp(origin + len - 10, ".e164.arpa", 10) != 0) {
		errf(err, "invalid zone \"%s\": must be digit labels under"
		    " e164.arpa, e.g. 6.4.e164.arpa", origin);
		return -1;
	}
	for (p = origin; p < origin + len - 10; p += 2) {
		if (!isdigit((unsigned char)p[0]) || p[1] != '.' ||
		    nd >= 15) {
			errf(err, "invalid zone \"%s\": labels before"
			    " e164.arpa must be single digits (at most 15)",
			    origin);
			return -1;
		}
		digits[nd++] = p[0];
	}
	if (p != origin + len - 9 || nd == 0) {
		errf(err, "invalid zone \"%s\": must be digit labels under"
		    " e164.arpa", origin);
		return -1;
	}
	if (prefix_out) {
		for (i = 0; i < nd; i++)
			prefix_out[i] = digits[nd - 1 - i];
		prefix_out[nd] = '\0';
	}
	return 0;
}

int
store_e164_to_domain(const char *e164, char *out, size_t outlen)
{
	size_t n = strlen(e164), i, o = 0;

	if (n < 2 || outlen < (n - 1) * 2 + 10)
		return -1;
	for (i = n - 1; i >= 1; i--) {
		out[o++] = e164[i];
		out[o++] = '.';
	}
	memcpy(out + o, "e164.arpa", 10);
	return 0;
}

/* A decimal 0 ... 2147483647 without sign or leading zero (RFC 2181 TTL). */
static int
param_u31_valid(const char *v)
{
	size_t i, len = strlen(v);

	if (len == 0 || len > 10 || (v[0] == '0' && len > 1))
		return 0;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)v[i]))
			return 0;
	return strtoull(v, NULL, 10) <= 2147483647ULL;
}

/* A domain name for SOA/NS data: naptr_domain_valid, and not the root alone. */
static int
param_domain_valid(const char *v)
{
	return strcmp(v, ".") != 0 && naptr_domain_valid(v);
}

/* dns.ns: 1 to 16 domain names separated by spaces or commas. */
static int
param_ns_valid(const char *v, char *err)
{
	char name[256];
	size_t n = 0, len;
	const char *p = v, *end;

	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, " ,");
		len = (size_t)(end - p);
		if (len >= sizeof(name) || ++n > 16) {
			errf(err, "parameter dns.ns: at most 16 names of at"
			    " most 253 bytes each");
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (!param_domain_valid(name)) {
			errf(err, "parameter dns.ns: \"%s\" is not a domain"
			    " name", name);
			return -1;
		}
		p = end;
	}
	if (n == 0) {
		errf(err, "parameter dns.ns: no name server given");
		return -1;
	}
	return 0;
}

int
store_parameter_valid(const char *name, const char *value, char *err)
{
	static const char *const numeric[] = { "dns.ttl", "dns.soa_refresh",
	    "dns.soa_retry", "dns.soa_expire", "dns.soa_minimum" };
	size_t i, len;

	len = strnlen(name, STORE_PARAM_NAME_MAX + 1);
	if (len == 0 || len > STORE_PARAM_NAME_MAX ||
	    !isalnum((unsigned char)name[0])) {
		errf(err, "parameter name \"%.*s\": must be 1 to %d of"
		    " [a-z0-9._-], starting with a letter or digit",
		    STORE_PARAM_NAME_MAX, name, STORE_PARAM_NAME_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' ||
		    c == '-')) {
			errf(err, "parameter name \"%s\": character %zu is not"
			    " one of [a-z0-9._-]", name, i + 1);
			return -1;
		}
	}
	len = strnlen(value, STORE_PARAM_VALUE_MAX + 1);
	if (len > STORE_PARAM_VALUE_MAX) {
		errf(err, "parameter %s: value longer than %d bytes", name,
		    STORE_PARAM_VALUE_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)value[i] < 0x20 ||
		    (unsigned char)value[i] > 0x7e) {
			errf(err, "parameter %s: value has a control or"
			    " non-ASCII byte at position %zu", name, i + 1);
			return -1;
		}
	}
	if (strncmp(name, "dns.", 4) != 0)
		return 0;
	for (i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		if (strcmp(name, numeric[i]) == 0) {
			if (param_u31_valid(value))
				return 0;
			errf(err, "parameter %s: \"%s\" is not a decimal"
			    " 0 ... 2147483647", name, value);
			return -1;
		}
	}
	if (strcmp(name, "dns.soa_mname") == 0 ||
	    strcmp(name, "dns.soa_rname") == 0) {
		if (param_domain_valid(value))
			return 0;
		errf(err, "parameter %s: \"%s\" is not a domain name", name,
		    value);
		return -1;
	}
	if (strcmp(name, "dns.ns") == 0)
		return param_ns_valid(value, err);
	errf(err, "parameter %s: unknown DNS parameter (known: dns.ttl,"
	    " dns.soa_mname, dns.soa_rname, dns.ns, dns.soa_refresh,"
	    " dns.soa_retry, dns.soa_expire, dns.soa_minimum)", name);
	return -1;
}

/* ---- zones ------------------------------------------------------------ */

enum store_status
store_add_zone(struct store *st, const char *origin, uint32_t serial,
    char *err)
{
	char prefix[STORE_E164_MAX], name[STORE_ORIGIN_MAX], now[32];
	int64_t hlc_before = st->hlc_last;
	enum store_status s;
	sqlite3_stmt *q;
	size_t len;
	int rc;

	if (store_origin_valid(origin, prefix, err) == -1)
		return STORE_EINVAL;
	len = strlcpy_(name, origin, sizeof(name));
	if (len > 0 && name[len - 1] == '.')
		name[len - 1] = '\0';
	for (len = 0; name[len]; len++)
		name[len] = (char)tolower((unsigned char)name[len]);
	util_utc_iso8601(now, sizeof(now));
	rc = sqlite3_prepare_v2(st->db, "INSERT INTO zone (origin, prefix,"
	    " serial, updated_at) VALUES (?1, ?2, ?3, ?4)", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "add zone", err);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, serial);
	sqlite3_bind_text(q, 4, now, -1, SQLITE_STATIC);
	if ((s = tx_begin(st, err)) != STORE_OK) {
		sqlite3_finalize(q);
		return s;
	}
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
		tx_rollback(st, hlc_before);
		errf(err, "zone %s (prefix +%s) exists already", name, prefix);
		return STORE_EEXIST;
	}
	if (rc != SQLITE_DONE) {
		s = store_sqlite_error(st, rc, "add zone", err);
		tx_rollback(st, hlc_before);
		return s;
	}
	/* Zones are not journaled (a journal position counts number
	 * changes, S0.7): a follower learns a peer's zones from its
	 * heartbeat.  The journal op "zone" is reserved for that. */
	return tx_commit(st, err);
}

/* Copy a text column, "" for NULL. */
static void
column_text(sqlite3_stmt *q, int col, char *out, size_t outlen)
{
	const char *t = (const char *)sqlite3_column_text(q, col);

	strlcpy_(out, t != NULL ? t : "", outlen);
}

/* The zone rows of q into *zones (see store_zones). */
static enum store_status
zone_rows(struct store *st, sqlite3_stmt *q, size_t max,
    struct zone_info **zones, size_t *n, char *err)
{
	struct zone_info *z = NULL, *nz;
	size_t cap = 0;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *origin = (const char *)sqlite3_column_text(q, 0);
		sqlite3_int64 serial = sqlite3_column_int64(q, 2);

		if (origin == NULL || strlen(origin) >= STORE_ORIGIN_MAX ||
		    serial < 0 || serial > UINT32_MAX) {
			errf(err, "%s: zone row \"%.40s\" has an invalid origin"
			    " or serial", st->path, origin ? origin : "");
			goto fail;
		}
		if (max > 0 && *n == max) {
			errf(err, "%s: more than %zu zones", st->path, max);
			goto fail;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nz = realloc(z, cap * sizeof(*z))) == NULL) {
				errf(err, "out of memory listing zones");
				goto fail;
			}
			z = nz;
		}
		memset(&z[*n], 0, sizeof(z[*n]));
		strlcpy_(z[*n].origin, origin, sizeof(z[*n].origin));
		column_text(q, 1, z[*n].prefix, sizeof(z[*n].prefix));
		z[*n].serial = (uint32_t)serial;
		z[*n].numbers = sqlite3_column_int64(q, 3);
		column_text(q, 4, z[*n].updated_at, sizeof(z[*n].updated_at));
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		free(z);
		*n = 0;
		return store_sqlite_error(st, rc, "list zones", err);
	}
	*zones = z;
	return STORE_OK;
fail:
	free(z);
	*n = 0;
	return STORE_EIO;
}

enum store_status
store_zones(struct store *st, int flags, size_t max,
    struct zone_info **zones, size_t *n, int64_t *journal_pos, char *err)
{
	sqlite3_stmt *q = NULL;
	enum store_status s;
	int rc, began = 0;

	*zones = NULL;
	*n = 0;
	/* One read transaction: zones and journal of the same commit. */
	if (journal_pos != NULL && sqlite3_get_autocommit(st->db)) {
		if ((s = store_read_begin(st, err)) != STORE_OK)
			return s;
		began = 1;
	}
	rc = sqlite3_prepare_v2(st->db, flags & STORE_ZONES_COUNT ?
	    "SELECT origin, prefix, serial, (SELECT count(*) FROM number"
	    " WHERE number.zone = zone.origin), updated_at FROM zone"
	    " ORDER BY origin" :
	    "SELECT origin, prefix, serial, -1, updated_at FROM zone"
	    " ORDER BY origin", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		s = store_sqlite_error(st, rc, "list zones", err);
		goto done;
	}
	s = zone_rows(st, q, max, zones, n, err);
	if (s == STORE_OK && journal_pos != NULL)
		s = store_journal_position(st, journal_pos, err);
	if (s != STORE_OK) {
		free(*zones);
		*zones = NULL;
		*n = 0;
	}
done:
	sqlite3_finalize(q);
	if (began)
		store_read_end(st);
	return s;
}

enum store_status
store_list_zones(struct store *st, struct zone_info **zones, size_t *n,
    char *err)
{
	return store_zones(st, STORE_ZONES_COUNT, 0, zones, n, NULL, err);
}

static enum store_status
zone_for(struct store *st, const char *e164, char *origin, size_t originlen,
    char *err)
{
	sqlite3_stmt *q = st->stmt[ST_ZONE_FOR];
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, e164 + 1, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		strlcpy_(origin, (const char *)sqlite3_column_text(q, 0),
		    originlen);
		sqlite3_reset(q);
		return STORE_OK;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE) {
		errf(err, "no zone covers %s (add its e164.arpa zone first)",
		    e164);
		return STORE_ENOZONE;
	}
	return store_sqlite_error(st, rc, "find zone", err);
}

enum store_status
store_zone_for(struct store *st, const char *e164, char *origin,
    size_t originlen, char *err)
{
	if (store_e164_valid(e164, err) == -1)
		return STORE_EINVAL;
	if (st->stmt[ST_ZONE_FOR] == NULL) {
		errf(err, "database %s is open read-only", st->path);
		return STORE_EIO;
	}
	return zone_for(st, e164, origin, originlen, err);
}

/* ---- changes ------------------------------------------------------------ */

static const char *
op_name(enum store_op op)
{
	switch (op) {
	case STORE_ADD: return "add";
	case STORE_REPLACE: return "replace";
	case STORE_REMOVE: return "remove";
	}
	return "?";
}

/* Run a prepared statement that returns one text column (RETURNING zone). */
static int
step_returning_text(sqlite3_stmt *q, char *out, size_t outlen)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW) {
		strlcpy_(out, (const char *)sqlite3_column_text(q, 0), outlen);
		rc = sqlite3_step(q);
	} else if (rc == SQLITE_DONE) {
		out[0] = '\0';
	}
	return rc;
}

/* Check a change's number and records; for add and replace, *text is the
 * records' canonical text (malloc'd). */
static enum store_status
change_text(const struct store_change *c, char **text, char *err)
{
	const struct number_entry *e = &c->entry;
	char verr[ENUMDR_ERRLEN];
	size_t i;

	*text = NULL;
	if (store_e164_valid(e->e164, err) == -1)
		return STORE_EINVAL;
	if (c->op != STORE_REMOVE) {
		if (e->nnaptr == 0 || e->nnaptr > NAPTR_MAX) {
			errf(err, "%s: needs 1 to %d NAPTR records (got %zu)",
			    e->e164, NAPTR_MAX, e->nnaptr);
			return STORE_EINVAL;
		}
		for (i = 0; i < e->nnaptr; i++) {
			if (naptr_valid(&e->naptr[i], verr) == -1) {
				errf(err, "%s: NAPTR record %zu: %s", e->e164,
				    i + 1, verr);
				return STORE_EINVAL;
			}
		}
		if (naptr_format(e->naptr, e->nnaptr, text) == -1) {
			errf(err, "out of memory formatting NAPTR records");
			return STORE_EIO;
		}
	}
	return STORE_OK;
}

/* ---- change identity (issue 14) ------------------------------------- */

int
store_version_newer(const struct store_version *a,
    const struct store_version *b)
{
	int c;

	if (a->hlc != b->hlc)
		return a->hlc > b->hlc;
	if ((c = strcmp(a->room, b->room)) != 0)
		return c > 0;
	if ((c = strcmp(a->origin, b->origin)) != 0)
		return c > 0;
	return a->oseq > b->oseq;
}

void
store_hlc_refresh(struct store *st)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(hlc), 0) FROM"
	    " origin_seen", -1, &q, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(q) == SQLITE_ROW)
		hlc_seen(st, sqlite3_column_int64(q, 0));
	sqlite3_finalize(q);
}

void
store_set_room(struct store *st, const char *room)
{
	strlcpy_(st->room, room != NULL ? room : "", sizeof(st->room));
}

/* The next hybrid logical clock time: the wall clock in ms << 16, or one
 * more than the newest time issued or seen when that is later. */
static int64_t
hlc_next(struct store *st)
{
	int64_t wall = util_wall_ms() << 16;

	st->hlc_last = wall > st->hlc_last ? wall : st->hlc_last + 1;
	return st->hlc_last;
}

static void
hlc_seen(struct store *st, int64_t hlc)
{
	if (hlc > st->hlc_last)
		st->hlc_last = hlc;
}

/* A number's version row: 1 found (removed: a tombstone; records: the
 * live row's text, malloc'd, NULL when removed), 0 none, -1 error. */
static int
version_get(struct store *st, const char *e164, struct store_version *v,
    int *removed, char *zone, size_t zonelen, char **records, char *err)
{
	sqlite3_stmt *q = st->stmt[ST_GET_VERSION];
	const char *t;
	int rc;

	memset(v, 0, sizeof(*v));
	*removed = 0;
	if (records != NULL)
		*records = NULL;
	if (zone != NULL)
		zone[0] = '\0';
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(q);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		store_sqlite_error(st, rc, "read number version", err);
		return -1;
	}
	column_text(q, 0, v->origin, sizeof(v->origin));
	v->oseq = sqlite3_column_int64(q, 1);
	v->hlc = sqlite3_column_int64(q, 2);
	column_text(q, 3, v->room, sizeof(v->room));
	*removed = sqlite3_column_int(q, 4) != 0;
	if (zone != NULL)
		column_text(q, 5, zone, zonelen);
	if (records != NULL && !*removed &&
	    (t = (const char *)sqlite3_column_text(q, 6)) != NULL &&
	    (*records = strdup(t)) == NULL) {
		sqlite3_reset(q);
		errf(err, "out of memory reading a number's version");
		return -1;
	}
	sqlite3_reset(q);
	return 1;
}

static enum store_status
version_put(struct store *st, const char *e164, const char *zone,
    const struct store_version *v, int removed, const char *now, char *err)
{
	sqlite3_stmt *q = st->stmt[ST_PUT_VERSION];
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, v->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, v->oseq);
	sqlite3_bind_int64(q, 5, v->hlc);
	sqlite3_bind_text(q, 6, v->room, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 7, removed);
	sqlite3_bind_text(q, 8, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "write number version", err);
	return STORE_OK;
}

/* The highest sequence seen from origin (0: none); -1 on error. */
static int64_t
seen_get(struct store *st, const char *origin, char *err)
{
	sqlite3_stmt *q = st->stmt[ST_GET_SEEN];
	int64_t seq = 0;
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, origin, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		seq = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_sqlite_error(st, rc, "read version vector", err);
		return -1;
	}
	return seq;
}

static enum store_status
seen_put(struct store *st, const struct store_version *v, char *err)
{
	sqlite3_stmt *q = st->stmt[ST_PUT_SEEN];
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, v->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, v->room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, v->oseq);
	sqlite3_bind_int64(q, 4, v->hlc);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "write version vector", err);
	return STORE_OK;
}

/* The seq the next journal row gets (AUTOINCREMENT: one past the
 * highest ever given). */
static enum store_status
journal_next_seq(struct store *st, int64_t *seq, char *err)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT max(coalesce((SELECT seq FROM"
	    " sqlite_sequence WHERE name = 'journal'), 0), coalesce((SELECT"
	    " max(seq) FROM journal), 0)) + 1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read journal sequence", err);
	rc = sqlite3_step(q);
	*seq = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return store_sqlite_error(st, rc, "read journal sequence", err);
	return STORE_OK;
}

/* Append one journal row of the open transaction. */
static enum store_status
journal_append(struct store *st, const char *now, const char *op,
    const char *e164, const char *zone, uint32_t serial, const char *records,
    const struct store_version *v, const char *prev_origin,
    int64_t prev_oseq, unsigned flags, int64_t *seq, char *err)
{
	sqlite3_stmt *q = st->stmt[ST_INSERT_JOURNAL];
	enum store_status s;
	int rc;

	if (st->txn == 0 && (s = journal_next_seq(st, &st->txn, err)) !=
	    STORE_OK)
		return s;
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, e164, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, serial);
	sqlite3_bind_text(q, 6, records ? records : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, st->txn);
	sqlite3_bind_text(q, 8, v->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, v->oseq);
	sqlite3_bind_int64(q, 10, v->hlc);
	sqlite3_bind_text(q, 11, v->room, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 12, prev_origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 13, prev_oseq);
	sqlite3_bind_int(q, 14, (int)flags);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "append journal row", err);
	*seq = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/* Count one change of actor in zone (zone_history). */
static enum store_status
history_bump(struct store *st, const char *zone, const char *actor,
    char *err)
{
	sqlite3_stmt *q = st->stmt[actor == NULL ? ST_BUMP_HISTORY :
	    ST_BUMP_HISTORY_OF];
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, zone, -1, SQLITE_STATIC);
	if (actor != NULL)
		sqlite3_bind_text(q, 2, actor, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "count the zone's change",
		    err);
	return STORE_OK;
}

/* Begin and end a write transaction of this connection. */
static enum store_status
tx_begin(struct store *st, char *err)
{
	int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	st->txn = 0;
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "begin transaction", err);
	return STORE_OK;
}

static void
tx_rollback(struct store *st, int64_t hlc_before)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->txn = 0;
	st->hlc_last = hlc_before > st->hlc_last ? hlc_before : st->hlc_last;
}

static enum store_status
tx_commit(struct store *st, char *err)
{
	int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	enum store_status s;

	st->txn = 0;
	if (rc != SQLITE_OK) {
		s = store_sqlite_error(st, rc, "commit", err);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return s;
	}
	return STORE_OK;
}

/* ---- changes made here ------------------------------------------------ */

/* Write the number row of change c (text: its records, NULL for remove);
 * zone receives the number's zone. */
static enum store_status
write_number(struct store *st, const struct store_change *c,
    const char *text, const char *now, char *zone, size_t zonelen, char *err)
{
	const struct number_entry *e = &c->entry;
	enum store_status s;
	sqlite3_stmt *q;
	int rc;

	switch (c->op) {
	case STORE_ADD:
		s = zone_for(st, e->e164, zone, zonelen, err);
		if (s != STORE_OK)
			return s;
		q = st->stmt[ST_INSERT_NUMBER];
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, e->e164, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, zone, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, now, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
			errf(err, "%s exists already (use replace)", e->e164);
			return STORE_EEXIST;
		}
		if (rc != SQLITE_DONE)
			return store_sqlite_error(st, rc, "add number", err);
		break;
	case STORE_REPLACE:
		q = st->stmt[ST_UPDATE_NUMBER];
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, e->e164, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, now, -1, SQLITE_STATIC);
		rc = step_returning_text(q, zone, zonelen);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return store_sqlite_error(st, rc, "replace number",
			    err);
		if (zone[0] == '\0') {
			errf(err, "%s does not exist (use add)", e->e164);
			return STORE_ENOENT;
		}
		break;
	case STORE_REMOVE:
		q = st->stmt[ST_DELETE_NUMBER];
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, e->e164, -1, SQLITE_STATIC);
		rc = step_returning_text(q, zone, zonelen);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return store_sqlite_error(st, rc, "remove number", err);
		if (zone[0] == '\0') {
			errf(err, "%s does not exist", e->e164);
			return STORE_ENOENT;
		}
		break;
	default:
		errf(err, "unknown change operation %d", (int)c->op);
		return STORE_EINVAL;
	}
	return STORE_OK;
}

/* Bump zone's serial by one (RFC 1982 wrap in SQL) into *serial. */
static enum store_status
serial_bump(struct store *st, const char *zone, const char *now,
    uint32_t *serial, char *err)
{
	sqlite3_stmt *q = st->stmt[ST_BUMP_SERIAL];
	int rc;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return store_sqlite_error(st, rc, "bump zone serial", err);
	}
	*serial = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return STORE_OK;
}

/*
 * Give the change just written to e164 (removed: it removed it) its
 * identity: a new origin sequence of this database and an HLC time; the
 * version it replaced (prev) goes into the journal row with it, so that a
 * peer can tell a change that follows its own data from a concurrent one.
 */
static enum store_status
record_own(struct store *st, const char *op, const char *e164,
    const char *zone, const char *text, const struct store_version *prev,
    unsigned flags, const char *now, struct store_change_result *res,
    char *err)
{
	struct store_version v;
	enum store_status s;
	int64_t seen;

	if ((seen = seen_get(st, st->uuid, err)) == -1)
		return STORE_EIO;
	memset(&v, 0, sizeof(v));
	strlcpy_(v.origin, st->uuid, sizeof(v.origin));
	strlcpy_(v.room, st->room, sizeof(v.room));
	v.oseq = seen + 1;
	v.hlc = hlc_next(st);
	if ((s = serial_bump(st, zone, now, &res->serial, err)) != STORE_OK ||
	    (s = version_put(st, e164, zone, &v, text == NULL, now, err)) !=
	    STORE_OK || (s = seen_put(st, &v, err)) != STORE_OK ||
	    (s = journal_append(st, now, op, e164, zone, res->serial, text, &v,
	    prev->origin, prev->oseq, flags, &res->journal_seq, err)) !=
	    STORE_OK)
		return s;
	strlcpy_(res->zone, zone, sizeof(res->zone));
	/* This database made one more change to the zone (zone_history). */
	return history_bump(st, zone, NULL, err);
}

/* One change inside the open transaction. */
static enum store_status
apply_one(struct store *st, const struct store_change *c, const char *now,
    struct store_change_result *res, char *err)
{
	struct store_version prev;
	char zone[STORE_ORIGIN_MAX], *text;
	enum store_status s;
	int removed;

	if ((s = change_text(c, &text, err)) != STORE_OK)
		return s;
	if (version_get(st, c->entry.e164, &prev, &removed, NULL, 0, NULL,
	    err) == -1) {
		free(text);
		return STORE_EIO;
	}
	s = write_number(st, c, text, now, zone, sizeof(zone), err);
	if (s == STORE_OK)
		s = record_own(st, op_name(c->op), c->entry.e164, zone, text,
		    &prev, 0, now, res, err);
	free(text);
	return s;
}

enum store_status
store_apply(struct store *st, const struct store_change *changes, size_t n,
    struct store_change_result *results, size_t *failed, char *err)
{
	struct store_change_result one;
	char now[32], cerr[ENUMDR_ERRLEN];
	enum store_status s = STORE_OK;
	int64_t hlc_before = st->hlc_last;
	size_t i;

	if (st->stmt[ST_INSERT_NUMBER] == NULL) {
		errf(err, "database %s is open read-only", st->path);
		return STORE_EIO;
	}
	if (n == 0)
		return STORE_OK;
	util_utc_iso8601(now, sizeof(now));
	if ((s = tx_begin(st, err)) != STORE_OK)
		return s;
	for (i = 0; i < n; i++) {
		s = apply_one(st, &changes[i], now, results ? &results[i] :
		    &one, cerr);
		if (s != STORE_OK) {
			if (n > 1)
				errf(err, "change %zu of %zu: %s", i + 1, n,
				    cerr);
			else
				errf(err, "%s", cerr);
			if (failed)
				*failed = i;
			tx_rollback(st, hlc_before);
			return s;
		}
	}
	if ((s = tx_commit(st, err)) != STORE_OK) {
		if (failed)
			*failed = n;
		return s;
	}
	return STORE_OK;
}

/* ---- changes from peers (issue 14, doc/replication.md) --------------- */

/* Set e164 to records (NULL: remove it) as version v. */
static enum store_status
number_set(struct store *st, const char *e164, const char *zone,
    const char *records, const struct store_version *v, const char *now,
    char *err)
{
	sqlite3_stmt *q;
	int rc;

	if (records != NULL) {
		q = st->stmt[ST_UPSERT_NUMBER];
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, zone, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, records, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, now, -1, SQLITE_STATIC);
	} else {
		q = st->stmt[ST_DELETE_NUMBER];
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		;
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, records != NULL ?
		    "write number" : "remove number", err);
	return version_put(st, e164, zone, v, records == NULL, now, err);
}

/* The zone a peer's change to e164 belongs to here: ours by the longest
 * prefix; a zone only the peer has (its zone add did not come through
 * the journal) is created with the change's serial. */
static enum store_status
remote_zone(struct store *st, const struct journal_row *r, char *zone,
    size_t zonelen, char *err)
{
	char prefix[STORE_E164_MAX], verr[ENUMDR_ERRLEN], now[32];
	enum store_status s;
	sqlite3_stmt *q;
	int rc;

	s = zone_for(st, r->e164, zone, zonelen, verr);
	if (s != STORE_ENOZONE) {
		if (s != STORE_OK)
			errf(err, "%s", verr);
		return s;
	}
	if (store_origin_valid(r->zone, prefix, verr) == -1 ||
	    strncmp(r->e164 + 1, prefix, strlen(prefix)) != 0) {
		errf(err, "change %s:%lld: no zone here covers %s and the"
		    " change's zone \"%s\" does not either", r->v.room,
		    (long long)r->v.oseq, r->e164, r->zone);
		return STORE_ENOZONE;
	}
	util_utc_iso8601(now, sizeof(now));
	rc = sqlite3_prepare_v2(st->db, "INSERT INTO zone (origin, prefix,"
	    " serial, updated_at) VALUES (?1, ?2, ?3, ?4)", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "add zone", err);
	sqlite3_bind_text(q, 1, r->zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)(uint32_t)(r->serial - 1));
	sqlite3_bind_text(q, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "add zone", err);
	strlcpy_(zone, r->zone, zonelen);
	return STORE_OK;
}

/* The zone's serial after a peer's change: one more than ours, or the
 * peer's when that is newer (RFC 1982), so that after a merge each room's
 * serial is ahead of both rooms' serials before it. */
static enum store_status
serial_follow(struct store *st, const char *zone, uint32_t theirs,
    const char *now, uint32_t *serial, char *err)
{
	enum store_status s;
	sqlite3_stmt *q;
	uint32_t next;
	int rc;

	if ((s = serial_bump(st, zone, now, &next, err)) != STORE_OK)
		return s;
	if (rfc1982_cmp(theirs, next) != RFC1982_GREATER) {
		*serial = next;
		return STORE_OK;
	}
	q = st->stmt[ST_SET_SERIAL];
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, theirs);
	sqlite3_bind_text(q, 3, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "set zone serial", err);
	*serial = theirs;
	return STORE_OK;
}

/* Where a peer's change r stands against the version vector (its HLC
 * seen either way): 1 next of its origin, 0 had already (skip), -1 an
 * error, -2 a gap (err names the missing sequence numbers). */
static int
remote_seen(struct store *st, const struct journal_row *r, char *err)
{
	int64_t seen;

	hlc_seen(st, r->v.hlc);
	if ((seen = seen_get(st, r->v.origin, err)) == -1)
		return -1;
	if (r->v.oseq <= seen)
		return 0;
	if (r->v.oseq != seen + 1) {
		errf(err, "changes %lld to %lld of room %s (database %s) are"
		    " missing before journal row %lld", (long long)seen + 1,
		    (long long)r->v.oseq - 1, r->v.room, r->v.origin,
		    (long long)r->seq);
		return -2;
	}
	return 1;
}

/* A peer's zone add: the zone here too (with its serial) unless we have
 * it; journaled with its identity either way, for our followers. */
static enum store_status
remote_zone_add(struct store *st, const struct journal_row *r,
    const char *now, struct store_remote_result *res, char *err)
{
	char prefix[STORE_E164_MAX], verr[ENUMDR_ERRLEN];
	enum store_status s;
	sqlite3_stmt *q;
	int64_t seen, seq;
	int rc;

	if (store_origin_valid(r->zone, prefix, verr) == -1) {
		errf(err, "journal row %lld: zone %s", (long long)r->seq, verr);
		return STORE_EINVAL;
	}
	if ((seen = remote_seen(st, r, err)) < 0)
		return seen == -2 ? STORE_EGAP : STORE_EIO;
	if (seen == 0) {
		res->skipped++;
		return STORE_OK;
	}
	rc = sqlite3_prepare_v2(st->db, "INSERT INTO zone (origin, prefix,"
	    " serial, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO"
	    " NOTHING", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "add zone", err);
	sqlite3_bind_text(q, 1, r->zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, r->serial);
	sqlite3_bind_text(q, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "add zone", err);
	if (sqlite3_changes(st->db) > 0)
		remote_zone_moved(res, r->zone, r->serial, 0);
	if ((s = seen_put(st, &r->v, err)) != STORE_OK ||
	    (s = journal_append(st, now, "zone", "", r->zone, r->serial, "",
	    &r->v, "", 0, 0, &seq, err)) != STORE_OK)
		return s;
	res->applied++;
	res->journal_seq = seq;
	return STORE_OK;
}

/* Record a conflict: served is what the number is now, other the
 * version that lost (records "" : removed). */
static enum store_status
conflict_add(struct store *st, const char *e164, const char *zone,
    const struct store_version *served, const char *served_records,
    const struct store_version *other, const char *other_records,
    const char *now, char *err)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT INTO conflict (e164, zone,"
	    " detected_at, open, served_origin, served_oseq, served_hlc,"
	    " served_room, served_records, other_origin, other_oseq, other_hlc,"
	    " other_room, other_records) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7,"
	    " ?8, ?9, ?10, ?11, ?12, ?13)", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "record conflict", err);
	sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, served->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, served->oseq);
	sqlite3_bind_int64(q, 6, served->hlc);
	sqlite3_bind_text(q, 7, served->room, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, served_records ? served_records : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(q, 9, other->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 10, other->oseq);
	sqlite3_bind_int64(q, 11, other->hlc);
	sqlite3_bind_text(q, 12, other->room, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 13, other_records ? other_records : "", -1,
	    SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "record conflict", err);
	return STORE_OK;
}

/* Close e164's open conflicts (decision: served, other, peer). */
static enum store_status
conflicts_close(struct store *st, const char *e164, const char *decision,
    const char *now, size_t *closed, char *err)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "UPDATE conflict SET open = 0,"
	    " decided_at = ?2, decision = ?3 WHERE open = 1 AND e164 = ?1", -1,
	    &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "close conflicts", err);
	sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, decision, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "close conflicts", err);
	if (closed != NULL)
		*closed += (size_t)sqlite3_changes(st->db);
	return STORE_OK;
}

static void
remote_zone_moved(struct store_remote_result *res, const char *zone,
    uint32_t serial, int64_t seq)
{
	size_t i;

	for (i = 0; i < res->nzones; i++)
		if (strcmp(res->zones[i].zone, zone) == 0)
			break;
	if (i == res->nzones) {
		if (res->nzones == sizeof(res->zones) / sizeof(res->zones[0])) {
			res->zones_overflow = 1;
			return;
		}
		res->nzones++;
		strlcpy_(res->zones[i].zone, zone, sizeof(res->zones[i].zone));
	}
	res->zones[i].serial = serial;
	res->zones[i].journal_seq = seq;
}

/*
 * One change of a peer's journal, inside the open transaction.  The
 * number's version here decides (doc/replication.md, "Applying"):
 *   - the change's origin sequence seen already: skipped (idempotent);
 *   - the number here is at the version the change replaced (or has no
 *     version): the change applies;
 *   - otherwise both rooms changed the number since they last agreed: a
 *     conflict.  The newer version (store_version_newer) is served, the
 *     other kept in the conflict table.
 * Every change not skipped is journaled here with its own identity, so
 * that our followers see it too, and counted in the version vector.
 */
static enum store_status
remote_one(struct store *st, const struct journal_row *r, const char *now,
    struct store_remote_result *res, char *err)
{
	struct store_version local;
	char zone[STORE_ORIGIN_MAX], lzone[STORE_ORIGIN_MAX], verr[ENUMDR_ERRLEN];
	char *lrecords = NULL;
	const char *records;
	enum store_status s = STORE_OK;
	int64_t seen, seq;
	uint32_t serial = 0;
	int removing, lremoved, have, clean, wins;

	if (strcmp(r->op, "import") == 0) {
		/* The peer replaced a zone from a snapshot (its takeover's
		 * sync, of ours in two rooms): no change of a number to
		 * apply; what the import changed reaches us as the versions
		 * of later changes, and where they disagree as conflicts. */
		res->imports++;
		res->skipped++;
		return STORE_OK;
	}
	if (r->v.origin[0] == '\0') {
		errf(err, "journal row %lld (%s %s) is from before schema 2:"
		    " a change without an identity cannot be replicated",
		    (long long)r->seq, r->op, r->e164);
		return STORE_EGAP;
	}
	if (strcmp(r->op, "zone") == 0)
		return remote_zone_add(st, r, now, res, err);
	removing = strcmp(r->op, "remove") == 0;
	if (!removing && strcmp(r->op, "add") != 0 &&
	    strcmp(r->op, "replace") != 0) {
		errf(err, "journal row %lld: unknown op \"%s\"",
		    (long long)r->seq, r->op);
		return STORE_EINVAL;
	}
	if (store_e164_valid(r->e164, verr) == -1 || (!removing &&
	    naptr_text_valid(r->records, verr) == -1)) {
		errf(err, "journal row %lld (%s): %s", (long long)r->seq,
		    r->e164, verr);
		return STORE_EINVAL;
	}
	if ((seen = remote_seen(st, r, err)) < 0)
		return seen == -2 ? STORE_EGAP : STORE_EIO;
	if (seen == 0) {
		res->skipped++;
		return STORE_OK;
	}
	if ((have = version_get(st, r->e164, &local, &lremoved, lzone,
	    sizeof(lzone), &lrecords, err)) == -1)
		return STORE_EIO;
	if (have && strcmp(local.origin, r->v.origin) == 0 &&
	    local.oseq >= r->v.oseq) {
		/* The number holds this change or a later one of the same
		 * origin (a zone imported from a snapshot brought it): we
		 * have it; the version vector learns it. */
		free(lrecords);
		res->skipped++;
		res->learned++;
		return seen_put(st, &r->v, err);
	}
	if (r->flags & STORE_JF_MERGE) {
		/* A version the peer took from a snapshot merge that we do
		 * not hold: what it superseded there may never reach us as
		 * changes, so only a merge of the peer's copy decides it
		 * right (doc/replication.md, "Gaps"). */
		free(lrecords);
		errf(err, "journal row %lld: %s's version %s:%lld came from a"
		    " snapshot merge there: merge its snapshot here too",
		    (long long)r->seq, r->e164, r->v.room,
		    (long long)r->v.oseq);
		return STORE_EGAP;
	}
	/* Clean: the number is at the version the change replaced, or at
	 * an earlier change of the change's own origin (which made the
	 * change knowing it). */
	clean = !have || (strcmp(local.origin, r->prev_origin) == 0 &&
	    local.oseq == r->prev_oseq) || strcmp(local.origin,
	    r->v.origin) == 0;
	wins = clean || store_version_newer(&r->v, &local);
	records = removing ? NULL : r->records;
	if (wins) {
		if ((s = remote_zone(st, r, zone, sizeof(zone), err)) !=
		    STORE_OK)
			goto out;
		if ((s = number_set(st, r->e164, zone, records, &r->v, now,
		    err)) != STORE_OK || (s = serial_follow(st, zone,
		    r->serial, now, &serial, err)) != STORE_OK ||
		    (s = history_bump(st, zone, r->v.origin, err)) != STORE_OK)
			goto out;
		res->applied++;
	} else {
		/* Ours stays: the journal row says what is served.  The
		 * serial still follows the peer's (max(own + 1, theirs)),
		 * like an applied change's. */
		strlcpy_(zone, lzone, sizeof(zone));
		if ((s = serial_follow(st, zone, r->serial, now, &serial,
		    err)) != STORE_OK)
			goto out;
		res->lost++;
	}
	if (!clean) {
		s = wins ? conflict_add(st, r->e164, zone, &r->v, r->records,
		    &local, lrecords, now, err) : conflict_add(st, r->e164,
		    zone, &local, lrecords, &r->v, r->records, now, err);
		if (s != STORE_OK)
			goto out;
		res->conflicts++;
	} else if (r->flags & STORE_JF_DECISION) {
		if ((s = conflicts_close(st, r->e164, "peer", now,
		    &res->decided, err)) != STORE_OK)
			goto out;
	}
	if ((s = seen_put(st, &r->v, err)) != STORE_OK ||
	    (s = journal_append(st, now, r->op, r->e164, zone, serial,
	    r->records, &r->v, r->prev_origin, r->prev_oseq, r->flags, &seq,
	    err)) != STORE_OK)
		goto out;
	remote_zone_moved(res, zone, serial, seq);
	res->journal_seq = seq;
	if (r->v.hlc > res->last_hlc)
		res->last_hlc = r->v.hlc;
out:
	free(lrecords);
	return s;
}

static enum store_status
cursor_put(struct store *st, const char *peer, const char *room,
    int64_t cursor, const char *now, char *err)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT INTO peer_cursor (peer, room,"
	    " seq, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (peer) DO"
	    " UPDATE SET room = excluded.room, seq = excluded.seq,"
	    " updated_at = excluded.updated_at", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "write peer cursor", err);
	sqlite3_bind_text(q, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, cursor);
	sqlite3_bind_text(q, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "write peer cursor", err);
	return STORE_OK;
}

enum store_status
store_apply_remote(struct store *st, const char *peer_uuid,
    const char *peer_room, int64_t cursor, const struct journal_row *rows,
    size_t n, struct store_remote_result *res, char *err)
{
	char now[32], cerr[ENUMDR_ERRLEN];
	enum store_status s;
	int64_t hlc_before = st->hlc_last;
	size_t i;

	memset(res, 0, sizeof(*res));
	if (st->stmt[ST_INSERT_NUMBER] == NULL) {
		errf(err, "database %s is open read-only", st->path);
		return STORE_EIO;
	}
	if (strcmp(peer_uuid, st->uuid) == 0) {
		errf(err, "the peer's database is this database (%s): a copied"
		    " database file? Each room needs its own (enumdr init)",
		    st->uuid);
		return STORE_EINVAL;
	}
	util_utc_iso8601(now, sizeof(now));
	if ((s = tx_begin(st, err)) != STORE_OK)
		return s;
	for (i = 0; i < n; i++) {
		if ((s = remote_one(st, &rows[i], now, res, cerr)) != STORE_OK) {
			errf(err, "room %s, journal row %lld: %s", peer_room,
			    (long long)rows[i].seq, cerr);
			tx_rollback(st, hlc_before);
			memset(res, 0, sizeof(*res));
			return s;
		}
	}
	if (res->applied + res->lost + res->conflicts + res->learned == 0) {
		/* Only changes we have (our own, relayed back): nothing to
		 * write, and no commit to wait for; the cursor moves in the
		 * caller's memory and is saved with the next real change. */
		size_t skipped = res->skipped;

		tx_rollback(st, hlc_before);
		res->skipped = skipped;
		res->skipped_only = 1;
		return STORE_OK;
	}
	if ((s = cursor_put(st, peer_uuid, peer_room, cursor, now, err)) !=
	    STORE_OK) {
		tx_rollback(st, hlc_before);
		memset(res, 0, sizeof(*res));
		return s;
	}
	if ((s = tx_commit(st, err)) != STORE_OK)
		memset(res, 0, sizeof(*res));
	return s;
}

/* ---- merge of a whole copy (a snapshot) ------------------------------- */

/* Prepare sql with each '@' replaced by the copy's schema name. */
static enum store_status
merge_prepare(struct store *st, const char *schema, const char *fmt,
    sqlite3_stmt **q, char *err)
{
	char sql[1024];
	size_t n = 0, sl = strlen(schema);
	int rc;

	for (; *fmt != '\0'; fmt++) {
		if (n + sl + 1 >= sizeof(sql)) {
			errf(err, "merge: a statement is too long");
			return STORE_EIO;
		}
		if (*fmt == '@') {
			memcpy(sql + n, schema, sl);
			n += sl;
		} else
			sql[n++] = *fmt;
	}
	sql[n] = '\0';
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, q, NULL)) != SQLITE_OK)
		return store_sqlite_error(st, rc, "prepare the merge", err);
	return STORE_OK;
}

/* An integer the statement's first row holds (def when none). */
static enum store_status
merge_int(struct store *st, sqlite3_stmt *q, int64_t def, int64_t *out,
    char *err)
{
	int rc = sqlite3_step(q);

	*out = rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL ?
	    sqlite3_column_int64(q, 0) : def;
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "read the copy", err);
	return STORE_OK;
}

/* Run one statement of the merge that returns no rows (what names it in
 * an error). */
static enum store_status
merge_exec(struct store *st, const char *schema, const char *sql,
    const char *what, char *err)
{
	sqlite3_stmt *q;
	enum store_status s;
	int rc;

	if ((s = merge_prepare(st, schema, sql, &q, err)) != STORE_OK)
		return s;
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, what, err);
	return STORE_OK;
}

/* What a merge does with one number (doc/replication.md, "Gaps"). */
enum merge_verdict { MERGE_TAKE, MERGE_KEEP, MERGE_CONFLICT };

static enum merge_verdict
merge_decide(const struct store_version *mine, int have,
    const struct store_version *theirs, int64_t i_saw_theirs_origin,
    int64_t they_saw_my_origin)
{
	if (!have)
		return MERGE_TAKE;
	if (strcmp(mine->origin, theirs->origin) == 0)
		return theirs->oseq > mine->oseq ? MERGE_TAKE : MERGE_KEEP;
	if (theirs->oseq <= i_saw_theirs_origin)
		return MERGE_KEEP;      /* ours came after theirs here */
	if (mine->oseq <= they_saw_my_origin)
		return MERGE_TAKE;      /* theirs came after ours there */
	return MERGE_CONFLICT;
}

/* Take the copy's version t (records NULL: removed) of e164 for a number
 * at version mine (have: it has one) here. */
static enum store_status
merge_take(struct store *st, sqlite3_stmt *zserial, const char *e164,
    const char *tzone, const char *records, const struct store_version *t,
    const struct store_version *mine, int have, int mine_removed,
    const char *now, struct store_remote_result *res, char *err)
{
	char zone[STORE_ORIGIN_MAX];
	enum store_status s;
	int64_t theirs, seq;
	uint32_t serial;
	const char *op;

	if ((s = zone_for(st, e164, zone, sizeof(zone), err)) != STORE_OK)
		return s;
	sqlite3_bind_text(zserial, 1, tzone, -1, SQLITE_STATIC);
	if ((s = merge_int(st, zserial, 0, &theirs, err)) != STORE_OK)
		return s;
	if (strcmp(zone, tzone) != 0)
		theirs = 0;
	op = records == NULL ? "remove" : have && !mine_removed ? "replace" :
	    "add";
	/* each version its own transaction in our journal: a follower
	 * reads a merge of a million numbers in batches */
	st->txn = 0;
	if ((s = number_set(st, e164, zone, records, t, now, err)) !=
	    STORE_OK || (s = serial_follow(st, zone, (uint32_t)theirs, now,
	    &serial, err)) != STORE_OK ||
	    (s = history_bump(st, zone, t->origin, err)) != STORE_OK ||
	    (s = journal_append(st, now, op, e164, zone, serial, records, t,
	    have ? mine->origin : "", have ? mine->oseq : 0, STORE_JF_MERGE,
	    &seq, err)) != STORE_OK)
		return s;
	remote_zone_moved(res, zone, serial, seq);
	res->journal_seq = seq;
	if (t->hlc > res->last_hlc)
		res->last_hlc = t->hlc;
	res->applied++;
	return STORE_OK;
}

/* The merge's loop over the copy's versions that differ from ours
 * (merge_pending), inside the open transaction. */
static enum store_status
merge_numbers(struct store *st, const char *schema, const char *now,
    struct store_merge_result *mr, char *err)
{
	struct store_remote_result *res = &mr->r;
	sqlite3_stmt *pending = NULL, *vv = NULL, *zserial = NULL;
	struct store_version t, mine;
	char tzone[STORE_ORIGIN_MAX], e164[STORE_E164_MAX + 1];
	char mzone[STORE_ORIGIN_MAX], *mrec = NULL;
	const char *trec;
	enum store_status s;
	enum merge_verdict d;
	int64_t saw_t, saw_m;
	int rc, have, mremoved, tremoved;

	if ((s = merge_prepare(st, schema, "SELECT e164, zone, origin, oseq,"
	    " hlc, room, removed, naptr FROM temp.merge_pending ORDER BY hlc",
	    &pending, err)) != STORE_OK ||
	    (s = merge_prepare(st, schema, "SELECT oseq FROM @.origin_seen"
	    " WHERE origin = ?1", &vv, err)) != STORE_OK ||
	    (s = merge_prepare(st, schema, "SELECT serial FROM @.zone WHERE"
	    " origin = ?1", &zserial, err)) != STORE_OK)
		goto out;
	while ((rc = sqlite3_step(pending)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		column_text(pending, 0, e164, sizeof(e164));
		column_text(pending, 1, tzone, sizeof(tzone));
		column_text(pending, 2, t.origin, sizeof(t.origin));
		t.oseq = sqlite3_column_int64(pending, 3);
		t.hlc = sqlite3_column_int64(pending, 4);
		column_text(pending, 5, t.room, sizeof(t.room));
		tremoved = sqlite3_column_int(pending, 6) != 0;
		trec = (const char *)sqlite3_column_text(pending, 7);
		if (!tremoved && trec == NULL) {
			errf(err, "number %s has a version but no row in the"
			    " copy", e164);
			s = STORE_EINVAL;
			goto out;
		}
		hlc_seen(st, t.hlc);
		free(mrec);
		mrec = NULL;
		if ((have = version_get(st, e164, &mine, &mremoved, mzone,
		    sizeof(mzone), &mrec, err)) == -1) {
			s = STORE_EIO;
			goto out;
		}
		saw_t = saw_m = 0;
		if (have) {
			if ((saw_t = seen_get(st, t.origin, err)) == -1) {
				s = STORE_EIO;
				goto out;
			}
			sqlite3_bind_text(vv, 1, mine.origin, -1,
			    SQLITE_TRANSIENT);
			if ((s = merge_int(st, vv, 0, &saw_m, err)) !=
			    STORE_OK)
				goto out;
		}
		d = merge_decide(&mine, have, &t, saw_t, saw_m);
		if (d == MERGE_KEEP) {
			mr->kept++;
			continue;
		}
		if (d == MERGE_CONFLICT) {
			int wins = store_version_newer(&t, &mine);

			s = wins ? conflict_add(st, e164, mzone, &t, trec, &mine,
			    mrec, now, err) : conflict_add(st, e164, mzone,
			    &mine, mrec, &t, trec, now, err);
			if (s != STORE_OK)
				goto out;
			res->conflicts++;
			if (!wins) {
				res->lost++;
				continue;
			}
		}
		if ((s = merge_take(st, zserial, e164, tzone,
		    tremoved ? NULL : trec, &t, &mine, have, mremoved, now,
		    res, err)) != STORE_OK) {
			char cause[ENUMDR_ERRLEN];

			strlcpy_(cause, err, sizeof(cause));
			errf(err, "number %s: %s", e164, cause);
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		s = store_sqlite_error(st, rc, "read the copy's versions", err);
out:
	free(mrec);
	sqlite3_finalize(pending);
	sqlite3_finalize(vv);
	sqlite3_finalize(zserial);
	return s;
}

enum store_status
store_merge_attached(struct store *st, const char *schema, const char *label,
    const char *peer_room, char *row, size_t rowlen,
    struct store_merge_result *res, char *err)
{
	char now[32], cerr[ENUMDR_ERRLEN], rowbuf[ROWCHECK_ROW_MAX];
	sqlite3_stmt *q = NULL;
	enum store_status s;
	int64_t hlc_before = st->hlc_last, version, cursor;
	int rc;

	memset(res, 0, sizeof(*res));
	rowbuf[0] = '\0';
	if (row != NULL && rowlen > 0)
		row[0] = '\0';
	if (st->stmt[ST_INSERT_NUMBER] == NULL) {
		errf(err, "database %s is open read-only", st->path);
		return STORE_EIO;
	}
	util_utc_iso8601(now, sizeof(now));
	if ((s = tx_begin(st, err)) != STORE_OK)
		return s;
	/* every row by the store's rules first: one bad row refuses all */
	if (rowcheck_database(st->db, schema, label, rowbuf, sizeof(rowbuf),
	    cerr) == -1) {
		errf(err, "merge of %s: %s", label, cerr);
		s = rowbuf[0] != '\0' ? STORE_EINVAL : STORE_EIO;
		if (row != NULL && rowlen > 0)
			strlcpy_(row, rowbuf, rowlen);
		goto fail;
	}
	if ((s = merge_prepare(st, schema, "SELECT uuid, schema_version FROM"
	    " @.database_identity WHERE id = 1", &q, cerr)) != STORE_OK)
		goto failc;
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		errf(err, "merge of %s: it names no database identity", label);
		s = STORE_EINVAL;
		goto fail;
	}
	column_text(q, 0, res->peer_uuid, sizeof(res->peer_uuid));
	version = sqlite3_column_int64(q, 1);
	sqlite3_finalize(q);
	q = NULL;
	if (strcmp(res->peer_uuid, st->uuid) == 0) {
		errf(err, "merge of %s: it is a copy of this database (%s):"
		    " nothing to merge", label, st->uuid);
		s = STORE_EINVAL;
		goto fail;
	}
	if (version < 2) {
		errf(err, "merge of %s: schema %lld has no change identities"
		    " (a room older than replication): import it instead",
		    label, (long long)version);
		s = STORE_EINVAL;
		goto fail;
	}
	if ((s = merge_prepare(st, schema, "SELECT seq FROM @.sqlite_sequence"
	    " WHERE name = 'journal'", &q, cerr)) != STORE_OK ||
	    (s = merge_int(st, q, 0, &res->peer_position, cerr)) != STORE_OK)
		goto failc;
	sqlite3_finalize(q);
	q = NULL;

	/* the copy's zones that we lack */
	if ((s = merge_prepare(st, schema, "INSERT INTO main.zone (origin,"
	    " prefix, serial, updated_at) SELECT origin, prefix, serial, ?1"
	    " FROM @.zone WHERE true ON CONFLICT DO NOTHING RETURNING origin,"
	    " serial", &q, cerr)) != STORE_OK)
		goto failc;
	sqlite3_bind_text(q, 1, now, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		remote_zone_moved(&res->r, (const char *)sqlite3_column_text(q,
		    0), (uint32_t)sqlite3_column_int64(q, 1), 0);
		res->zones_added++;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_DONE) {
		s = store_sqlite_error(st, rc, "copy the copy's zones", cerr);
		goto failc;
	}

	/* the numbers whose versions differ, then each decided */
	if ((s = merge_exec(st, schema, "CREATE TEMP TABLE merge_pending AS"
	    " SELECT s.e164 AS e164, s.zone AS zone, s.origin AS origin,"
	    " s.oseq AS oseq, s.hlc AS hlc, s.room AS room, s.removed AS"
	    " removed, n.naptr AS naptr FROM @.number_version s LEFT JOIN"
	    " @.number n ON n.e164 = s.e164 LEFT JOIN main.number_version l"
	    " ON l.e164 = s.e164 WHERE l.e164 IS NULL OR l.origin != s.origin"
	    " OR l.oseq != s.oseq", "list the copy's versions", cerr)) !=
	    STORE_OK)
		goto failc;
	s = merge_numbers(st, schema, now, res, cerr);
	sqlite3_exec(st->db, "DROP TABLE IF EXISTS temp.merge_pending", NULL,
	    NULL, NULL);
	if (s != STORE_OK)
		goto failc;

	/* the copy's open conflicts that we do not hold (the copy met both
	 * versions, we meet only the one it serves) */
	if ((s = merge_exec(st, schema, "INSERT INTO main.conflict (e164,"
	    " zone, detected_at, open, served_origin, served_oseq, served_hlc,"
	    " served_room, served_records, other_origin, other_oseq, other_hlc,"
	    " other_room, other_records) SELECT e164, zone, detected_at, 1,"
	    " served_origin, served_oseq, served_hlc, served_room,"
	    " served_records, other_origin, other_oseq, other_hlc, other_room,"
	    " other_records FROM @.conflict c WHERE open = 1 AND NOT EXISTS"
	    " (SELECT 1 FROM main.conflict m WHERE m.e164 = c.e164 AND"
	    " m.other_origin = c.other_origin AND m.other_oseq = c.other_oseq"
	    " AND m.served_origin = c.served_origin AND m.served_oseq ="
	    " c.served_oseq) ORDER BY id", "copy the copy's conflicts",
	    cerr)) != STORE_OK)
		goto failc;
	res->r.conflicts += (size_t)sqlite3_changes(st->db);

	/* the version vector: the maximum of both */
	if ((s = merge_exec(st, schema, "INSERT INTO main.origin_seen"
	    " (origin, room, oseq, hlc) SELECT origin, room, oseq, hlc FROM"
	    " @.origin_seen WHERE true ON CONFLICT (origin) DO UPDATE SET"
	    " room = excluded.room, oseq = excluded.oseq, hlc = excluded.hlc"
	    " WHERE excluded.oseq > main.origin_seen.oseq",
	    "merge the version vector", cerr)) != STORE_OK)
		goto failc;
	/* following resumes where the copy ends */
	if ((s = store_peer_cursor(st, res->peer_uuid, &cursor, cerr)) !=
	    STORE_OK)
		goto failc;
	if (res->peer_position > cursor &&
	    (s = cursor_put(st, res->peer_uuid, peer_room, res->peer_position,
	    now, cerr)) != STORE_OK)
		goto failc;
	if ((s = tx_commit(st, cerr)) != STORE_OK)
		goto failc;
	if (res->r.journal_seq == 0)
		(void)store_journal_position(st, &res->r.journal_seq, cerr);
	return STORE_OK;
failc:
	errf(err, "merge of %s: %s", label, cerr);
fail:
	sqlite3_finalize(q);
	tx_rollback(st, hlc_before);
	sqlite3_exec(st->db, "DROP TABLE IF EXISTS temp.merge_pending", NULL,
	    NULL, NULL);
	{
		char keep[STORE_UUID_MAX];

		strlcpy_(keep, res->peer_uuid, sizeof(keep));
		memset(res, 0, sizeof(*res));
		strlcpy_(res->peer_uuid, keep, sizeof(res->peer_uuid));
	}
	return s;
}

enum store_status
store_peer_cursor(struct store *st, const char *peer_uuid, int64_t *cursor,
    char *err)
{
	sqlite3_stmt *q;
	int rc;

	*cursor = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT seq FROM peer_cursor WHERE"
	    " peer = ?1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read peer cursor", err);
	sqlite3_bind_text(q, 1, peer_uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*cursor = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "read peer cursor", err);
	return STORE_OK;
}

enum store_status
store_peer_cursor_by_room(struct store *st, const char *room, char *uuid,
    size_t uuidlen, int64_t *cursor, char *err)
{
	sqlite3_stmt *q;
	int rc;

	*cursor = 0;
	uuid[0] = '\0';
	rc = sqlite3_prepare_v2(st->db, "SELECT peer, seq FROM peer_cursor WHERE"
	    " room = ?1 ORDER BY updated_at DESC, seq DESC LIMIT 1", -1, &q,
	    NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read peer cursor", err);
	sqlite3_bind_text(q, 1, room, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		column_text(q, 0, uuid, uuidlen);
		*cursor = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "read peer cursor", err);
	return STORE_OK;
}

enum store_status
store_version_vector(struct store *st, struct store_vv_entry **vvp,
    size_t *np, char *err)
{
	struct store_vv_entry *vv = NULL, *nv;
	sqlite3_stmt *q;
	size_t n = 0, cap = 0;
	int rc;

	*vvp = NULL;
	*np = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT origin, room, oseq, hlc FROM"
	    " origin_seen ORDER BY origin", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read version vector", err);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(vv, cap * sizeof(*vv))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			vv = nv;
		}
		column_text(q, 0, vv[n].origin, sizeof(vv[n].origin));
		column_text(q, 1, vv[n].room, sizeof(vv[n].room));
		vv[n].oseq = sqlite3_column_int64(q, 2);
		vv[n].hlc = sqlite3_column_int64(q, 3);
		n++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free(vv);
		return store_sqlite_error(st, rc, "read version vector", err);
	}
	*vvp = vv;
	*np = n;
	return STORE_OK;
}

/* ---- conflicts ------------------------------------------------------ */

void
store_conflicts_free(struct store_conflict *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(list[i].served_records);
		free(list[i].other_records);
	}
	free(list);
}

static int
conflict_row(sqlite3_stmt *q, struct store_conflict *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(q, 0);
	column_text(q, 1, c->e164, sizeof(c->e164));
	column_text(q, 2, c->zone, sizeof(c->zone));
	column_text(q, 3, c->detected_at, sizeof(c->detected_at));
	c->open = sqlite3_column_int(q, 4) != 0;
	column_text(q, 5, c->served.origin, sizeof(c->served.origin));
	c->served.oseq = sqlite3_column_int64(q, 6);
	c->served.hlc = sqlite3_column_int64(q, 7);
	column_text(q, 8, c->served.room, sizeof(c->served.room));
	column_text(q, 10, c->other.origin, sizeof(c->other.origin));
	c->other.oseq = sqlite3_column_int64(q, 11);
	c->other.hlc = sqlite3_column_int64(q, 12);
	column_text(q, 13, c->other.room, sizeof(c->other.room));
	column_text(q, 15, c->decided_at, sizeof(c->decided_at));
	column_text(q, 16, c->decision, sizeof(c->decision));
	c->served_records = strdup(sqlite3_column_text(q, 9) ?
	    (const char *)sqlite3_column_text(q, 9) : "");
	c->other_records = strdup(sqlite3_column_text(q, 14) ?
	    (const char *)sqlite3_column_text(q, 14) : "");
	return c->served_records != NULL && c->other_records != NULL ? 0 : -1;
}

#define CONFLICT_COLUMNS "id, e164, zone, detected_at, open, served_origin," \
	" served_oseq, served_hlc, served_room, served_records, other_origin," \
	" other_oseq, other_hlc, other_room, other_records, decided_at," \
	" decision"

enum store_status
store_conflicts(struct store *st, int open_only, struct store_conflict **listp,
    size_t *np, char *err)
{
	struct store_conflict *list = NULL, *nl;
	sqlite3_stmt *q;
	size_t n = 0, cap = 0;
	int rc;

	*listp = NULL;
	*np = 0;
	rc = sqlite3_prepare_v2(st->db, open_only ? "SELECT " CONFLICT_COLUMNS
	    " FROM conflict WHERE open = 1 ORDER BY id" : "SELECT "
	    CONFLICT_COLUMNS " FROM conflict ORDER BY id", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read conflicts", err);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nl = realloc(list, cap * sizeof(*list))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			list = nl;
		}
		if (conflict_row(q, &list[n++]) == -1) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		store_conflicts_free(list, n);
		return store_sqlite_error(st, rc, "read conflicts", err);
	}
	*listp = list;
	*np = n;
	return STORE_OK;
}

enum store_status
store_conflicts_open(struct store *st, int64_t *n, char *err)
{
	sqlite3_stmt *q;
	int rc;

	*n = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM conflict WHERE"
	    " open = 1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "count conflicts", err);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return store_sqlite_error(st, rc, "count conflicts", err);
	return STORE_OK;
}

enum store_status
store_conflict_keep(struct store *st, int64_t id, const char *which,
    struct store_change_result *res, char *err)
{
	struct store_conflict c;
	struct store_version prev;
	char now[32], zone[STORE_ORIGIN_MAX], *lrecords = NULL;
	const char *keep, *op;
	enum store_status s;
	int64_t hlc_before = st->hlc_last;
	sqlite3_stmt *q;
	int rc, have, lremoved, other;

	memset(res, 0, sizeof(*res));
	if (strcmp(which, "served") != 0 && strcmp(which, "other") != 0) {
		errf(err, "version \"%s\": keep \"served\" or \"other\"",
		    which);
		return STORE_EINVAL;
	}
	other = strcmp(which, "other") == 0;
	if (st->stmt[ST_INSERT_NUMBER] == NULL) {
		errf(err, "database %s is open read-only", st->path);
		return STORE_EIO;
	}
	util_utc_iso8601(now, sizeof(now));
	if ((s = tx_begin(st, err)) != STORE_OK)
		return s;
	rc = sqlite3_prepare_v2(st->db, "SELECT " CONFLICT_COLUMNS " FROM"
	    " conflict WHERE id = ?1", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		s = store_sqlite_error(st, rc, "read conflict", err);
		goto fail;
	}
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && conflict_row(q, &c) == -1)
		rc = SQLITE_NOMEM;
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE) {
		errf(err, "no conflict %lld", (long long)id);
		s = STORE_ENOENT;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		s = store_sqlite_error(st, rc, "read conflict", err);
		goto fail;
	}
	if (!c.open) {
		errf(err, "conflict %lld (%s) was decided already (%s, %s)",
		    (long long)id, c.e164, c.decision, c.decided_at);
		free(c.served_records);
		free(c.other_records);
		s = STORE_EEXIST;
		goto fail;
	}
	keep = other ? c.other_records : c.served_records;
	if ((have = version_get(st, c.e164, &prev, &lremoved, zone,
	    sizeof(zone), &lrecords, err)) == -1) {
		s = STORE_EIO;
		goto out;
	}
	if (!have || zone[0] == '\0')
		strlcpy_(zone, c.zone, sizeof(zone));
	/* The decision is a change of this database like any other, so
	 * that it reaches every room; it closes their conflicts too. */
	op = *keep == '\0' ? "remove" : have && !lremoved ? "replace" : "add";
	if ((s = number_set(st, c.e164, zone, *keep != '\0' ? keep : NULL,
	    &prev, now, err)) != STORE_OK ||
	    (s = record_own(st, op, c.e164, zone, *keep != '\0' ? keep : NULL,
	    &prev, STORE_JF_DECISION, now, res, err)) != STORE_OK ||
	    (s = conflicts_close(st, c.e164, which, now, NULL, err)) !=
	    STORE_OK)
		goto out;
	free(lrecords);
	free(c.served_records);
	free(c.other_records);
	return tx_commit(st, err);
out:
	free(lrecords);
	free(c.served_records);
	free(c.other_records);
fail:
	tx_rollback(st, hlc_before);
	return s;
}

enum store_status
store_get_number(struct store *st, const char *e164, struct number_entry *out,
    char *err)
{
	sqlite3_stmt *q;
	enum store_status s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (store_e164_valid(e164, err) == -1)
		return STORE_EINVAL;
	rc = sqlite3_prepare_v2(st->db, "SELECT zone, naptr FROM number"
	    " WHERE e164 = ?1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read number", err);
	sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		errf(err, "%s does not exist", e164);
		s = STORE_ENOENT;
	} else if (rc != SQLITE_ROW) {
		s = store_sqlite_error(st, rc, "read number", err);
	} else {
		strlcpy_(out->e164, e164, sizeof(out->e164));
		strlcpy_(out->zone, (const char *)sqlite3_column_text(q, 0),
		    sizeof(out->zone));
		if (naptr_parse((const char *)sqlite3_column_text(q, 1),
		    out->naptr, &out->nnaptr, err) == -1)
			s = STORE_EIO;
		else
			s = STORE_OK;
	}
	sqlite3_finalize(q);
	return s;
}

enum store_status
store_foreach_number(struct store *st, const char *origin,
    int (*fn)(void *ctx, const char *e164, const char *naptr_text),
    void *ctx, char *err)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT e164, naptr FROM number"
	    " WHERE zone = ?1 ORDER BY e164", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "list numbers", err);
	sqlite3_bind_text(q, 1, origin, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (fn(ctx, (const char *)sqlite3_column_text(q, 0),
		    (const char *)sqlite3_column_text(q, 1)) != 0) {
			sqlite3_finalize(q);
			errf(err, "listing numbers of %s stopped at %s",
			    origin, "the caller's request");
			return STORE_EIO;
		}
	}
	if (rc != SQLITE_DONE) {
		enum store_status s = store_sqlite_error(st, rc,
		    "list numbers", err);
		sqlite3_finalize(q);
		return s;
	}
	sqlite3_finalize(q);
	return STORE_OK;
}

/* ---- journal, parameters, identity ------------------------------------ */

enum store_status
store_journal_position(struct store *st, int64_t *pos, char *err)
{
	sqlite3_stmt *q;
	int rc;

	*pos = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT coalesce(max(seq), 0) FROM"
	    " journal", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read journal position", err);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*pos = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return store_sqlite_error(st, rc, "read journal position", err);
	return STORE_OK;
}

void
store_journal_free(struct journal_row *rows, size_t n)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++)
		free(rows[i].records);
	free(rows);
}

/* Read the journal rows of q (bound by the caller) into rows[*n ...]. */
static int
journal_rows(sqlite3_stmt *q, struct journal_row *rows, size_t cap,
    size_t *n)
{
	int rc;

	while (*n < cap && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct journal_row *r = &rows[*n];

		memset(r, 0, sizeof(*r));
		r->seq = sqlite3_column_int64(q, 0);
		column_text(q, 1, r->at, sizeof(r->at));
		column_text(q, 2, r->op, sizeof(r->op));
		column_text(q, 3, r->e164, sizeof(r->e164));
		column_text(q, 4, r->zone, sizeof(r->zone));
		r->serial = (uint32_t)sqlite3_column_int64(q, 5);
		r->txn = sqlite3_column_int64(q, 7);
		column_text(q, 8, r->v.origin, sizeof(r->v.origin));
		r->v.oseq = sqlite3_column_int64(q, 9);
		r->v.hlc = sqlite3_column_int64(q, 10);
		column_text(q, 11, r->v.room, sizeof(r->v.room));
		column_text(q, 12, r->prev_origin, sizeof(r->prev_origin));
		r->prev_oseq = sqlite3_column_int64(q, 13);
		r->flags = (unsigned)sqlite3_column_int(q, 14);
		r->records = strdup(sqlite3_column_text(q, 6) != NULL ?
		    (const char *)sqlite3_column_text(q, 6) : "");
		(*n)++;
		if (r->records == NULL)
			return SQLITE_NOMEM;
	}
	return *n < cap ? rc : SQLITE_DONE;
}

#define JOURNAL_COLUMNS "seq, at, op, e164, zone, serial, records, txn," \
	" origin, oseq, hlc, room, prev_origin, prev_oseq, flags"

enum store_status
store_journal_read(struct store *st, int64_t after, size_t limit,
    struct journal_row **rowsp, size_t *np, char *err)
{
	struct journal_row *rows, *nr;
	sqlite3_stmt *q;
	size_t n = 0, cap;
	int rc;

	*rowsp = NULL;
	*np = 0;
	if (limit == 0)
		return STORE_OK;
	if (limit > 100000)
		limit = 100000;
	cap = limit;
	rows = calloc(cap, sizeof(*rows));
	if (rows == NULL) {
		errf(err, "out of memory reading the journal");
		return STORE_EIO;
	}
	rc = sqlite3_prepare_v2(st->db, "SELECT " JOURNAL_COLUMNS " FROM journal"
	    " WHERE seq > ?1 ORDER BY seq LIMIT ?2", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		free(rows);
		return store_sqlite_error(st, rc, "read journal", err);
	}
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	rc = journal_rows(q, rows, cap, &n);
	sqlite3_finalize(q);
	/* A reader never sees half a transaction: the rest of the last
	 * row's transaction comes with it (at most PROVREQ-sized). */
	if (rc == SQLITE_DONE && n == limit && rows[n - 1].txn > 0) {
		cap = n + 100000;
		if ((nr = realloc(rows, cap * sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
		} else {
			rows = nr;
			rc = sqlite3_prepare_v2(st->db, "SELECT " JOURNAL_COLUMNS
			    " FROM journal WHERE seq > ?1 AND txn = ?2 ORDER BY"
			    " seq", -1, &q, NULL);
			if (rc == SQLITE_OK) {
				sqlite3_bind_int64(q, 1, rows[n - 1].seq);
				sqlite3_bind_int64(q, 2, rows[n - 1].txn);
				rc = journal_rows(q, rows, cap, &n);
				sqlite3_finalize(q);
			}
		}
	}
	if (rc != SQLITE_DONE) {
		enum store_status s = store_sqlite_error(st, rc,
		    "read journal", err);
		store_journal_free(rows, n);
		return s;
	}
	*rowsp = rows;
	*np = n;
	return STORE_OK;
}

enum store_status
store_journal_bounds(struct store *st, int64_t *first, int64_t *last,
    char *err)
{
	sqlite3_stmt *q;
	int rc;

	*first = 1;
	*last = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT min(seq), max(seq), (SELECT seq"
	    " FROM sqlite_sequence WHERE name = 'journal') FROM journal", -1,
	    &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "read journal bounds", err);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(q, 1) != SQLITE_NULL) {
			*first = sqlite3_column_int64(q, 0);
			*last = sqlite3_column_int64(q, 1);
		} else {
			/* Empty: everything up to the sequence was trimmed. */
			*last = sqlite3_column_int64(q, 2);
			*first = *last + 1;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return store_sqlite_error(st, rc, "read journal bounds", err);
	return STORE_OK;
}

enum store_status
store_journal_trim(struct store *st, int64_t keep, int64_t *removed,
    char *err)
{
	sqlite3_stmt *q;
	int rc;

	*removed = 0;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM journal WHERE seq <="
	    " (SELECT max(seq) FROM journal) - ?1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "trim journal", err);
	sqlite3_bind_int64(q, 1, keep < 1 ? 1 : keep);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "trim journal", err);
	*removed = sqlite3_changes(st->db);
	return STORE_OK;
}

enum store_status
store_set_parameter(struct store *st, const char *name, const char *value,
    char *err)
{
	sqlite3_stmt *q;
	int rc;

	if (store_parameter_valid(name, value, err) == -1)
		return STORE_EINVAL;
	rc = sqlite3_prepare_v2(st->db, "INSERT INTO parameter (name, value)"
	    " VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET"
	    " value = excluded.value", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "set parameter", err);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "set parameter", err);
	return STORE_OK;
}

/* One text column of a one-row query with at most one text parameter. */
static enum store_status
query_text(struct store *st, const char *sql, const char *arg, char *out,
    size_t outlen, const char *what, char *err)
{
	sqlite3_stmt *q;
	enum store_status s = STORE_OK;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, what, err);
	if (arg)
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		strlcpy_(out, (const char *)sqlite3_column_text(q, 0), outlen);
	} else if (rc == SQLITE_DONE) {
		errf(err, "%s: %s not found", what, arg ? arg : "row");
		s = STORE_ENOENT;
	} else {
		s = store_sqlite_error(st, rc, what, err);
	}
	sqlite3_finalize(q);
	return s;
}

enum store_status
store_get_parameter(struct store *st, const char *name, char *value,
    size_t valuelen, char *err)
{
	return query_text(st, "SELECT value FROM parameter WHERE name = ?1",
	    name, value, valuelen, "read parameter", err);
}

enum store_status
store_identity(struct store *st, char *uuid, size_t uuidlen, char *err)
{
	return query_text(st, "SELECT uuid FROM database_identity WHERE"
	    " id = 1", NULL, uuid, uuidlen, "read database identity", err);
}
