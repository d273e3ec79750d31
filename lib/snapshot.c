/*
 * snapshot.c — consistent snapshots of the room's database and the serial
 * file that describes them (S0.1 periodic backup of the four tables plus
 * the zone serials, S1.2 first sync by export/import, S0.2 step 4 import).
 *
 * Export copies the live database with SQLite's online backup API into a
 * temporary file, switches the copy out of WAL mode, fsyncs and renames it,
 * then writes the serial file (zone serials and journal position read from
 * the copy itself, plus the copy's size and SHA-256) atomically.  Import
 * reads the serial file strictly, verifies the copy (size, SHA-256, SQLite
 * quick_check, schema version, and that its zones, serials, journal
 * position and identity are the ones the serial file names), attaches it to
 * the live connection and replaces the data in one transaction, so that a
 * failed import leaves the live data untouched.  The formats are documented
 * in doc/data-model.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rowcheck.h"
#include "sha256.h"
#include "snapshot.h"
#include "store.h"
#include "util.h"

#define SERIAL_FILE_MAGIC     "enumdr-serials"
/* Zones in one serial file.  An origin has at most 15 digit labels (39
 * bytes), so a zone line is at most 56 bytes: 10000 of them stay well
 * under SERIAL_FILE_MAX. */
#define SERIAL_FILE_ZONES_MAX 10000
#define SERIAL_LINE_MAX       512     /* bytes in one serial-file line */
#define SERIAL_TOKENS_MAX     4       /* words in one serial-file line */
#define SNAPSHOT_SCHEMA       "enumdr_snapshot"   /* ATTACH name on import */

/* ---- field checks --------------------------------------------------- */

/* A room or file name: 1..max-1 of [A-Za-z0-9._-], not starting with '.'
 * (it becomes a path component on the peer: no '/', no "..") */
static int
name_valid(const char *s, size_t max)
{
	size_t len = strlen(s), i;

	if (len == 0 || len >= max || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

/* 64 lowercase hex digits. */
static int
hex64_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* A database uuid as store.c makes it (hex, dashes tolerated), < max. */
static int
uuid_valid(const char *s, size_t max)
{
	size_t len = strlen(s), i;

	if (len == 0 || len >= max)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-'))
			return 0;
	return 1;
}

/* UTC time exactly as util_utc_iso8601 writes it: 2026-11-29T15:34:26Z. */
static int
created_valid(const char *s)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != sizeof(pattern) - 1)
		return 0;
	for (i = 0; pattern[i]; i++) {
		if (pattern[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return 0;
		} else if (s[i] != pattern[i])
			return 0;
	}
	return 1;
}

/* A canonical unsigned decimal (no sign, no leading zero) up to max. */
static int
parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i]; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* An origin as the store keeps it: valid, lowercase, no final dot. */
static int
origin_canonical(const char *origin, char *err)
{
	const char *p;

	if (store_origin_valid(origin, NULL, err) == -1)
		return -1;
	for (p = origin; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p == '.' && p[1] == '\0')) {
			errf(err, "zone \"%s\" is not in canonical form"
			    " (lowercase, no final dot)", origin);
			return -1;
		}
	}
	return 0;
}

static int
zone_order(const void *a, const void *b)
{
	return strcmp(((const struct serial_zone *)a)->origin,
	    ((const struct serial_zone *)b)->origin);
}

/* ---- serial file ------------------------------------------------------ */

void
serial_file_free(struct serial_file *sf)
{
	if (sf == NULL)
		return;
	free(sf->zones);
	sf->zones = NULL;
	sf->nzones = 0;
}

int
serial_file_zone(const struct serial_file *sf, const char *origin,
    uint32_t *serial)
{
	size_t i;

	for (i = 0; i < sf->nzones; i++) {
		if (strcmp(sf->zones[i].origin, origin) == 0) {
			if (serial != NULL)
				*serial = sf->zones[i].serial;
			return 1;
		}
	}
	return 0;
}

/*
 * Render sf in the documented line format, zones sorted by origin, with
 * the checksum line last.  Every field is checked as serial_file_read
 * would check it, so that we never write a file a peer refuses.
 */
