/*
 * rowcheck.c — every row of a database from elsewhere (a peer's snapshot)
 * checked by the store's own rules before it is used (issue 12).  See
 * rowcheck.h for the rules.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naptr.h"
#include "rowcheck.h"
#include "store.h"
#include "util.h"

#define ZONES_MAX     10000          /* as a serial file may list */
#define ACTOR_MAX     63             /* a database uuid (32 hex digits) */
#define UPDATED_MAX   32

struct zone_row {
	char origin[STORE_ORIGIN_MAX];
	char prefix[STORE_E164_MAX];
};

struct check {
	sqlite3 *db;
	const char *schema;
	const char *path;
	char *row;
	size_t rowlen;
	char *err;
	struct zone_row *zones;          /* sorted by prefix */
	size_t nzones;
	int lengths[STORE_E164_MAX];     /* prefix lengths present, longest first */
	size_t nlengths;
};

/* A value as it may appear in a message: at most 40 bytes, anything but
 * printable ASCII as \xHH, '"' and '\' escaped. */
static void
show(const char *s, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 40) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c > 0x7e) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

/* Name the offending row (table and key) and the broken rule. */
static int fail(struct check *c, const char *table, const char *key,
    size_t keylen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct check *c, const char *table, const char *key, size_t keylen,
    const char *fmt, ...)
{
	char shown[200], why[ENUMDR_ERRLEN];
	va_list ap;

	show(key, keylen, shown, sizeof(shown));
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->row != NULL)
		snprintf(c->row, c->rowlen, "%s \"%s\"", table, shown);
	errf(c->err, "%s: %s row \"%s\": %s; the snapshot is refused whole",
	    c->path, table, shown, why);
	return -1;
}

static int
sql_fail(struct check *c, const char *what)
{
	errf(c->err, "%s: %s: %s", c->path, what, sqlite3_errmsg(c->db));
	return -1;
}

/* Column i as text of at most max bytes without a NUL byte; NULL (with
 * *why set) when it is not that. */
static const char *
col_text(sqlite3_stmt *q, int i, size_t max, size_t *lenp, const char **why)
{
	const char *s;
	size_t len;

	if (sqlite3_column_type(q, i) != SQLITE_TEXT) {
		*why = "is not text";
		return NULL;
	}
	s = (const char *)sqlite3_column_text(q, i);
	len = (size_t)sqlite3_column_bytes(q, i);
	if (s == NULL) {
		*why = "cannot be read (out of memory)";
		return NULL;
	}
	if (strlen(s) != len) {
		*why = "holds a NUL byte";
		return NULL;
	}
	if (len > max) {
		*why = "is too long";
		return NULL;
	}
	*lenp = len;
	return s;
}

/* The key column of a row, for messages even when it is not text. */
static const char *
key_of(sqlite3_stmt *q, int i, size_t *lenp)
{
	const char *s;

	if (sqlite3_column_type(q, i) == SQLITE_BLOB) {
		*lenp = (size_t)sqlite3_column_bytes(q, i);
		s = sqlite3_column_blob(q, i);
		return s != NULL ? s : "";
	}
	s = (const char *)sqlite3_column_text(q, i);
	*lenp = s != NULL ? (size_t)sqlite3_column_bytes(q, i) : 0;
	return s != NULL ? s : "";
}

/* A database uuid as database_identity makes it: 32 lowercase hex
 * digits (a change's origin). */
static int
uuid_valid(const char *s, size_t len)
{
	size_t i;

	if (len != 32)
		return 0;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return 1;
}

/* A change's room: a room name as enumdr.yaml's room, [A-Za-z0-9_-]{1,63},
 * or "" (a store whose room was never set, store_set_room, writes that). */
