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
    " op TEXT NOT NULL CHECK (op IN ('add','replace','remove','import')),"
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
    "ALTER TABLE journal ADD COLUMN txn INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE journal ADD COLUMN origin TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE journal ADD COLUMN oseq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE journal ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE journal ADD COLUMN room TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE journal ADD COLUMN prev_origin TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE journal ADD COLUMN prev_oseq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE journal ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
    SCHEMA_V2_TABLES
    "UPDATE database_identity SET schema_version = 2 WHERE id = 1;"
    "COMMIT;";

/* Prepared statements kept for the life of the connection. */
enum stmt_id {
	ST_ZONE_FOR,
	ST_INSERT_NUMBER,
	ST_UPDATE_NUMBER,
	ST_DELETE_NUMBER,
	ST_BUMP_SERIAL,
	ST_INSERT_JOURNAL,
	ST_BUMP_HISTORY,
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
	    " records) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_BUMP_HISTORY] = "INSERT INTO zone_history (zone, actor, changes)"
	    " VALUES (?1, (SELECT uuid FROM database_identity WHERE id = 1), 1)"
	    " ON CONFLICT (zone, actor) DO UPDATE SET changes = changes + 1",
};

struct store {
	sqlite3 *db;
	char path[PATH_MAX];
	sqlite3_stmt *stmt[ST_COUNT];
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
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
		errf(err, "zone %s (prefix +%s) exists already", name, prefix);
		return STORE_EEXIST;
	}
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "add zone", err);
	return STORE_OK;
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

/* Count change c in its zone: serial, journal row and zone_history. */
static enum store_status
record_change(struct store *st, const struct store_change *c,
    const char *text, const char *now, const char *zone,
    struct store_change_result *res, char *err)
{
	const struct number_entry *e = &c->entry;
	sqlite3_stmt *q;
	int rc;

	/* The zone serial moves by one per change (RFC 1982 wrap in SQL). */
	q = st->stmt[ST_BUMP_SERIAL];
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return store_sqlite_error(st, rc, "bump zone serial", err);
	}
	res->serial = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	strlcpy_(res->zone, zone, sizeof(res->zone));

	q = st->stmt[ST_INSERT_JOURNAL];
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, op_name(c->op), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, e->e164, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, res->serial);
	sqlite3_bind_text(q, 6, text ? text : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "append journal row", err);
	res->journal_seq = sqlite3_last_insert_rowid(st->db);

	/* This database made one more change to the zone (zone_history). */
	q = st->stmt[ST_BUMP_HISTORY];
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, zone, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "count the zone's change",
		    err);
	return STORE_OK;
}

/* One change inside the open transaction. */
static enum store_status
apply_one(struct store *st, const struct store_change *c, const char *now,
    struct store_change_result *res, char *err)
{
	char zone[STORE_ORIGIN_MAX], *text;
	enum store_status s;

	if ((s = change_text(c, &text, err)) != STORE_OK)
		return s;
	s = write_number(st, c, text, now, zone, sizeof(zone), err);
	if (s == STORE_OK)
		s = record_change(st, c, text, now, zone, res, err);
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
	size_t i;
	int rc;

	if (st->stmt[ST_INSERT_NUMBER] == NULL) {
		errf(err, "database %s is open read-only", st->path);
		return STORE_EIO;
	}
	if (n == 0)
		return STORE_OK;
	util_utc_iso8601(now, sizeof(now));
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "begin transaction", err);
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
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return s;
		}
	}
	rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		s = store_sqlite_error(st, rc, "commit", err);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		if (failed)
			*failed = n;
		return s;
	}
	return STORE_OK;
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

enum store_status
store_journal_read(struct store *st, int64_t after, size_t limit,
    struct journal_row **rowsp, size_t *np, char *err)
{
	struct journal_row *rows;
	sqlite3_stmt *q;
	size_t n = 0;
	int rc;

	*rowsp = NULL;
	*np = 0;
	if (limit == 0)
		return STORE_OK;
	if (limit > 100000)
		limit = 100000;
	rows = calloc(limit, sizeof(*rows));
	if (rows == NULL) {
		errf(err, "out of memory reading the journal");
		return STORE_EIO;
	}
	rc = sqlite3_prepare_v2(st->db, "SELECT seq, at, op, e164, zone,"
	    " serial, records FROM journal WHERE seq > ?1 ORDER BY seq"
	    " LIMIT ?2", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		free(rows);
		return store_sqlite_error(st, rc, "read journal", err);
	}
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct journal_row *r = &rows[n];

		r->seq = sqlite3_column_int64(q, 0);
		strlcpy_(r->at, (const char *)sqlite3_column_text(q, 1),
		    sizeof(r->at));
		strlcpy_(r->op, (const char *)sqlite3_column_text(q, 2),
		    sizeof(r->op));
		strlcpy_(r->e164, (const char *)sqlite3_column_text(q, 3),
		    sizeof(r->e164));
		strlcpy_(r->zone, (const char *)sqlite3_column_text(q, 4),
		    sizeof(r->zone));
		r->serial = (uint32_t)sqlite3_column_int64(q, 5);
		r->records = strdup((const char *)sqlite3_column_text(q, 6));
		n++;
		if (r->records == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		enum store_status s = store_sqlite_error(st, rc,
		    "read journal", err);
		sqlite3_finalize(q);
		store_journal_free(rows, n);
		return s;
	}
	sqlite3_finalize(q);
	*rowsp = rows;
	*np = n;
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