int
serial_file_format(const struct serial_file *sf, char **textp, size_t *lenp,
    char *err)
{
	struct serial_zone *zones = NULL;
	char *text = NULL, hex[65], zerr[ENUMDR_ERRLEN];
	size_t cap, len = 0, i;
	int n, ret = -1;

	*textp = NULL;
	if (sf->version != SERIAL_FILE_VERSION) {
		errf(err, "serial file version %d: only version %d is written",
		    sf->version, SERIAL_FILE_VERSION);
		return -1;
	}
	if (!name_valid(sf->room, sizeof(sf->room))) {
		errf(err, "room name \"%.64s\" must be 1 to %zu of the"
		    " characters A-Z a-z 0-9 . _ - (not starting with '.')",
		    sf->room, sizeof(sf->room) - 1);
		return -1;
	}
	if (!created_valid(sf->created_at)) {
		errf(err, "created time \"%.32s\" is not YYYY-MM-DDTHH:MM:SSZ",
		    sf->created_at);
		return -1;
	}
	if (!uuid_valid(sf->database_uuid, sizeof(sf->database_uuid))) {
		errf(err, "database uuid \"%.64s\" is not lowercase hex",
		    sf->database_uuid);
		return -1;
	}
	if (sf->journal_pos < 0) {
		errf(err, "journal position %lld is negative",
		    (long long)sf->journal_pos);
		return -1;
	}
	if (!name_valid(sf->snapshot_name, sizeof(sf->snapshot_name))) {
		errf(err, "snapshot name \"%.64s\" is not a plain file name",
		    sf->snapshot_name);
		return -1;
	}
	if (!hex64_valid(sf->snapshot_sha256)) {
		errf(err, "snapshot checksum is not 64 lowercase hex digits");
		return -1;
	}
	if (sf->nzones > SERIAL_FILE_ZONES_MAX) {
		errf(err, "%zu zones: a serial file holds at most %d",
		    sf->nzones, SERIAL_FILE_ZONES_MAX);
		return -1;
	}
	for (i = 0; i < sf->nzones; i++) {
		if (memchr(sf->zones[i].origin, '\0',
		    sizeof(sf->zones[i].origin)) == NULL) {
			errf(err, "serial file zone %zu: origin not terminated",
			    i + 1);
			return -1;
		}
		if (origin_canonical(sf->zones[i].origin, zerr) == -1) {
			errf(err, "serial file zone %zu: %s", i + 1, zerr);
			return -1;
		}
	}
	if (sf->nzones > 0) {
		zones = malloc(sf->nzones * sizeof(*zones));
		if (zones == NULL) {
			errf(err, "out of memory formatting the serial file");
			return -1;
		}
		memcpy(zones, sf->zones, sf->nzones * sizeof(*zones));
		qsort(zones, sf->nzones, sizeof(*zones), zone_order);
	}
	for (i = 1; i < sf->nzones; i++) {
		if (strcmp(zones[i - 1].origin, zones[i].origin) == 0) {
			errf(err, "zone %s appears twice", zones[i].origin);
			goto done;
		}
	}

	cap = 1024 + sf->nzones * (STORE_ORIGIN_MAX + 16);
	if ((text = malloc(cap)) == NULL) {
		errf(err, "out of memory formatting the serial file");
		goto done;
	}
	n = snprintf(text, cap, "%s %d\nroom %s\ncreated %s\n"
	    "database-uuid %s\njournal %lld\nsnapshot %s %llu %s\n",
	    SERIAL_FILE_MAGIC, sf->version, sf->room, sf->created_at,
	    sf->database_uuid, (long long)sf->journal_pos, sf->snapshot_name,
	    (unsigned long long)sf->snapshot_size, sf->snapshot_sha256);
	if (n < 0 || (size_t)n >= cap)
		goto toolong;
	len = (size_t)n;
	for (i = 0; i < sf->nzones; i++) {
		n = snprintf(text + len, cap - len, "zone %s %lu\n",
		    zones[i].origin, (unsigned long)zones[i].serial);
		if (n < 0 || (size_t)n >= cap - len)
			goto toolong;
		len += (size_t)n;
	}
	sha256_hex(text, len, hex);
	n = snprintf(text + len, cap - len, "checksum %s\n", hex);
	if (n < 0 || (size_t)n >= cap - len)
		goto toolong;
	len += (size_t)n;
	*textp = text;
	text = NULL;
	if (lenp != NULL)
		*lenp = len;
	ret = 0;
	goto done;
toolong:
	errf(err, "serial file longer than expected (internal error)");
done:
	free(text);
	free(zones);
	return ret;
}

/* Reader state for serial_file_read: the file, the line being read. */
struct serial_reader {
	const char *path;
	const char *buf;        /* whole file, NUL-terminated */
	size_t len;
	size_t off;             /* start of the next line */
	size_t lineno;          /* 1-based number of the current line */
	size_t linestart;       /* offset of the current line */
	char line[SERIAL_LINE_MAX + 1];
	char *tok[SERIAL_TOKENS_MAX];
	size_t ntok;
};

/*
 * Take the next line and split it at single spaces.  0: a line; 1: end of
 * file; -1: malformed (err says why, with file and line).
 */