static int
room_valid(const char *s, size_t len)
{
	size_t i;

	if (len > STORE_ROOM_MAX - 1)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Is column i an integer (not text, not real) of at least min? */
static int
col_int_min(sqlite3_stmt *q, int i, sqlite3_int64 min)
{
	return sqlite3_column_type(q, i) == SQLITE_INTEGER &&
	    sqlite3_column_int64(q, i) >= min;
}

/* Prepare sql with every "@S" replaced by the checked schema's name. */
static int
prepare(struct check *c, sqlite3_stmt **q, const char *sql)
{
	char text[512];
	size_t o = 0, slen = strlen(c->schema);
	const char *p;

	for (p = sql; *p; p++) {
		if (o + slen + 3 >= sizeof(text)) {
			errf(c->err, "%s: row check query too long", c->path);
			return -1;
		}
		if (p[0] == '@' && p[1] == 'S') {
			text[o++] = '"';
			memcpy(text + o, c->schema, slen);
			o += slen;
			text[o++] = '"';
			p++;
		} else {
			text[o++] = *p;
		}
	}
	text[o] = '\0';
	if (sqlite3_prepare_v2(c->db, text, -1, q, NULL) != SQLITE_OK)
		return sql_fail(c, "prepare the row check");
	return 0;
}

/* ---- the tables themselves ------------------------------------------ */

/* What the import reads (peer_cursor and conflict are local state, never
 * copied: not checked; a view or trigger of any name is refused above). */
static const struct {
	const char *table;
	const char *columns[16];
} expected[] = {
	{ "database_identity", { "id", "uuid", "schema_version",
	    "created_at", NULL } },
	{ "zone", { "origin", "prefix", "serial", "updated_at", NULL } },
	{ "number", { "e164", "zone", "naptr", "updated_at", NULL } },
	{ "parameter", { "name", "value", NULL } },
	{ "zone_history", { "zone", "actor", "changes", NULL } },
	{ "journal", { "seq", "at", "op", "e164", "zone", "serial",
	    "records", "txn", "origin", "oseq", "hlc", "room", "prev_origin",
	    "prev_oseq", "flags", NULL } },
	/* schema 2 (issue 14) */
	{ "number_version", { "e164", "zone", "origin", "oseq", "hlc", "room",
	    "removed", "at", NULL } },
	{ "origin_seen", { "origin", "room", "oseq", "hlc", NULL } },
};
#define EXPECTED_COLUMNS_MAX \
	(sizeof(expected[0].columns) / sizeof(expected[0].columns[0]))

static int
check_schema(struct check *c)
{
	sqlite3_stmt *q = NULL;
	size_t t, k;
	int rc, ret = -1;

	if (prepare(c, &q, "SELECT type, name FROM @S.sqlite_schema"
	    " WHERE type IN ('view', 'trigger') LIMIT 1") == -1)
		return -1;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		size_t len;
		const char *name = key_of(q, 1, &len);

		fail(c, "sqlite_schema", name, len, "the database holds a %s;"
		    " an enumdr snapshot has only tables and indexes",
		    (const char *)sqlite3_column_text(q, 0));
		goto done;
	}
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the schema");
		goto done;
	}
	sqlite3_finalize(q);
	q = NULL;
	for (t = 0; t < sizeof(expected) / sizeof(expected[0]); t++) {
		for (k = 0; k < EXPECTED_COLUMNS_MAX &&
		    expected[t].columns[k] != NULL; k++) {
			if (prepare(c, &q, "SELECT 1 FROM @S.sqlite_schema s,"
			    " pragma_table_info(s.name, ?3) p WHERE"
			    " s.type = 'table' AND s.name = ?1 AND"
			    " p.name = ?2") == -1)
				goto done;
			sqlite3_bind_text(q, 1, expected[t].table, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(q, 2, expected[t].columns[k], -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(q, 3, c->schema, -1, SQLITE_STATIC);
			rc = sqlite3_step(q);
			if (rc == SQLITE_DONE) {
				errf(c->err, "%s: the database has no table %s"
				    " with a column %s: not an enumdr snapshot"
				    " of schema version %d; refused",
				    c->path, expected[t].table,
				    expected[t].columns[k],
				    STORE_SCHEMA_VERSION);
				if (c->row != NULL)
					snprintf(c->row, c->rowlen,
					    "table \"%s\"", expected[t].table);
				goto done;
			}
			if (rc != SQLITE_ROW) {
				sql_fail(c, "read the schema");
				goto done;
			}
			sqlite3_finalize(q);
			q = NULL;
		}
	}
	ret = 0;
done:
	sqlite3_finalize(q);
	return ret;
}

/* ---- zones ------------------------------------------------------------ */

static int
zone_by_prefix(const void *a, const void *b)
{
	return strcmp(((const struct zone_row *)a)->prefix,
	    ((const struct zone_row *)b)->prefix);
}

static int
zone_by_origin(const void *a, const void *b)
{
	return strcmp(((const struct zone_row *)a)->origin,
	    ((const struct zone_row *)b)->origin);
}

/* One zone row (q on it): checked, then added to c->zones. */
static int
zone_row(struct check *c, sqlite3_stmt *q, size_t *cap)
{
	char verr[ENUMDR_ERRLEN], prefix[STORE_E164_MAX];
	const char *origin, *pfx, *upd, *why = NULL;
	const char *key;
	struct zone_row *nz;
	size_t olen, plen, ulen, klen, i;
	sqlite3_int64 serial;

	key = key_of(q, 0, &klen);
	if ((origin = col_text(q, 0, STORE_ORIGIN_MAX - 1, &olen, &why)) ==
	    NULL)
		return fail(c, "zone", key, klen, "origin %s", why);
	if (store_origin_valid(origin, prefix, verr) == -1)
		return fail(c, "zone", key, klen, "%s", verr);
	for (i = 0; i < olen; i++)
		if (isupper((unsigned char)origin[i]) ||
		    origin[olen - 1] == '.')
			return fail(c, "zone", key, klen, "origin is not in"
			    " canonical form (lowercase, no final dot)");
	if ((pfx = col_text(q, 1, STORE_E164_MAX - 1, &plen, &why)) == NULL)
		return fail(c, "zone", key, klen, "prefix %s", why);
	if (strcmp(pfx, prefix) != 0)
		return fail(c, "zone", key, klen, "prefix \"%.16s\" is not the"
		    " origin's digits %s", pfx, prefix);
	serial = sqlite3_column_int64(q, 2);
	if (sqlite3_column_type(q, 2) != SQLITE_INTEGER || serial < 0 ||
	    serial > (sqlite3_int64)UINT32_MAX)
		return fail(c, "zone", key, klen, "serial is not an integer"
		    " 0 ... 4294967295");
	if ((upd = col_text(q, 3, UPDATED_MAX, &ulen, &why)) == NULL ||
	    !util_utc_valid(upd, ulen))
		return fail(c, "zone", key, klen, "updated_at %s", why != NULL ?
		    why : "is not a UTC time YYYY-MM-DDTHH:MM:SSZ");
	if (c->nzones == ZONES_MAX)
		return fail(c, "zone", key, klen, "more than %d zones",
		    ZONES_MAX);
	if (c->nzones == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((nz = realloc(c->zones, *cap * sizeof(*nz))) == NULL) {
			errf(c->err, "%s: out of memory checking zones",
			    c->path);
			return -1;
		}
		c->zones = nz;
	}
	strlcpy_(c->zones[c->nzones].origin, origin,
	    sizeof(c->zones[0].origin));
	strlcpy_(c->zones[c->nzones].prefix, prefix,
	    sizeof(c->zones[0].prefix));
	c->nzones++;
	return 0;
}

/* One zone per origin and per prefix (a crafted file may lack the
 * schema's UNIQUE constraints); leaves c->zones sorted by prefix and
 * c->lengths the prefix lengths present, longest first. */
static int
zones_unique(struct check *c)
{
	size_t i, j;

	if (c->nzones == 0)
		return 0;
	qsort(c->zones, c->nzones, sizeof(*c->zones), zone_by_origin);
	for (i = 1; i < c->nzones; i++)
		if (strcmp(c->zones[i].origin, c->zones[i - 1].origin) == 0)
			return fail(c, "zone", c->zones[i].origin,
			    strlen(c->zones[i].origin),
			    "the zone appears twice");
	qsort(c->zones, c->nzones, sizeof(*c->zones), zone_by_prefix);
	for (i = 1; i < c->nzones; i++)
		if (strcmp(c->zones[i].prefix, c->zones[i - 1].prefix) == 0)
			return fail(c, "zone", c->zones[i].origin,
			    strlen(c->zones[i].origin),
			    "its prefix %s is also zone %s's",
			    c->zones[i].prefix, c->zones[i - 1].origin);
	for (i = STORE_E164_MAX - 1; i > 0; i--) {
		for (j = 0; j < c->nzones; j++) {
			if (strlen(c->zones[j].prefix) == i) {
				c->lengths[c->nlengths++] = (int)i;
				break;
			}
		}
	}
	return 0;
}

static int
check_zones(struct check *c)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0;
	int rc, ret = -1;

	if (prepare(c, &q, "SELECT origin, prefix, serial, updated_at FROM"
	    " @S.zone") == -1)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (zone_row(c, q, &cap) == -1)
			goto done;
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the zones");
		goto done;
	}
	ret = zones_unique(c);
