/*
 * serialfile.c — the serial file's text format (S0.1, S0.2): the strict
 * reader that a peer's file must pass before its snapshot is trusted, and
 * the writer that renders one, checking every field as the reader would.
 * The format is documented in doc/data-model.md and serialfile.h.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serialfile.h"
#include "sha256.h"
#include "store.h"
#include "util.h"

#define SERIAL_FILE_MAGIC     "enumdr-serials"
#define SERIAL_LINE_MAX       512     /* bytes in one serial-file line */
#define SERIAL_TOKENS_MAX     4       /* words in one serial-file line */

/* ---- field checks --------------------------------------------------- */

/* A room or file name: 1..max-1 of [A-Za-z0-9._-], not starting with '.'
 * (it becomes a path component on the peer: no '/', no "..") */
int
serial_file_name_valid(const char *s, size_t max)
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

/* Every field of sf as serial_file_read would check it (zone order
 * aside: the writer sorts). */
static int
format_check(const struct serial_file *sf, char *err)
{
	char zerr[ENUMDR_ERRLEN];
	size_t i;

	if (sf->version != SERIAL_FILE_VERSION) {
		errf(err, "serial file version %d: only version %d is written",
		    sf->version, SERIAL_FILE_VERSION);
		return -1;
	}
	if (!serial_file_name_valid(sf->room, sizeof(sf->room))) {
		errf(err, "room name \"%.64s\" must be 1 to %zu of the"
		    " characters A-Z a-z 0-9 . _ - (not starting with '.')",
		    sf->room, sizeof(sf->room) - 1);
		return -1;
	}
	if (!util_utc_valid(sf->created_at, strlen(sf->created_at))) {
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
	if (!serial_file_name_valid(sf->snapshot_name,
	    sizeof(sf->snapshot_name))) {
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
	char *text = NULL, hex[65];
	size_t cap, len = 0, i;
	int n, ret = -1;

	*textp = NULL;
	if (format_check(sf, err) == -1)
		return -1;
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

/* The header lines: "enumdr-serials VERSION", room, created,
 * database-uuid and journal. */
static int
parse_header(struct serial_reader *r, struct serial_file *sf, char *err)
{
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
	if (!serial_file_name_valid(r->tok[1], sizeof(sf->room))) {
		errf(err, "%s:%zu: invalid room name \"%.64s\"", r->path,
		    r->lineno, r->tok[1]);
		return -1;
	}
	strlcpy_(sf->room, r->tok[1], sizeof(sf->room));

	/* created TIME */
	if (reader_expect(r, reader_next(r, err), "created", 1, err) == -1)
		return -1;
	if (!util_utc_valid(r->tok[1], strlen(r->tok[1]))) {
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
	return 0;
}

/* The "snapshot NAME SIZE SHA256" line. */
static int
parse_snapshot_line(struct serial_reader *r, struct serial_file *sf,
    char *err)
{
	uint64_t v;

	if (reader_expect(r, reader_next(r, err), "snapshot", 3, err) == -1)
		return -1;
	if (!serial_file_name_valid(r->tok[1],
	    sizeof(sf->snapshot_name))) {
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
	return 0;
}

/* The current line, "zone ORIGIN SERIAL": appended to sf->zones (*cap
 * entries allocated); zones must come in ascending order of origin. */
static int
parse_zone_line(struct serial_reader *r, struct serial_file *sf, size_t *cap,
    char *err)
{
	char zerr[ENUMDR_ERRLEN];
	struct serial_zone *z;
	uint64_t v;

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
	if (sf->nzones == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((z = realloc(sf->zones, *cap * sizeof(*z))) == NULL) {
			errf(err, "out of memory reading %s", r->path);
			return -1;
		}
		sf->zones = z;
	}
	z = &sf->zones[sf->nzones++];
	memset(z, 0, sizeof(*z));
	strlcpy_(z->origin, r->tok[1], sizeof(z->origin));
	z->serial = (uint32_t)v;
	return 0;
}

/* The current line, "checksum HEX": the SHA-256 of every byte before it;
 * nothing may follow it. */
static int
parse_checksum_line(struct serial_reader *r, char *err)
{
	char hex[65];

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

/* Parse the lines of a serial file already in r into sf. */
static int
serial_parse(struct serial_reader *r, struct serial_file *sf, char *err)
{
	size_t cap = 0;
	int rc;

	if (parse_header(r, sf, err) == -1 ||
	    parse_snapshot_line(r, sf, err) == -1)
		return -1;

	/* zone ORIGIN SERIAL ..., in ascending order, then checksum HEX */
	for (;;) {
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
		if (parse_zone_line(r, sf, &cap, err) == -1)
			return -1;
	}
	return parse_checksum_line(r, err);
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