static int
reader_next(struct serial_reader *r, char *err)
{
	const char *nl;
	size_t n, i;
	char *p;

	if (r->off >= r->len)
		return 1;
	r->lineno++;
	r->linestart = r->off;
	nl = memchr(r->buf + r->off, '\n', r->len - r->off);
	if (nl == NULL) {
		errf(err, "%s:%zu: last line has no newline (truncated file?)",
		    r->path, r->lineno);
		return -1;
	}
	n = (size_t)(nl - (r->buf + r->off));
	if (n > SERIAL_LINE_MAX) {
		errf(err, "%s:%zu: line longer than %d bytes", r->path,
		    r->lineno, SERIAL_LINE_MAX);
		return -1;
	}
	memcpy(r->line, r->buf + r->off, n);
	r->line[n] = '\0';
	r->off += n + 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r->line[i];

		if (c < 0x20 || c > 0x7e) {
			errf(err, "%s:%zu: character %zu is not printable"
			    " ASCII", r->path, r->lineno, i + 1);
			return -1;
		}
	}
	r->ntok = 0;
	p = r->line;
	for (;;) {
		char *sp;

		if (*p == '\0' || *p == ' ') {
			errf(err, "%s:%zu: empty word (words are separated by"
			    " one space)", r->path, r->lineno);
			return -1;
		}
		if (r->ntok == SERIAL_TOKENS_MAX) {
			errf(err, "%s:%zu: more than %d words", r->path,
			    r->lineno, SERIAL_TOKENS_MAX);
			return -1;
		}
		r->tok[r->ntok++] = p;
		if ((sp = strchr(p, ' ')) == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	return 0;
}

/* The current line must be "keyword" followed by nargs words. */
static int
reader_expect(struct serial_reader *r, int rc, const char *keyword,
    size_t nargs, char *err)
{
	if (rc == 1) {
		errf(err, "%s:%zu: file ends where the \"%s\" line belongs",
		    r->path, r->lineno + 1, keyword);
		return -1;
	}
	if (rc == -1)
		return -1;
	if (strcmp(r->tok[0], keyword) != 0) {
		errf(err, "%s:%zu: unknown line \"%.40s\", expected \"%s\"",
		    r->path, r->lineno, r->tok[0], keyword);
		return -1;
	}
	if (r->ntok != nargs + 1) {
		errf(err, "%s:%zu: \"%s\" takes %zu value%s, found %zu",
		    r->path, r->lineno, keyword, nargs, nargs == 1 ? "" : "s",
		    r->ntok - 1);
		return -1;
	}
	return 0;
}

/* Parse the lines of a serial file already in r into sf. */
static int
serial_parse(struct serial_reader *r, struct serial_file *sf, char *err)
{
	char zerr[ENUMDR_ERRLEN], hex[65];
	size_t cap = 0;
	uint64_t v;
	int rc;

	/* enumdr-serials VERSION */
	rc = reader_next(r, err);
	if (rc == 0 && strcmp(r->tok[0], SERIAL_FILE_MAGIC) != 0) {
		errf(err, "%s:1: not an enumdr serial file (first line must"
		    " be \"%s %d\")", r->path, SERIAL_FILE_MAGIC,
		    SERIAL_FILE_VERSION);
		return -1;
	}
	if (reader_expect(r, rc, SERIAL_FILE_MAGIC, 1, err) == -1)
		return -1;
	if (parse_decimal(r->tok[1], 1000000, &v) == -1 ||
	    v != SERIAL_FILE_VERSION) {
		errf(err, "%s:%zu: unsupported serial file version \"%.20s\""
		    " (this program reads version %d)", r->path, r->lineno,
		    r->tok[1], SERIAL_FILE_VERSION);
		return -1;
	}
	sf->version = (int)v;

	/* room NAME */
	if (reader_expect(r, reader_next(r, err), "room", 1, err) == -1)
		return -1;
	if (!name_valid(r->tok[1], sizeof(sf->room))) {
		errf(err, "%s:%zu: invalid room name \"%.64s\"", r->path,
		    r->lineno, r->tok[1]);
		return -1;
	}
	strlcpy_(sf->room, r->tok[1], sizeof(sf->room));

	/* created TIME */
	if (reader_expect(r, reader_next(r, err), "created", 1, err) == -1)
		return -1;
	if (!created_valid(r->tok[1])) {
		errf(err, "%s:%zu: created time \"%.32s\" is not"
		    " YYYY-MM-DDTHH:MM:SSZ", r->path, r->lineno, r->tok[1]);
		return -1;
	}
	strlcpy_(sf->created_at, r->tok[1], sizeof(sf->created_at));

	/* database-uuid UUID */
	if (reader_expect(r, reader_next(r, err), "database-uuid", 1,
	    err) == -1)
		return -1;
	if (!uuid_valid(r->tok[1], sizeof(sf->database_uuid))) {
		errf(err, "%s:%zu: database uuid \"%.64s\" is not lowercase"
		    " hex", r->path, r->lineno, r->tok[1]);
		return -1;
	}
	strlcpy_(sf->database_uuid, r->tok[1], sizeof(sf->database_uuid));

	/* journal POSITION */
	if (reader_expect(r, reader_next(r, err), "journal", 1, err) == -1)
		return -1;
	if (parse_decimal(r->tok[1], INT64_MAX, &v) == -1) {
		errf(err, "%s:%zu: journal position \"%.24s\" is not a"
		    " decimal number", r->path, r->lineno, r->tok[1]);
		return -1;
	}
	sf->journal_pos = (int64_t)v;

	/* snapshot NAME SIZE SHA256 */
	if (reader_expect(r, reader_next(r, err), "snapshot", 3, err) == -1)
		return -1;
	if (!name_valid(r->tok[1], sizeof(sf->snapshot_name))) {
		errf(err, "%s:%zu: snapshot name \"%.64s\" is not a plain file"
		    " name", r->path, r->lineno, r->tok[1]);
		return -1;
	}
	strlcpy_(sf->snapshot_name, r->tok[1], sizeof(sf->snapshot_name));
	if (parse_decimal(r->tok[2], INT64_MAX, &v) == -1) {
		errf(err, "%s:%zu: snapshot size \"%.24s\" is not a decimal"
		    " number", r->path, r->lineno, r->tok[2]);
		return -1;
	}
	sf->snapshot_size = v;
	if (!hex64_valid(r->tok[3])) {
		errf(err, "%s:%zu: snapshot checksum is not 64 lowercase hex"
		    " digits", r->path, r->lineno);
		return -1;
	}
	strlcpy_(sf->snapshot_sha256, r->tok[3], sizeof(sf->snapshot_sha256));

	/* zone ORIGIN SERIAL ..., in ascending order, then checksum HEX */
	for (;;) {
		struct serial_zone *z;

		rc = reader_next(r, err);
		if (rc == 1) {
			errf(err, "%s:%zu: file ends before the checksum line"
			    " (truncated file?)", r->path, r->lineno + 1);
			return -1;
		}
		if (rc == -1)
			return -1;
		if (strcmp(r->tok[0], "checksum") == 0)
			break;
		if (strcmp(r->tok[0], "zone") != 0) {
			errf(err, "%s:%zu: unknown line \"%.40s\", expected"
			    " \"zone\" or \"checksum\"", r->path, r->lineno,
			    r->tok[0]);
			return -1;
		}
		if (reader_expect(r, 0, "zone", 2, err) == -1)
			return -1;
		if (sf->nzones == SERIAL_FILE_ZONES_MAX) {
			errf(err, "%s:%zu: more than %d zones", r->path,
			    r->lineno, SERIAL_FILE_ZONES_MAX);
			return -1;
		}
		if (origin_canonical(r->tok[1], zerr) == -1) {
			errf(err, "%s:%zu: %s", r->path, r->lineno, zerr);
			return -1;
		}
		if (sf->nzones > 0 && strcmp(sf->zones[sf->nzones - 1].origin,
		    r->tok[1]) >= 0) {
			errf(err, "%s:%zu: zone %s is out of order or repeated"
			    " (zones are sorted by origin)", r->path,
			    r->lineno, r->tok[1]);
			return -1;
		}
		if (parse_decimal(r->tok[2], UINT32_MAX, &v) == -1) {
			errf(err, "%s:%zu: serial \"%.24s\" of zone %s is not a"
			    " decimal number 0-4294967295", r->path,
			    r->lineno, r->tok[2], r->tok[1]);
			return -1;
		}
		if (sf->nzones == cap) {
			cap = cap ? cap * 2 : 16;
			if ((z = realloc(sf->zones, cap * sizeof(*z))) == NULL) {
				errf(err, "out of memory reading %s", r->path);
				return -1;
			}
			sf->zones = z;
		}
		z = &sf->zones[sf->nzones++];
		memset(z, 0, sizeof(*z));
		strlcpy_(z->origin, r->tok[1], sizeof(z->origin));
		z->serial = (uint32_t)v;
	}

	/* checksum HEX: SHA-256 of every byte before this line */
	if (reader_expect(r, 0, "checksum", 1, err) == -1)
		return -1;
	if (!hex64_valid(r->tok[1])) {
		errf(err, "%s:%zu: checksum is not 64 lowercase hex digits",
		    r->path, r->lineno);
		return -1;
	}
	sha256_hex(r->buf, r->linestart, hex);
	if (strcmp(hex, r->tok[1]) != 0) {
		errf(err, "%s:%zu: checksum mismatch: the file says %.12s...,"
		    " its lines hash to %.12s... (corrupted or edited file)",
		    r->path, r->lineno, r->tok[1], hex);
		return -1;
	}
	if (reader_next(r, err) != 1) {
		errf(err, "%s:%zu: text after the checksum line", r->path,
		    r->lineno);
		return -1;
	}
	return 0;
}

int
serial_file_read(const char *path, struct serial_file *sf, char *err)
{
	struct serial_reader *r;
	char *buf = NULL;
	size_t len;
	int ret = -1;

	memset(sf, 0, sizeof(*sf));
	if (util_read_file(path, SERIAL_FILE_MAX, &buf, &len, err) == -1)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		errf(err, "out of memory reading %s", path);
		goto done;
	}
	if (strlen(buf) != len) {
		errf(err, "%s: contains a NUL byte at offset %zu", path,
		    strlen(buf));
		goto done;
	}
	r->path = path;
	r->buf = buf;
	r->len = len;
	if (serial_parse(r, sf, err) == -1)
		goto done;
	ret = 0;
done:
	if (ret == -1)
		serial_file_free(sf);
	free(r);
	free(buf);
	return ret;
}