done:
	sqlite3_finalize(q);
	return ret;
}

/* The zone holding e164 by the store's rule: the longest prefix. */
static const struct zone_row *
zone_holding(const struct check *c, const char *e164)
{
	struct zone_row key;
	const struct zone_row *z;
	size_t i, digits = strlen(e164 + 1);

	for (i = 0; i < c->nlengths; i++) {
		size_t len = (size_t)c->lengths[i];

		if (len > digits)
			continue;
		memcpy(key.prefix, e164 + 1, len);
		key.prefix[len] = '\0';
		z = bsearch(&key, c->zones, c->nzones, sizeof(*c->zones),
		    zone_by_prefix);
		if (z != NULL)
			return z;
	}
	return NULL;
}

/* Is origin one of the zones? */
static int
zone_known(const struct check *c, const char *origin)
{
	size_t i;

	/* zones are sorted by prefix; origins are few: a scan is enough */
	for (i = 0; i < c->nzones; i++)
		if (strcmp(c->zones[i].origin, origin) == 0)
			return 1;
	return 0;
}

/* ---- numbers, parameters, histories ------------------------------------ */

/* No key twice: sql (SELECT key ... HAVING count(*) > 1 LIMIT 1) finds
 * the first repeated key of table, refused as "WHAT appears twice". */