/* ---- small SQLite helpers ------------------------------------------- */

/* Run sql with up to two text parameters to completion; SQLite code. */
static int
exec_bound(sqlite3 *db, const char *sql, const char *a1, const char *a2)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (a1 != NULL)
		sqlite3_bind_text(q, 1, a1, -1, SQLITE_STATIC);
	if (a2 != NULL)
		sqlite3_bind_text(q, 2, a2, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		;
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Identity, journal position and zone serials of a database (main or an
 * attached schema), sorted by origin; *zones malloc'd. */
static int
read_description(sqlite3 *db, const char *path, int *schema_version,
    char *uuid, size_t uuidlen, int64_t *journal_pos,
    struct serial_zone **zonesp, size_t *nzonesp, char *err)
{
	struct serial_zone *zones = NULL, *nz;
	sqlite3_stmt *q = NULL;
	size_t n = 0, cap = 0;
	int rc, ret = -1;
	const char *what;

	*zonesp = NULL;
	*nzonesp = 0;
	what = "read database_identity";
	rc = sqlite3_prepare_v2(db, "SELECT schema_version, uuid FROM"
	    " database_identity WHERE id = 1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			errf(err, "%s: database_identity has no row", path);
			goto done;
		}
		goto sqlfail;
	}
	*schema_version = sqlite3_column_int(q, 0);
	strlcpy_(uuid, sqlite3_column_text(q, 1) ?
	    (const char *)sqlite3_column_text(q, 1) : "", uuidlen);
	sqlite3_finalize(q);
	q = NULL;

	what = "read journal position";
	rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM journal",
	    -1, &q, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		goto sqlfail;
	*journal_pos = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;

	what = "read zone serials";
	rc = sqlite3_prepare_v2(db, "SELECT origin, serial FROM zone"
	    " ORDER BY origin", -1, &q, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *origin = (const char *)sqlite3_column_text(q, 0);
		sqlite3_int64 serial = sqlite3_column_int64(q, 1);

		if (origin == NULL || strlen(origin) >= STORE_ORIGIN_MAX ||
		    serial < 0 || serial > UINT32_MAX) {
			errf(err, "%s: zone row \"%.40s\" has an invalid origin"
			    " or serial", path, origin ? origin : "");
			goto done;
		}
		if (n == SERIAL_FILE_ZONES_MAX) {
			errf(err, "%s: more than %d zones", path,
			    SERIAL_FILE_ZONES_MAX);
			goto done;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nz = realloc(zones, cap * sizeof(*nz))) == NULL) {
				errf(err, "out of memory reading %s", path);
				goto done;
			}
			zones = nz;
		}
		memset(&zones[n], 0, sizeof(zones[n]));
		strlcpy_(zones[n].origin, origin, sizeof(zones[n].origin));
		zones[n].serial = (uint32_t)serial;
		n++;
	}
	if (rc != SQLITE_DONE)
		goto sqlfail;
	*zonesp = zones;
	*nzonesp = n;
	zones = NULL;
	ret = 0;
	goto done;
sqlfail:
	errf(err, "%s: %s: %s", path, what, sqlite3_errmsg(db));
done:
	sqlite3_finalize(q);
	free(zones);
	return ret;
}

/* fsync a regular file by name. */
static int
fsync_file(const char *path, char *err)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errf_errno(err, "open %s", path);
		return -1;
	}
	if (fsync(fd) == -1) {
		errf_errno(err, "fsync %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Remove a temporary database copy and the journal SQLite may leave. */
static void
unlink_db_tmp(const char *tmp)
{
	char side[PATH_MAX];

	unlink(tmp);
	if (snprintf(side, sizeof(side), "%s-journal", tmp) <
	    (int)sizeof(side))
		unlink(side);
	if (snprintf(side, sizeof(side), "%s-wal", tmp) < (int)sizeof(side))
		unlink(side);
	if (snprintf(side, sizeof(side), "%s-shm", tmp) < (int)sizeof(side))
		unlink(side);
}

/* ---- export ------------------------------------------------------------ */

int
snapshot_export(struct store *st, const char *dir, const char *room,
    struct serial_file *sfp, char *err)
{
	char dbpath[PATH_MAX], tmp[PATH_MAX], serpath[PATH_MAX], mode[16];
	struct serial_file sf;
	sqlite3 *copy = NULL;
	sqlite3_backup *bk;
	sqlite3_stmt *q;
	char *text = NULL;
	size_t len;
	int rc, version, ret = -1, have_tmp = 0;

	memset(&sf, 0, sizeof(sf));
	if (sfp != NULL)
		memset(sfp, 0, sizeof(*sfp));
	if (!name_valid(room, sizeof(sf.room))) {
		errf(err, "export: room name \"%.64s\" must be 1 to %zu of the"
		    " characters A-Z a-z 0-9 . _ - (not starting with '.')",
		    room, sizeof(sf.room) - 1);
		return -1;
	}
	if (util_mkdir_p(dir, 0750, err) == -1)
		return -1;
	/* the copies an export killed mid-way left behind (a 1M-number
	 * copy is hundreds of MB: a crash loop must not fill the disk) */
	if (util_remove_stale_temps(dir, 0, NULL, err) == -1)
		return -1;
	if (util_path_join(dbpath, sizeof(dbpath), dir, SNAPSHOT_DB_NAME,
	    err) == -1 ||
	    util_path_join(serpath, sizeof(serpath), dir,
	    SNAPSHOT_SERIALS_NAME, err) == -1)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", dbpath,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		errf(err, "path too long: %s", dbpath);
		return -1;
	}

	/* 1. the copy, under a temporary name */
	unlink_db_tmp(tmp);
	have_tmp = 1;
	rc = sqlite3_open_v2(tmp, &copy, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		errf(err, "export: create %s: %s", tmp, copy ?
		    sqlite3_errmsg(copy) : sqlite3_errstr(rc));
		goto done;
	}
	bk = sqlite3_backup_init(copy, "main", store_handle(st), "main");
	if (bk == NULL) {
		errf(err, "export: start backup of %s into %s: %s",
		    store_path(st), tmp, sqlite3_errmsg(copy));
		goto done;
	}
	rc = sqlite3_backup_step(bk, -1);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		errf(err, "export: backup of %s into %s: %s", store_path(st),
		    tmp, sqlite3_errstr(rc));
		goto done;
	}

	/* 2. the copy keeps no WAL: a single file is what we hand over */
	rc = sqlite3_prepare_v2(copy, "PRAGMA journal_mode=DELETE", -1, &q,
	    NULL);
	if (rc == SQLITE_OK) {
		mode[0] = '\0';
		if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			strlcpy_(mode, sqlite3_column_text(q, 0) ?
			    (const char *)sqlite3_column_text(q, 0) : "",
			    sizeof(mode));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(q);
	}
	if (rc != SQLITE_OK || strcmp(mode, "delete") != 0) {
		errf(err, "export: switch %s to journal_mode=delete: %s", tmp,
		    rc != SQLITE_OK ? sqlite3_errmsg(copy) : mode);
		goto done;
	}

	/* 3. what the serial file says is read from the copy itself */
	if (read_description(copy, tmp, &version, sf.database_uuid,
	    sizeof(sf.database_uuid), &sf.journal_pos, &sf.zones, &sf.nzones,
	    err) == -1)
		goto done;
	rc = sqlite3_close(copy);
	copy = NULL;
	if (rc != SQLITE_OK) {
		errf(err, "export: close %s: %s", tmp, sqlite3_errstr(rc));
		goto done;
	}

	/* 4. durable, then visible under its name */
	if (fsync_file(tmp, err) == -1)
		goto done;
	if (rename(tmp, dbpath) == -1) {
		errf_errno(err, "export: rename %s to %s", tmp, dbpath);
		goto done;
	}
	have_tmp = 0;
	if (util_fsync_dir(dir, err) == -1)
		goto done;

	/* 5. the serial file, naming the copy's size and checksum */
	if (sha256_file(dbpath, sf.snapshot_sha256, &sf.snapshot_size,
	    err) == -1)
		goto done;
	sf.version = SERIAL_FILE_VERSION;
	strlcpy_(sf.room, room, sizeof(sf.room));
	util_utc_iso8601(sf.created_at, sizeof(sf.created_at));
	strlcpy_(sf.snapshot_name, SNAPSHOT_DB_NAME, sizeof(sf.snapshot_name));
	if (serial_file_format(&sf, &text, &len, err) == -1)
		goto done;
	if (util_write_file_atomic(serpath, text, len, 0640, err) == -1)
		goto done;
	if (sfp != NULL) {
		*sfp = sf;
		memset(&sf, 0, sizeof(sf));
	}
	ret = 0;
done:
	if (copy != NULL)
		sqlite3_close(copy);
	if (have_tmp)
		unlink_db_tmp(tmp);
	free(text);
	serial_file_free(&sf);
	return ret;
}