static int
check_once(struct check *c, const char *sql, const char *table,
    const char *what, const char *step)
{
	sqlite3_stmt *q = NULL;
	size_t klen;
	int rc, ret = -1;

	if (prepare(c, &q, sql) == -1)
		return -1;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = key_of(q, 0, &klen);

		fail(c, table, key, klen, "%s appears twice", what);
		goto done;
	}
	if (rc != SQLITE_DONE) {
		sql_fail(c, step);
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(q);
	return ret;
}

static int
check_numbers(struct check *c)
{
	char verr[ENUMDR_ERRLEN];
	sqlite3_stmt *q = NULL;
	const struct zone_row *z;
	const char *e164, *zone, *naptr, *upd, *why = NULL;
	size_t elen, zlen, nlen, ulen, klen;
	int rc, ret = -1;

	if (prepare(c, &q, "SELECT e164, zone, naptr, updated_at FROM"
	    " @S.number") == -1)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = key_of(q, 0, &klen);

		if ((e164 = col_text(q, 0, STORE_E164_MAX, &elen, &why)) ==
		    NULL) {
			fail(c, "number", key, klen, "e164 %s", why);
			goto done;
		}
		if (store_e164_valid(e164, verr) == -1) {
			fail(c, "number", key, klen, "%s", verr);
			goto done;
		}
		if ((zone = col_text(q, 1, STORE_ORIGIN_MAX - 1, &zlen,
		    &why)) == NULL) {
			fail(c, "number", key, klen, "zone %s", why);
			goto done;
		}
		z = zone_holding(c, e164);
		if (z == NULL) {
			fail(c, "number", key, klen, "no zone of the snapshot"
			    " covers it (it names zone %.*s)", 64, zone);
			goto done;
		}
		if (strcmp(z->origin, zone) != 0) {
			fail(c, "number", key, klen, "it is held by zone %s"
			    " but belongs to zone %s (the longest prefix that"
			    " starts it)", zone_known(c, zone) ? zone :
			    "(not a zone of the snapshot)", z->origin);
			goto done;
		}
		if ((naptr = col_text(q, 2, NAPTR_TEXT_MAX, &nlen,
		    &why)) == NULL) {
			fail(c, "number", key, klen, "naptr %s", why);
			goto done;
		}
		if (naptr_text_valid(naptr, verr) == -1) {
			fail(c, "number", key, klen, "%s", verr);
			goto done;
		}
		if ((upd = col_text(q, 3, UPDATED_MAX, &ulen, &why)) == NULL ||
		    !util_utc_valid(upd, ulen)) {
			fail(c, "number", key, klen, "updated_at %s",
			    why != NULL ? why :
			    "is not a UTC time YYYY-MM-DDTHH:MM:SSZ");
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the numbers");
		goto done;
	}
	/* a crafted file may lack the primary key */
	ret = check_once(c, "SELECT e164 FROM @S.number GROUP BY e164"
	    " HAVING count(*) > 1 LIMIT 1", "number", "the number",
	    "read the numbers");
done:
	sqlite3_finalize(q);
	return ret;
}

static int
check_parameters(struct check *c)
{
	char verr[ENUMDR_ERRLEN];
	sqlite3_stmt *q = NULL;
	const char *name, *value, *why = NULL;
	size_t nlen, vlen, klen;
	int rc, ret = -1;

	if (prepare(c, &q, "SELECT name, value FROM @S.parameter") == -1)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = key_of(q, 0, &klen);

		if ((name = col_text(q, 0, STORE_PARAM_NAME_MAX, &nlen,
		    &why)) == NULL) {
			fail(c, "parameter", key, klen, "name %s", why);
			goto done;
		}
		if ((value = col_text(q, 1, STORE_PARAM_VALUE_MAX, &vlen,
		    &why)) == NULL) {
			fail(c, "parameter", key, klen, "value %s", why);
			goto done;
		}
		if (store_parameter_valid(name, value, verr) == -1) {
			fail(c, "parameter", key, klen, "%s", verr);
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the parameters");
		goto done;
	}
	ret = check_once(c, "SELECT name FROM @S.parameter GROUP BY name"
	    " HAVING count(*) > 1 LIMIT 1", "parameter", "the name",
	    "read the parameters");
done:
	sqlite3_finalize(q);
	return ret;
}

static int
check_histories(struct check *c)
{
	sqlite3_stmt *q = NULL;
	const char *zone, *actor, *why = NULL;
	size_t zlen, alen, klen, i;
	int rc, ret = -1;

	if (prepare(c, &q, "SELECT zone, actor, changes FROM"
	    " @S.zone_history") == -1)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = key_of(q, 0, &klen);

		if ((zone = col_text(q, 0, STORE_ORIGIN_MAX - 1, &zlen,
		    &why)) == NULL) {
			fail(c, "zone_history", key, klen, "zone %s", why);
			goto done;
		}
		if (!zone_known(c, zone)) {
			fail(c, "zone_history", key, klen, "not a zone of the"
			    " snapshot");
			goto done;
		}
		if ((actor = col_text(q, 1, ACTOR_MAX, &alen, &why)) ==
		    NULL || alen == 0) {
			fail(c, "zone_history", key, klen, "actor %s",
			    why != NULL ? why : "is empty");
			goto done;
		}
		for (i = 0; i < alen; i++) {
			if (!isxdigit((unsigned char)actor[i]) &&
			    actor[i] != '-') {
				fail(c, "zone_history", key, klen, "actor is not"
				    " a database uuid");
				goto done;
			}
		}
		if (sqlite3_column_type(q, 2) != SQLITE_INTEGER ||
		    sqlite3_column_int64(q, 2) < 0) {
			fail(c, "zone_history", key, klen, "changes is not an"
			    " integer >= 0");
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the zone histories");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(q);
	return ret;
}

/* ---- number versions and the version vector (schema 2) ---------------- */

/* One number_version row (q on it). */
static int
version_row(struct check *c, sqlite3_stmt *q)
{
	char verr[ENUMDR_ERRLEN];
	const struct zone_row *z;
	const char *e164, *zone, *origin, *room, *at, *why = NULL;
	size_t elen, zlen, olen, rlen, alen, klen;
	const char *key = key_of(q, 0, &klen);

	if ((e164 = col_text(q, 0, STORE_E164_MAX, &elen, &why)) == NULL)
		return fail(c, "number_version", key, klen, "e164 %s", why);
	if (store_e164_valid(e164, verr) == -1)
		return fail(c, "number_version", key, klen, "%s", verr);
	if ((zone = col_text(q, 1, STORE_ORIGIN_MAX - 1, &zlen, &why)) ==
	    NULL)
		return fail(c, "number_version", key, klen, "zone %s", why);
	/* a removed number's zone too: the store's rule */
	if ((z = zone_holding(c, e164)) == NULL)
		return fail(c, "number_version", key, klen, "no zone of the"
		    " snapshot covers it (it names zone %.*s)", 64, zone);
	if (strcmp(z->origin, zone) != 0)
		return fail(c, "number_version", key, klen, "it is held by zone"
		    " %s but belongs to zone %s (the longest prefix that starts"
		    " it)", zone_known(c, zone) ? zone :
		    "(not a zone of the snapshot)", z->origin);
	if ((origin = col_text(q, 2, ACTOR_MAX, &olen, &why)) == NULL ||
	    !uuid_valid(origin, olen))
		return fail(c, "number_version", key, klen, "origin %s",
		    why != NULL ? why :
		    "is not a database uuid (32 lowercase hex digits)");
	if (!col_int_min(q, 3, 1))
		return fail(c, "number_version", key, klen, "oseq is not an"
		    " integer >= 1");
	if (!col_int_min(q, 4, 1))
		return fail(c, "number_version", key, klen, "hlc is not an"
		    " integer >= 1");
	if ((room = col_text(q, 5, STORE_ROOM_MAX - 1, &rlen, &why)) ==
	    NULL || !room_valid(room, rlen))
		return fail(c, "number_version", key, klen, "room %s",
		    why != NULL ? why :
		    "is not a room name ([A-Za-z0-9_-]{1,63}) or \"\"");
	if (sqlite3_column_type(q, 6) != SQLITE_INTEGER ||
	    (sqlite3_column_int64(q, 6) != 0 &&
	    sqlite3_column_int64(q, 6) != 1))
		return fail(c, "number_version", key, klen, "removed is not"
		    " 0 or 1");
	if ((at = col_text(q, 7, UPDATED_MAX, &alen, &why)) == NULL ||
	    !util_utc_valid(at, alen))
		return fail(c, "number_version", key, klen, "at %s",
		    why != NULL ? why :
		    "is not a UTC time YYYY-MM-DDTHH:MM:SSZ");
	return 0;
}

/* Every number_version row; a version of a number that is not removed
 * names a number of the copy (a number without a version was written
 * before schema 2, and is allowed). */
static int
check_versions(struct check *c)
{
	sqlite3_stmt *q = NULL;
	size_t klen;
	int rc, ret = -1;

	if (prepare(c, &q, "SELECT e164, zone, origin, oseq, hlc, room,"
	    " removed, at FROM @S.number_version") == -1)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (version_row(c, q) == -1)
			goto done;
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the number versions");
		goto done;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (check_once(c, "SELECT e164 FROM @S.number_version GROUP BY e164"
	    " HAVING count(*) > 1 LIMIT 1", "number_version", "the number",
	    "read the number versions") == -1)
		goto done;
	/* every row is sound by now: removed is 0 or 1, zone the number's */
	if (prepare(c, &q, "SELECT v.e164, v.zone FROM @S.number_version v"
	    " WHERE v.removed = 0 AND NOT EXISTS (SELECT 1 FROM @S.number n"
	    " WHERE n.e164 = v.e164 AND n.zone = v.zone) LIMIT 1") == -1)
		goto done;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = key_of(q, 0, &klen);

		fail(c, "number_version", key, klen, "removed is 0 but the"
		    " snapshot has no such number in zone %s",
		    (const char *)sqlite3_column_text(q, 1));
		goto done;
	}
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the number versions");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(q);
	return ret;
}