/* ---- verify -------------------------------------------------------------- */

/*
 * snapshot_verify, also returning the stat of the file it checked so that
 * the import can make sure it attaches that very file.
 */
static int
verify_snapshot(const char *dir, const struct serial_file *sf,
    struct stat *sbp, char *err)
{
	char path[PATH_MAX], hex[65], uuid[64], result[128];
	struct serial_zone *zones = NULL;
	struct stat sb, sb2;
	sqlite3 *db = NULL;
	sqlite3_stmt *q;
	uint64_t size;
	int64_t journal_pos;
	size_t nzones = 0, i;
	int rc, version, ret = -1;

	if (!name_valid(sf->snapshot_name, sizeof(sf->snapshot_name))) {
		errf(err, "snapshot name \"%.64s\" is not a plain file name",
		    sf->snapshot_name);
		return -1;
	}
	if (util_path_join(path, sizeof(path), dir, sf->snapshot_name,
	    err) == -1)
		return -1;
	if (stat(path, &sb) == -1) {
		errf_errno(err, "snapshot %s", path);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		errf(err, "snapshot %s is not a regular file", path);
		return -1;
	}

	/* size and checksum: a truncated or bit-flipped copy stops here */
	if (sha256_file(path, hex, &size, err) == -1)
		return -1;
	if (size != sf->snapshot_size) {
		errf(err, "snapshot %s: size is %llu bytes, the serial file"
		    " says %llu (truncated or incomplete transfer)", path,
		    (unsigned long long)size,
		    (unsigned long long)sf->snapshot_size);
		return -1;
	}
	if (strcmp(hex, sf->snapshot_sha256) != 0) {
		errf(err, "snapshot %s: sha256 checksum mismatch: the file"
		    " hashes to %.12s..., the serial file says %.12s..."
		    " (corrupted copy)", path, hex, sf->snapshot_sha256);
		return -1;
	}

	/* a sound SQLite database of our schema */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		errf(err, "snapshot %s: open: %s", path, db ?
		    sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto done;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		result[0] = '\0';
		if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			strlcpy_(result, sqlite3_column_text(q, 0) ?
			    (const char *)sqlite3_column_text(q, 0) : "",
			    sizeof(result));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(q);
	}
	if (rc != SQLITE_OK) {
		errf(err, "snapshot %s: quick_check: %s", path,
		    sqlite3_errmsg(db));
		goto done;
	}
	if (strcmp(result, "ok") != 0) {
		errf(err, "snapshot %s: quick_check failed: %s", path, result);
		goto done;
	}
	if (read_description(db, path, &version, uuid, sizeof(uuid),
	    &journal_pos, &zones, &nzones, err) == -1)
		goto done;
	if (version != STORE_SCHEMA_VERSION) {
		errf(err, "snapshot %s: schema version %d, this program uses"
		    " %d", path, version, STORE_SCHEMA_VERSION);
		goto done;
	}

	/* and the database the serial file describes, not another one */
	if (strcmp(uuid, sf->database_uuid) != 0) {
		errf(err, "snapshot %s: database uuid %s, the serial file says"
		    " %s", path, uuid, sf->database_uuid);
		goto done;
	}
	if (journal_pos != sf->journal_pos) {
		errf(err, "snapshot %s: journal position %lld, the serial file"
		    " says %lld", path, (long long)journal_pos,
		    (long long)sf->journal_pos);
		goto done;
	}
	for (i = 0; i < nzones || i < sf->nzones; i++) {
		if (i >= nzones || i >= sf->nzones ||
		    strcmp(zones[i].origin, sf->zones[i].origin) != 0) {
			errf(err, "snapshot %s: its zones differ from the"
			    " serial file's (%s here, %s there)", path,
			    i < nzones ? zones[i].origin : "none",
			    i < sf->nzones ? sf->zones[i].origin : "none");
			goto done;
		}
		if (zones[i].serial != sf->zones[i].serial) {
			errf(err, "snapshot %s: zone %s has serial %lu, the"
			    " serial file says %lu", path, zones[i].origin,
			    (unsigned long)zones[i].serial,
			    (unsigned long)sf->zones[i].serial);
			goto done;
		}
	}

	/* the file did not change under us while we checked it */
	if (stat(path, &sb2) == -1 || sb2.st_dev != sb.st_dev ||
	    sb2.st_ino != sb.st_ino || sb2.st_size != sb.st_size ||
	    sb2.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
	    sb2.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) {
		errf(err, "snapshot %s changed while it was being verified",
		    path);
		goto done;
	}
	if (sbp != NULL)
		*sbp = sb;
	ret = 0;
done:
	free(zones);
	if (db != NULL)
		sqlite3_close(db);
	return ret;
}

int
snapshot_verify(const char *dir, const struct serial_file *sf, char *err)
{
	return verify_snapshot(dir, sf, NULL, err);
}

/* ---- fetch ---------------------------------------------------------------- */

int
snapshot_fetch(const char *dir_url, const char *dir,
    const struct transfer_opts *opts, char *err)
{
	static const char *const names[] = { SNAPSHOT_DB_NAME,
	    SNAPSHOT_SERIALS_NAME };
	char url[CONFIG_URL_MAX + 64], path[PATH_MAX];
	size_t i;

	if (util_mkdir_p(dir, 0750, err) == -1)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (transfer_url_join(url, sizeof(url), dir_url, names[i],
		    err) == -1 ||
		    util_path_join(path, sizeof(path), dir, names[i], err) == -1 ||
		    transfer_get(url, path, opts, err) == -1)
			return -1;
	}
	return 0;
}

/* ---- import -------------------------------------------------------------- */

/* Replace everything (zones == NULL), inside the open transaction. */
static int
import_all(sqlite3 *db, const char *now, const char **step)
{
	int rc;

	*step = "clear numbers";
	if ((rc = exec_bound(db, "DELETE FROM main.number", NULL, NULL)))
		return rc;
	*step = "clear zones";
	if ((rc = exec_bound(db, "DELETE FROM main.zone", NULL, NULL)))
		return rc;
	*step = "clear parameters";
	if ((rc = exec_bound(db, "DELETE FROM main.parameter", NULL, NULL)))
		return rc;
	*step = "copy zones";
	if ((rc = exec_bound(db, "INSERT INTO main.zone (origin, prefix,"
	    " serial, updated_at) SELECT origin, prefix, serial, updated_at"
	    " FROM " SNAPSHOT_SCHEMA ".zone", NULL, NULL)))
		return rc;
	*step = "copy numbers";
	if ((rc = exec_bound(db, "INSERT INTO main.number (e164, zone, naptr,"
	    " updated_at) SELECT e164, zone, naptr, updated_at FROM "
	    SNAPSHOT_SCHEMA ".number", NULL, NULL)))
		return rc;
	*step = "copy parameters";
	if ((rc = exec_bound(db, "INSERT INTO main.parameter (name, value)"
	    " SELECT name, value FROM " SNAPSHOT_SCHEMA ".parameter", NULL,
	    NULL)))
		return rc;
	*step = "copy zone histories";
	if ((rc = exec_bound(db, "DELETE FROM main.zone_history", NULL, NULL)) ||
	    (rc = exec_bound(db, "INSERT INTO main.zone_history (zone, actor,"
	    " changes) SELECT zone, actor, changes FROM " SNAPSHOT_SCHEMA
	    ".zone_history", NULL, NULL)))
		return rc;
	*step = "append journal rows";
	return exec_bound(db, "INSERT INTO main.journal (at, op, e164, zone,"
	    " serial, records) SELECT ?1, 'import', '', origin, serial, ''"
	    " FROM " SNAPSHOT_SCHEMA ".zone ORDER BY origin", now, NULL);
}

/* Replace one zone and its numbers, inside the open transaction.  -1 with
 * err for a conflict we name ourselves, else an SQLite code. */