/* Every origin_seen row (the version vector the import merges). */
static int
check_seen(struct check *c)
{
	sqlite3_stmt *q = NULL;
	const char *origin, *room, *why = NULL;
	size_t olen, rlen, klen;
	int rc, ret = -1;

	if (prepare(c, &q, "SELECT origin, room, oseq, hlc FROM"
	    " @S.origin_seen") == -1)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *key = key_of(q, 0, &klen);

		if ((origin = col_text(q, 0, ACTOR_MAX, &olen, &why)) ==
		    NULL || !uuid_valid(origin, olen)) {
			fail(c, "origin_seen", key, klen, "origin %s",
			    why != NULL ? why : "is not a database uuid"
			    " (32 lowercase hex digits)");
			goto done;
		}
		if ((room = col_text(q, 1, STORE_ROOM_MAX - 1, &rlen,
		    &why)) == NULL || !room_valid(room, rlen)) {
			fail(c, "origin_seen", key, klen, "room %s",
			    why != NULL ? why :
			    "is not a room name ([A-Za-z0-9_-]{1,63}) or \"\"");
			goto done;
		}
		if (!col_int_min(q, 2, 1)) {
			fail(c, "origin_seen", key, klen, "oseq is not an"
			    " integer >= 1");
			goto done;
		}
		if (!col_int_min(q, 3, 0)) {
			fail(c, "origin_seen", key, klen, "hlc is not an"
			    " integer >= 0");
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		sql_fail(c, "read the version vector");
		goto done;
	}
	ret = check_once(c, "SELECT origin FROM @S.origin_seen GROUP BY origin"
	    " HAVING count(*) > 1 LIMIT 1", "origin_seen", "the origin",
	    "read the version vector");
done:
	sqlite3_finalize(q);
	return ret;
}

int
rowcheck_database(sqlite3 *db, const char *schema, const char *path,
    char *row, size_t rowlen, char *err)
{
	struct check c;
	const char *p;
	int ret = -1;

	if (row != NULL && rowlen > 0)
		row[0] = '\0';
	for (p = schema; *p; p++) {
		if (!islower((unsigned char)*p) && *p != '_') {
			errf(err, "rowcheck: schema name \"%s\" is not one of"
			    " ours", schema);
			return -1;
		}
	}
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.schema = schema;
	c.path = path;
	c.row = row;
	c.rowlen = rowlen;
	c.err = err;
	if (check_schema(&c) == -1 || check_zones(&c) == -1 ||
	    check_numbers(&c) == -1 || check_parameters(&c) == -1 ||
	    check_histories(&c) == -1 || check_versions(&c) == -1 ||
	    check_seen(&c) == -1)
		goto done;
	ret = 0;
done:
	free(c.zones);
	return ret;
}