static int
import_zone(sqlite3 *db, const char *origin, const char *now,
    const char **step, char *conflict, size_t conflictlen)
{
	sqlite3_stmt *q;
	int rc;

	*step = "clear the zone's numbers";
	if ((rc = exec_bound(db, "DELETE FROM main.number WHERE zone = ?1",
	    origin, NULL)))
		return rc;
	*step = "clear the zone";
	if ((rc = exec_bound(db, "DELETE FROM main.zone WHERE origin = ?1",
	    origin, NULL)))
		return rc;
	*step = "copy the zone";
	if ((rc = exec_bound(db, "INSERT INTO main.zone (origin, prefix,"
	    " serial, updated_at) SELECT origin, prefix, serial, updated_at"
	    " FROM " SNAPSHOT_SCHEMA ".zone WHERE origin = ?1", origin, NULL)))
		return rc;
	/* A number of this zone that we hold under another zone (a zone
	 * we do not have whose prefix is longer than one of ours) would
	 * otherwise be a bare UNIQUE error: name it. */
	*step = "check the zone's numbers";
	rc = sqlite3_prepare_v2(db, "SELECT n.e164, n.zone FROM "
	    SNAPSHOT_SCHEMA ".number s JOIN main.number n ON n.e164 = s.e164"
	    " WHERE s.zone = ?1 LIMIT 1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(q, 1, origin, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		snprintf(conflict, conflictlen, "number %s of zone %s is held"
		    " here by zone %s; import all zones instead",
		    (const char *)sqlite3_column_text(q, 0), origin,
		    (const char *)sqlite3_column_text(q, 1));
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return rc;
	*step = "copy the zone's numbers";
	if ((rc = exec_bound(db, "INSERT INTO main.number (e164, zone, naptr,"
	    " updated_at) SELECT e164, zone, naptr, updated_at FROM "
	    SNAPSHOT_SCHEMA ".number WHERE zone = ?1", origin, NULL)))
		return rc;
	/* The peer's history of the zone comes with its data. */
	*step = "copy the zone's history";
	if ((rc = exec_bound(db, "DELETE FROM main.zone_history WHERE zone = ?1",
	    origin, NULL)) ||
	    (rc = exec_bound(db, "INSERT INTO main.zone_history (zone, actor,"
	    " changes) SELECT zone, actor, changes FROM " SNAPSHOT_SCHEMA
	    ".zone_history WHERE zone = ?1", origin, NULL)))
		return rc;
	*step = "append the journal row";
	return exec_bound(db, "INSERT INTO main.journal (at, op, e164, zone,"
	    " serial, records) SELECT ?1, 'import', '', origin, serial, ''"
	    " FROM " SNAPSHOT_SCHEMA ".zone WHERE origin = ?2", now, origin);
}

int
snapshot_import(struct store *st, const char *dir, const char *const *zones,
    size_t nzones, char *err)
{
	return snapshot_import_checked(st, dir, zones, nzones, NULL, 0, err);
}

int
snapshot_import_checked(struct store *st, const char *dir,
    const char *const *zones, size_t nzones, char *row, size_t rowlen,
    char *err)
{
	char serpath[PATH_MAX], dbpath[PATH_MAX], now[32], conflict[256];
	struct serial_file sf;
	struct stat before, after;
	sqlite3 *db = store_handle(st);
	const char *step = "attach";
	size_t i, j;
	int rc, ret = -1, attached = 0, intx = 0;

	memset(&sf, 0, sizeof(sf));
	conflict[0] = '\0';
	if (util_path_join(serpath, sizeof(serpath), dir,
	    SNAPSHOT_SERIALS_NAME, err) == -1)
		return -1;
	if (serial_file_read(serpath, &sf, err) == -1)
		return -1;
	if (verify_snapshot(dir, &sf, &before, err) == -1)
		goto done;
	if (util_path_join(dbpath, sizeof(dbpath), dir, sf.snapshot_name,
	    err) == -1)
		goto done;
	for (i = 0; zones != NULL && i < nzones; i++) {
		if (!serial_file_zone(&sf, zones[i], NULL)) {
			errf(err, "import from %s: zone %s is not in the"
			    " snapshot", dbpath, zones[i]);
			goto done;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(zones[i], zones[j]) == 0) {
				errf(err, "import from %s: zone %s is listed"
				    " twice", dbpath, zones[i]);
				goto done;
			}
		}
	}

	/* attach the very file we verified */
	rc = exec_bound(db, "ATTACH DATABASE ?1 AS " SNAPSHOT_SCHEMA, dbpath,
	    NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	attached = 1;
	if (stat(dbpath, &after) == -1 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino || after.st_size != before.st_size ||
	    after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
		errf(err, "import: snapshot %s was replaced after it was"
		    " verified; try again", dbpath);
		goto done;
	}

	step = "begin transaction";
	if ((rc = exec_bound(db, "BEGIN IMMEDIATE", NULL, NULL)) != SQLITE_OK)
		goto sqlfail;
	intx = 1;
	/* Every row of the copy by the store's rules, read inside the
	 * transaction that copies them: what is checked is what is copied,
	 * and one bad row refuses the whole snapshot (rowcheck.h). */
	if (rowcheck_database(db, SNAPSHOT_SCHEMA, dbpath, row, rowlen,
	    err) == -1) {
		ret = row != NULL && row[0] != '\0' ? SNAPSHOT_EINVALID : -1;
		goto done;
	}
	util_utc_iso8601(now, sizeof(now));
	if (zones == NULL) {
		if ((rc = import_all(db, now, &step)) != SQLITE_OK)
			goto sqlfail;
	} else {
		for (i = 0; i < nzones; i++) {
			rc = import_zone(db, zones[i], now, &step, conflict,
			    sizeof(conflict));
			if (rc == -1) {
				errf(err, "import from %s: %s", dbpath,
				    conflict);
				goto done;
			}
			if (rc != SQLITE_OK) {
				errf(err, "import from %s: zone %s: %s: %s",
				    dbpath, zones[i], step,
				    sqlite3_errmsg(db));
				goto done;
			}
		}
	}
	step = "commit";
	if ((rc = exec_bound(db, "COMMIT", NULL, NULL)) != SQLITE_OK)
		goto sqlfail;
	intx = 0;
	ret = 0;
	goto done;
sqlfail:
	errf(err, "import from %s: %s: %s", dbpath, step, sqlite3_errmsg(db));
done:
	if (intx)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (attached)
		sqlite3_exec(db, "DETACH DATABASE " SNAPSHOT_SCHEMA, NULL,
		    NULL, NULL);
	serial_file_free(&sf);
	return ret;
}
