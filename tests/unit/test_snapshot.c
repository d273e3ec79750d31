/*
 * test_snapshot.c — snapshot export/import and the serial file (S0.1, S1.2,
 * S0.2 step 4): a 100k-number round trip, refusal of truncated and
 * bit-flipped copies and of corrupted serial files with the live data left
 * untouched, a zone-subset import that replaces only that zone, and
 * (schema 2) number versions replaced with the data, the version vector
 * merged, peer cursors, conflicts and the journal kept.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "naptr.h"
#include "sha256.h"
#include "snapshot.h"
#include "store.h"
#include "util.h"
#include "tap.h"

#define ZONE46      "6.4.e164.arpa"
#define ZONE47      "7.4.e164.arpa"
#define PER_ZONE    50000               /* numbers per zone: 100k in all */
#define SMALL       300                 /* per zone in the small snapshot */
#define BATCH       1000
#define SERIAL_BASE 2026112900u         /* date-style start serials */

static char base[PATH_MAX];

/* ---- helpers -------------------------------------------------------- */

static void
path_in(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX) {
		printf("Bail out! path too long: %s/%s\n", dir, name);
		exit(1);
	}
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

static struct store *
open_store(const char *name)
{
	char path[PATH_MAX], err[ENUMDR_ERRLEN];
	struct store *st = NULL;

	path_in(path, base, name);
	if (store_open(path, STORE_CREATE, &st, err) != STORE_OK) {
		diag("store_open %s: %s", path, err);
		return NULL;
	}
	return st;
}

/* The two NAPTR records an IMS operator provisions for a number. */
static void
make_entry(struct number_entry *e, const char *e164)
{
	memset(e, 0, sizeof(*e));
	strlcpy_(e->e164, e164, sizeof(e->e164));
	e->nnaptr = 2;
	e->naptr[0].order = 100;
	e->naptr[0].preference = 10;
	strlcpy_(e->naptr[0].flags, "u", sizeof(e->naptr[0].flags));
	strlcpy_(e->naptr[0].service, "E2U+sip", sizeof(e->naptr[0].service));
	snprintf(e->naptr[0].regexp, sizeof(e->naptr[0].regexp),
	    "!^.*$!sip:%s@ims.mnc001.mcc240.3gppnetwork.org;user=phone!",
	    e164);
	strlcpy_(e->naptr[0].replacement, ".",
	    sizeof(e->naptr[0].replacement));
	e->naptr[1].order = 100;
	e->naptr[1].preference = 20;
	strlcpy_(e->naptr[1].flags, "u", sizeof(e->naptr[1].flags));
	strlcpy_(e->naptr[1].service, "E2U+tel", sizeof(e->naptr[1].service));
	snprintf(e->naptr[1].regexp, sizeof(e->naptr[1].regexp),
	    "!^.*$!tel:%s!", e164);
	strlcpy_(e->naptr[1].replacement, ".",
	    sizeof(e->naptr[1].replacement));
}

/* Add count numbers +CC7xxxxxxx (from first) to st, in batches of BATCH
 * changes per store_apply transaction. */
static int
add_numbers(struct store *st, const char *cc, int first, int count)
{
	struct store_change *ch;
	char e164[STORE_E164_MAX + 1], err[ENUMDR_ERRLEN];
	size_t failed = 0;
	int i, n = 0, ret = 0;

	if ((ch = calloc(BATCH, sizeof(*ch))) == NULL)
		return -1;
	for (i = first; i < first + count; i++) {
		snprintf(e164, sizeof(e164), "+%s7%07d", cc, i);
		ch[n].op = STORE_ADD;
		make_entry(&ch[n].entry, e164);
		if (++n == BATCH || i + 1 == first + count) {
			if (store_apply(st, ch, (size_t)n, NULL, &failed,
			    err) != STORE_OK) {
				diag("store_apply: %s", err);
				ret = -1;
				break;
			}
			n = 0;
		}
	}
	free(ch);
	return ret;
}

/* Replace one number with a single different record (a visible change). */
static int
replace_number(struct store *st, const char *e164, const char *target)
{
	struct store_change ch;
	char err[ENUMDR_ERRLEN];

	memset(&ch, 0, sizeof(ch));
	ch.op = STORE_REPLACE;
	make_entry(&ch.entry, e164);
	ch.entry.nnaptr = 1;
	snprintf(ch.entry.naptr[0].regexp, sizeof(ch.entry.naptr[0].regexp),
	    "!^.*$!sip:%s@%s!", e164, target);
	if (store_apply(st, &ch, 1, NULL, NULL, err) != STORE_OK) {
		diag("replace %s: %s", e164, err);
		return -1;
	}
	return 0;
}

struct dump {
	FILE *fp;
	size_t count;
};

static int
dump_one(void *ctx, const char *e164, const char *naptr)
{
	struct dump *d = ctx;

	fprintf(d->fp, "%s\n%s\n", e164, naptr);
	d->count++;
	return 0;
}

/* Every number of zone with its NAPTR text, as one string (malloc'd). */
static char *
dump_zone(struct store *st, const char *zone, size_t *count)
{
	char err[ENUMDR_ERRLEN], *buf = NULL;
	size_t len = 0;
	struct dump d;

	d.count = 0;
	if ((d.fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (store_foreach_number(st, zone, dump_one, &d, err) != STORE_OK)
		diag("store_foreach_number %s: %s", zone, err);
	fclose(d.fp);
	if (count)
		*count = d.count;
	return buf;
}

/* "origin prefix serial numbers" lines for every zone (malloc'd). */
static char *
dump_zones(struct store *st)
{
	struct zone_info *z = NULL;
	char err[ENUMDR_ERRLEN], *buf = NULL;
	size_t n = 0, len = 0, i;
	FILE *fp;

	if (store_list_zones(st, &z, &n, err) != STORE_OK) {
		diag("store_list_zones: %s", err);
		return strdup("error");
	}
	if ((fp = open_memstream(&buf, &len)) == NULL) {
		free(z);
		return NULL;
	}
	for (i = 0; i < n; i++)
		fprintf(fp, "%s %s %lu %lld\n", z[i].origin, z[i].prefix,
		    (unsigned long)z[i].serial, (long long)z[i].numbers);
	fclose(fp);
	free(z);
	return buf;
}

static uint32_t
zone_serial(struct store *st, const char *origin)
{
	struct zone_info *z = NULL;
	char err[ENUMDR_ERRLEN];
	uint32_t serial = 0;
	size_t n = 0, i;

	if (store_list_zones(st, &z, &n, err) != STORE_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(z[i].origin, origin) == 0)
			serial = z[i].serial;
	free(z);
	return serial;
}

static char *
number_text(struct store *st, const char *e164)
{
	struct number_entry e;
	char err[ENUMDR_ERRLEN], *text = NULL;

	if (store_get_number(st, e164, &e, err) != STORE_OK)
		return strdup(err);
	if (naptr_format(e.naptr, e.nnaptr, &text) == -1)
		return NULL;
	return text;
}

static long long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == -1 ? -1 : (long long)sb.st_size;
}

static int
copy_snapshot_dir(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX], err[ENUMDR_ERRLEN];

	if (util_mkdir_p(to, 0750, err) == -1)
		return -1;
	path_in(a, from, SNAPSHOT_DB_NAME);
	path_in(b, to, SNAPSHOT_DB_NAME);
	if (util_copy_file(a, b, err) == -1)
		return -1;
	path_in(a, from, SNAPSHOT_SERIALS_NAME);
	path_in(b, to, SNAPSHOT_SERIALS_NAME);
	return util_copy_file(a, b, err);
}

static int
write_text(const char *path, const char *text)
{
	char err[ENUMDR_ERRLEN];

	return util_write_file_atomic(path, text, strlen(text), 0640, err);
}

/* What a live database looks like, to prove a refused import left it. */
struct fingerprint {
	char *zones;          /* dump_zones */
	char *sample;         /* NAPTR text of one number */
	char *params;
	int64_t journal;
};

static void
fingerprint_take(struct store *st, const char *sample, struct fingerprint *f)
{
	char err[ENUMDR_ERRLEN], v[256];

	f->zones = dump_zones(st);
	f->sample = number_text(st, sample);
	if (store_get_parameter(st, "ttl", v, sizeof(v), err) != STORE_OK)
		strlcpy_(v, "(none)", sizeof(v));
	f->params = strdup(v);
	store_journal_position(st, &f->journal, err);
}

static int
fingerprint_same(const struct fingerprint *a, const struct fingerprint *b)
{
	return a->zones && b->zones && strcmp(a->zones, b->zones) == 0 &&
	    a->sample && b->sample && strcmp(a->sample, b->sample) == 0 &&
	    a->params && b->params && strcmp(a->params, b->params) == 0 &&
	    a->journal == b->journal;
}

static void
fingerprint_free(struct fingerprint *f)
{
	free(f->zones);
	free(f->sample);
	free(f->params);
}

/* ---- tests ---------------------------------------------------------- */

/* A source room: two zones of per_zone numbers each, parameters. */
static struct store *
build_source(const char *name, int per_zone)
{
	char err[ENUMDR_ERRLEN], what[128];
	struct store *a;
	int64_t t0;

	if ((a = open_store(name)) == NULL)
		return NULL;
	/* A scratch database need not survive power loss: no fsync per
	 * provisioning batch (the export's copy is still fsynced). */
	sqlite3_exec(store_handle(a), "PRAGMA synchronous=OFF", NULL, NULL,
	    NULL);
	ok(store_add_zone(a, ZONE46, SERIAL_BASE, err) == STORE_OK,
	    "source: add zone " ZONE46);
	ok(store_add_zone(a, ZONE47, SERIAL_BASE + 7, err) == STORE_OK,
	    "source: add zone " ZONE47);
	t0 = util_now_ms();
	snprintf(what, sizeof(what), "source: %d numbers in each zone",
	    per_zone);
	ok(add_numbers(a, "46", 0, per_zone) == 0 &&
	    add_numbers(a, "47", 0, per_zone) == 0, what);
	diag("%s: provisioned %d numbers in %lld ms (batches of %d)", name,
	    2 * per_zone, (long long)(util_now_ms() - t0), BATCH);
	ok(store_set_parameter(a, "ttl", "3600", err) == STORE_OK,
	    "source: parameter ttl");
	ok(store_set_parameter(a, "ims-domain", "ims.example.net", err) ==
	    STORE_OK, "source: parameter ims-domain");
	return a;
}

/* The first n bytes of path (the SQLite header), how many were read. */
static size_t
read_head(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "rb");
	size_t got;

	if (f == NULL)
		return 0;
	got = fread(buf, 1, n, f);
	fclose(f);
	return got;
}

static void
test_export(struct store *a, const char *dir, struct serial_file *sf,
    int per_zone)
{
	char err[ENUMDR_ERRLEN], path[PATH_MAX], uuid[64], *buf = NULL;
	struct serial_file back;
	int64_t t0, pos = 0;
	uint32_t serial = 0;
	size_t len = 0;

	t0 = util_now_ms();
	err[0] = '\0';
	ok(snapshot_export(a, dir, "room-a", sf, err) == 0, "export");
	if (err[0])
		diag("export: %s", err);
	path_in(path, dir, SNAPSHOT_DB_NAME);
	diag("export of %d numbers: %lld ms, %s is %lld bytes",
	    2 * per_zone, (long long)(util_now_ms() - t0), SNAPSHOT_DB_NAME,
	    file_size(path));
	is_int(sf->snapshot_size, file_size(path), "serial file names the"
	    " copy's size");

	/* The copy keeps no WAL: rollback-journal file format (bytes 18,19
	 * of the header are 1), and no -wal file beside it. */
	if ((buf = calloc(1, 128)) != NULL &&
	    (len = read_head(path, buf, 128)) > 100) {
		is_int((unsigned char)buf[18], 1, "copy: write version 1 (no"
		    " WAL)");
		is_int((unsigned char)buf[19], 1, "copy: read version 1 (no"
		    " WAL)");
		ok(memcmp(buf, "SQLite format 3", 15) == 0, "copy is an"
		    " SQLite database");
	} else
		ok(0, "read the copy");
	free(buf);
	snprintf(path, sizeof(path), "%s/%s-wal", dir, SNAPSHOT_DB_NAME);
	ok(access(path, F_OK) == -1, "no -wal file beside the copy");
	snprintf(path, sizeof(path), "%s/%s.tmp.%ld", dir, SNAPSHOT_DB_NAME,
	    (long)getpid());
	ok(access(path, F_OK) == -1, "no temporary file left");

	/* What the serial file says is what the copy holds. */
	ok(store_journal_position(a, &pos, err) == STORE_OK, "journal pos");
	is_int(sf->journal_pos, pos, "serial file: journal position");
	is_int(sf->journal_pos, 2 * per_zone, "serial file: one journal row"
	    " per change");
	is_int(sf->nzones, 2, "serial file: two zones");
	ok(serial_file_zone(sf, ZONE46, &serial) == 1, "zone 46 listed");
	is_int(serial, SERIAL_BASE + per_zone, "zone 46 serial = start +"
	    " one per change");
	ok(serial_file_zone(sf, ZONE47, &serial) == 1, "zone 47 listed");
	is_int(serial, SERIAL_BASE + 7 + per_zone, "zone 47 serial");
	ok(serial_file_zone(sf, "9.4.e164.arpa", &serial) == 0,
	    "absent zone not found");
	ok(store_identity(a, uuid, sizeof(uuid), err) == STORE_OK,
	    "source identity");
	is_str(sf->database_uuid, uuid, "serial file: database uuid");
	is_str(sf->room, "room-a", "serial file: room");
	is_str(sf->snapshot_name, SNAPSHOT_DB_NAME, "serial file: name");

	path_in(path, dir, SNAPSHOT_SERIALS_NAME);
	ok(serial_file_read(path, &back, err) == 0, "serial file reads back");
	is_str(back.snapshot_sha256, sf->snapshot_sha256, "same checksum");
	is_int(back.nzones, sf->nzones, "same zones");
	is_str(back.created_at, sf->created_at, "same created time");
	serial_file_free(&back);
	ok(snapshot_verify(dir, sf, err) == 0, "snapshot_verify accepts it");

}

static void
test_round_trip(struct store *a, const char *dir)
{
	char err[ENUMDR_ERRLEN], uuid_before[64], uuid_after[64], v[64];
	char *da, *db, *za, *zb;
	struct journal_row *rows = NULL;
	struct store *b;
	size_t ca = 0, cb = 0, nrows = 0, i;
	int64_t t0, pos = 0;
	int imports = 0, journal_ok = 1;

	if ((b = open_store("room-b.db")) == NULL) {
		ok(0, "open room-b.db");
		return;
	}
	/* b has its own, older and different data, which must all go. */
	store_add_zone(b, ZONE46, 5, err);
	store_add_zone(b, "3.3.e164.arpa", 9, err);
	add_numbers(b, "46", 10, 20);
	add_numbers(b, "33", 0, 5);
	store_set_parameter(b, "ttl", "60", err);
	store_set_parameter(b, "old", "x", err);
	store_identity(b, uuid_before, sizeof(uuid_before), err);
	store_journal_position(b, &pos, err);

	t0 = util_now_ms();
	err[0] = '\0';
	ok(snapshot_import(b, dir, NULL, 0, err) == 0, "import everything"
	    " into another room's database");
	if (err[0])
		diag("import: %s", err);
	diag("import of %d numbers: %lld ms", 2 * PER_ZONE,
	    (long long)(util_now_ms() - t0));

	t0 = util_now_ms();
	da = dump_zone(a, ZONE46, &ca);
	db = dump_zone(b, ZONE46, &cb);
	is_int(cb, PER_ZONE, "zone 46: 50000 numbers after import");
	ok(da && db && strcmp(da, db) == 0, "zone 46: every number's NAPTR"
	    " text identical");
	free(da);
	free(db);
	da = dump_zone(a, ZONE47, &ca);
	db = dump_zone(b, ZONE47, &cb);
	is_int(cb, PER_ZONE, "zone 47: 50000 numbers after import");
	ok(da && db && strcmp(da, db) == 0, "zone 47: every number's NAPTR"
	    " text identical");
	diag("compared %zu numbers' NAPTR text in %lld ms", 2 * cb,
	    (long long)(util_now_ms() - t0));
	free(da);
	free(db);
	za = dump_zones(a);
	zb = dump_zones(b);
	is_str(zb, za, "zones, prefixes, serials and counts identical");
	free(za);
	free(zb);
	da = dump_zone(b, "3.3.e164.arpa", &cb);
	is_int(cb, 0, "b's own zone 3.3.e164.arpa is gone (wholesale)");
	free(da);

	ok(store_get_parameter(b, "ttl", v, sizeof(v), err) == STORE_OK &&
	    strcmp(v, "3600") == 0, "parameter ttl is the source's");
	ok(store_get_parameter(b, "ims-domain", v, sizeof(v), err) ==
	    STORE_OK && strcmp(v, "ims.example.net") == 0,
	    "parameter ims-domain copied");
	ok(store_get_parameter(b, "old", v, sizeof(v), err) == STORE_ENOENT,
	    "b's own parameter replaced wholesale");
	store_identity(b, uuid_after, sizeof(uuid_after), err);
	is_str(uuid_after, uuid_before, "b keeps its own database identity");

	ok(store_journal_read(b, pos, 100, &rows, &nrows, err) == STORE_OK,
	    "read b's journal after the import");
	for (i = 0; i < nrows; i++) {
		if (strcmp(rows[i].op, "import") == 0)
			imports++;
		if (strcmp(rows[i].op, "import") != 0 ||
		    rows[i].e164[0] != '\0' || rows[i].records[0] != '\0' ||
		    rows[i].serial != zone_serial(a, rows[i].zone))
			journal_ok = 0;
	}
	is_int(imports, 2, "one journal row (op import) per imported zone");
	ok(journal_ok && nrows == 2, "import rows carry zone and imported"
	    " serial, no number, no records");
	store_journal_free(rows, nrows);
	store_close(b);
}

static void
test_refused(struct store *a, const char *good)
{
	char err[ENUMDR_ERRLEN], dir[PATH_MAX], path[PATH_MAX], sample[32];
	struct fingerprint before, after;
	struct serial_file sf;
	struct store *c;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	if ((c = open_store("room-c.db")) == NULL) {
		ok(0, "open room-c.db");
		return;
	}
	store_add_zone(c, ZONE46, 100, err);
	add_numbers(c, "46", 0, 300);
	store_set_parameter(c, "ttl", "120", err);
	strlcpy_(sample, "+4670000123", sizeof(sample));
	fingerprint_take(c, sample, &before);

	/* truncated copy */
	path_in(dir, base, "truncated");
	ok(copy_snapshot_dir(good, dir) == 0, "copy the snapshot");
	path_in(path, dir, SNAPSHOT_DB_NAME);
	ok(truncate(path, file_size(path) / 2) == 0, "truncate the copy");
	err[0] = '\0';
	ok(snapshot_import(c, dir, NULL, 0, err) == -1,
	    "truncated snapshot refused");
	like(err, "size", "error names the size");
	like(err, SNAPSHOT_DB_NAME, "error names the file");
	diag("%s", err);
	fingerprint_take(c, sample, &after);
	ok(fingerprint_same(&before, &after), "live data untouched (zones,"
	    " serials, counts, sample number, parameter, journal)");
	fingerprint_free(&after);

	/* one flipped byte in the middle */
	path_in(dir, base, "bitflip");
	ok(copy_snapshot_dir(good, dir) == 0, "copy the snapshot");
	path_in(path, dir, SNAPSHOT_DB_NAME);
	fd = open(path, O_RDWR);
	if (fd != -1) {
		off_t mid = (off_t)(file_size(path) / 2);
		unsigned char byte = 0;

		ok(pread(fd, &byte, 1, mid) == 1, "read the middle byte");
		byte ^= 0x01;
		ok(pwrite(fd, &byte, 1, mid) == 1, "flip one bit of it");
		close(fd);
	} else
		ok(0, "open the copy");
	err[0] = '\0';
	ok(snapshot_import(c, dir, NULL, 0, err) == -1,
	    "bit-flipped snapshot refused");
	like(err, "checksum", "error names the checksum");
	like(err, SNAPSHOT_DB_NAME, "error names the file");
	diag("%s", err);
	fingerprint_take(c, sample, &after);
	ok(fingerprint_same(&before, &after), "live data untouched");
	fingerprint_free(&after);

	/* same size, serial file rewritten to match: SQLite's own check */
	path_in(dir, base, "garbage");
	ok(copy_snapshot_dir(good, dir) == 0, "copy the snapshot");
	path_in(path, dir, SNAPSHOT_SERIALS_NAME);
	ok(serial_file_read(path, &sf, err) == 0, "read its serial file");
	path_in(path, dir, SNAPSHOT_DB_NAME);
	fd = open(path, O_RDWR);
	if (fd != -1) {
		static const char junk[4096] = "this is not a database page";

		ok(pwrite(fd, junk, sizeof(junk), 0) == (ssize_t)sizeof(junk),
		    "overwrite the first page");
		close(fd);
	}
	sha256_file(path, sf.snapshot_sha256, &sf.snapshot_size, err);
	ok(serial_file_format(&sf, &buf, &len, err) == 0,
	    "serial file describing the damaged copy");
	path_in(path, dir, SNAPSHOT_SERIALS_NAME);
	write_text(path, buf);
	free(buf);
	buf = NULL;
	err[0] = '\0';
	ok(snapshot_import(c, dir, NULL, 0, err) == -1,
	    "copy that is no database refused even with a matching checksum");
	like(err, SNAPSHOT_DB_NAME, "error names the file");
	diag("%s", err);
	serial_file_free(&sf);
	fingerprint_take(c, sample, &after);
	ok(fingerprint_same(&before, &after), "live data untouched");
	fingerprint_free(&after);

	/* serial file that disagrees with its (sound) copy */
	path_in(dir, base, "liar");
	ok(copy_snapshot_dir(good, dir) == 0, "copy the snapshot");
	path_in(path, dir, SNAPSHOT_SERIALS_NAME);
	ok(serial_file_read(path, &sf, err) == 0, "read its serial file");
	sf.zones[0].serial += 1000;
	ok(serial_file_format(&sf, &buf, &len, err) == 0, "a lying serial"
	    " file");
	write_text(path, buf);
	free(buf);
	buf = NULL;
	serial_file_free(&sf);
	err[0] = '\0';
	ok(snapshot_import(c, dir, NULL, 0, err) == -1,
	    "serial file naming other serials than its copy refused");
	like(err, "serial file says", "error says what differs");
	diag("%s", err);
	fingerprint_take(c, sample, &after);
	ok(fingerprint_same(&before, &after), "live data untouched");
	fingerprint_free(&after);

	/* corrupted serial files: import refused naming the line */
	{
		static const struct {
			const char *what;
			const char *from, *to;   /* replace first from with to */
			const char *want;
		} cases[] = {
			{ "bad checksum line", "checksum ", "checksum 0",
			  "enumdr-serials:9: checksum" },
			{ "edited zone serial", "zone 6.4.e164.arpa 2026",
			  "zone 6.4.e164.arpa 3026",
			  "enumdr-serials:9: checksum mismatch" },
			{ "unknown line", "zone 7.4", "colour blue\nzone 7.4",
			  "enumdr-serials:8: unknown line \"colour\"" },
			{ "wrong version", "enumdr-serials 1\n",
			  "enumdr-serials 2\n",
			  "enumdr-serials:1: unsupported serial file version" },
			{ "not a serial file", "enumdr-serials 1\n",
			  "hello 1\n", "enumdr-serials:1: not an enumdr" },
			{ "lines out of order", "room room-a\n", "",
			  "enumdr-serials:2: unknown line \"created\"" },
			{ "serial above 2^32-1", "zone 7.4.e164.arpa 20",
			  "zone 7.4.e164.arpa 9999999920",
			  "enumdr-serials:8: serial" },
			{ "extra words", "snapshot enumdr-snapshot.db",
			  "snapshot enumdr-snapshot.db 1 A",
			  "enumdr-serials:6: more than 4 words" },
			{ "leading zero in a number", "journal ",
			  "journal 0", "enumdr-serials:5: journal position" },
			{ "zone not under e164.arpa", "zone 7.4.e164.arpa",
			  "zone 7.4.example.org", "enumdr-serials:8: invalid"
			  " zone" },
			{ "two spaces", "journal ", "journal  ",
			  "enumdr-serials:5: empty word" },
		};
		char *orig = NULL, text[8192];
		size_t i;

		path_in(dir, base, "badserials");
		ok(copy_snapshot_dir(good, dir) == 0, "copy the snapshot");
		path_in(path, dir, SNAPSHOT_SERIALS_NAME);
		ok(util_read_file(path, SERIAL_FILE_MAX, &orig, &len, err) == 0,
		    "read the serial file");
		for (i = 0; orig && i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *at = strstr(orig, cases[i].from);
			char what[128];

			if (at == NULL) {
				ok(0, cases[i].what);
				continue;
			}
			snprintf(text, sizeof(text), "%.*s%s%s",
			    (int)(at - orig), orig, cases[i].to,
			    at + strlen(cases[i].from));
			write_text(path, text);
			err[0] = '\0';
			snprintf(what, sizeof(what), "%s: refused",
			    cases[i].what);
			ok(snapshot_import(c, dir, NULL, 0, err) == -1, what);
			snprintf(what, sizeof(what), "%s: error names the"
			    " line", cases[i].what);
			like(err, cases[i].want, what);
			diag("%s", err);
		}
		/* uppercase hex in the snapshot checksum */
		snprintf(text, sizeof(text), "%s", orig ? orig : "");
		{
			char *p = strstr(text, "\nsnapshot ");
			char *nl = p ? strchr(p + 1, '\n') : NULL;

			for (; p && nl && p < nl; p++)
				if (*p >= 'a' && *p <= 'f' && nl - p <= 64)
					*p = (char)(*p - 'a' + 'A');
		}
		write_text(path, text);
		ok(snapshot_import(c, dir, NULL, 0, err) == -1,
		    "uppercase hex checksum refused");
		like(err, "enumdr-serials:6: snapshot checksum is not 64"
		    " lowercase", "names line 6");
		/* trailing text after the checksum line */
		snprintf(text, sizeof(text), "%sjournal 5\n", orig ? orig : "");
		write_text(path, text);
		ok(snapshot_import(c, dir, NULL, 0, err) == -1,
		    "text after the checksum line refused");
		like(err, "enumdr-serials:10: text after the checksum", "names"
		    " line 10");
		/* no final newline */
		snprintf(text, sizeof(text), "%s", orig ? orig : "");
		text[strlen(text) - 1] = '\0';
		write_text(path, text);
		ok(snapshot_import(c, dir, NULL, 0, err) == -1,
		    "missing final newline refused");
		like(err, "enumdr-serials:9: last line has no newline",
		    "names line 9");
		/* a NUL byte */
		memcpy(text, orig ? orig : "", len);
		text[20] = '\0';
		util_write_file_atomic(path, text, len, 0640, err);
		ok(snapshot_import(c, dir, NULL, 0, err) == -1,
		    "NUL byte refused");
		like(err, "NUL", "error says NUL");
		/* too large */
		{
			char *big = malloc(SERIAL_FILE_MAX + 2);

			if (big != NULL) {
				memset(big, 'x', SERIAL_FILE_MAX + 1);
				big[SERIAL_FILE_MAX + 1] = '\0';
				write_text(path, big);
				free(big);
			}
			ok(snapshot_import(c, dir, NULL, 0, err) == -1,
			    "serial file over SERIAL_FILE_MAX refused");
			like(err, "bytes, more than", "error names the size");
		}
		/* missing */
		unlink(path);
		ok(snapshot_import(c, dir, NULL, 0, err) == -1,
		    "missing serial file refused");
		like(err, SNAPSHOT_SERIALS_NAME, "error names the file");
		free(orig);
	}
	fingerprint_take(c, sample, &after);
	ok(fingerprint_same(&before, &after), "after every refusal: live data"
	    " untouched");
	fingerprint_free(&after);
	fingerprint_free(&before);
	store_close(c);
}

static void
test_subset(struct store *a, const char *good)
{
	const int per_zone = SMALL;
	char err[ENUMDR_ERRLEN], v[64], *da, *dd, *t47, *t47b;
	const char *only46[] = { ZONE46 };
	const char *absent[] = { "9.4.e164.arpa" };
	struct fingerprint before, after;
	struct store *d;
	size_t ca, cd;

	if ((d = open_store("room-d.db")) == NULL) {
		ok(0, "open room-d.db");
		return;
	}
	store_add_zone(d, ZONE46, 3, err);
	store_add_zone(d, ZONE47, SERIAL_BASE + 7 + per_zone + 10, err);
	add_numbers(d, "46", 40, 10);
	add_numbers(d, "47", 0, 30);
	replace_number(d, "+4770000003", "room-d.example");
	store_set_parameter(d, "ttl", "77", err);
	t47 = dump_zone(d, ZONE47, NULL);

	err[0] = '\0';
	ok(snapshot_import(d, good, only46, 1, err) == 0,
	    "import only zone " ZONE46);
	if (err[0])
		diag("%s", err);
	da = dump_zone(a, ZONE46, &ca);
	dd = dump_zone(d, ZONE46, &cd);
	is_int(cd, per_zone, "zone 46 now has the snapshot's numbers");
	ok(da && dd && strcmp(da, dd) == 0, "zone 46 identical to the"
	    " source");
	free(da);
	free(dd);
	is_int(zone_serial(d, ZONE46), SERIAL_BASE + per_zone,
	    "zone 46 serial is the snapshot's");
	is_int(zone_serial(d, ZONE47), SERIAL_BASE + 7 + per_zone + 10 + 31,
	    "zone 47 serial unchanged");
	t47b = dump_zone(d, ZONE47, &cd);
	is_int(cd, 30, "zone 47 keeps its own 30 numbers");
	ok(t47 && t47b && strcmp(t47, t47b) == 0, "zone 47 content unchanged");
	free(t47b);
	ok(store_get_parameter(d, "ttl", v, sizeof(v), err) == STORE_OK &&
	    strcmp(v, "77") == 0, "parameters untouched by a zone import");

	fingerprint_take(d, "+4770000003", &before);
	ok(snapshot_import(d, good, absent, 1, err) == -1,
	    "zone absent from the snapshot refused");
	like(err, "9.4.e164.arpa", "error names the zone");
	fingerprint_take(d, "+4770000003", &after);
	ok(fingerprint_same(&before, &after), "live data untouched");
	fingerprint_free(&after);
	fingerprint_free(&before);
	free(t47);
	store_close(d);

	/* A room holding +47... numbers under a shorter zone (4.e164.arpa):
	 * importing 7.4.e164.arpa would hold one number twice.  Refused, in
	 * the middle of the transaction: everything rolled back. */
	if ((d = open_store("room-e.db")) == NULL) {
		ok(0, "open room-e.db");
		return;
	}
	store_add_zone(d, ZONE46, 1, err);
	store_add_zone(d, "4.e164.arpa", 1, err);
	add_numbers(d, "46", 0, 5);
	add_numbers(d, "47", 0, 5);
	fingerprint_take(d, "+4770000001", &before);
	ok(snapshot_import(d, good, (const char *const[]){ ZONE46, ZONE47 },
	    2, err) == -1, "zone import that would hold a number twice"
	    " refused");
	like(err, "number +477000000", "error names the number");
	diag("%s", err);
	fingerprint_take(d, "+4770000001", &after);
	ok(fingerprint_same(&before, &after), "zone 46, already replaced in"
	    " the transaction, rolled back too");
	fingerprint_free(&after);
	fingerprint_free(&before);
	store_close(d);
}

/* ---- schema 2: number versions and the version vector -------------- */

#define ORIGIN_V "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"   /* the source */
#define ORIGIN_W "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"   /* a third room */
#define ORIGIN_T "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"   /* the target */
#define VNOW     "2026-12-02T07:00:00Z"

/* The first column of sql's first row on st as text (malloc'd; "" for
 * none or NULL, "error: ..." when sql fails). */
static char *
sql_text(struct store *st, const char *sql)
{
	sqlite3_stmt *q;
	char *out = NULL;

	if (sqlite3_prepare_v2(store_handle(st), sql, -1, &q, NULL) !=
	    SQLITE_OK) {
		diag("%s: %s", sql, sqlite3_errmsg(store_handle(st)));
		return strdup("error");
	}
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		out = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return out != NULL ? out : strdup("");
}

static int
sql_exec(struct store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(store_handle(st), sql, NULL, NULL, &msg) !=
	    SQLITE_OK) {
		diag("%s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* number_version rows (of zone, or all with NULL) as one line. */
static char *
dump_versions(struct store *st, const char *zone)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT group_concat(x, '|') FROM (SELECT"
	    " e164 || ' ' || zone || ' ' || origin || ' ' || oseq || ' ' || hlc"
	    " || ' ' || room || ' ' || removed || ' ' || at AS x FROM"
	    " number_version%s%s%s ORDER BY e164)", zone ? " WHERE zone = '" :
	    "", zone ? zone : "", zone ? "'" : "");
	return sql_text(st, sql);
}

#define DUMP_SEEN "SELECT group_concat(x, '|') FROM (SELECT origin || ' ' ||" \
	" room || ' ' || oseq || ' ' || hlc AS x FROM origin_seen ORDER BY" \
	" origin)"
#define DUMP_CURSORS "SELECT group_concat(x, '|') FROM (SELECT peer || ' '" \
	" || room || ' ' || seq AS x FROM peer_cursor ORDER BY peer)"
#define DUMP_CONFLICTS "SELECT group_concat(x, '|') FROM (SELECT e164 ||" \
	" ' ' || other_room AS x FROM conflict ORDER BY id)"
#define A_CONFLICT(e164, zone, room) "INSERT INTO conflict (e164, zone," \
	" detected_at, open, served_origin, served_oseq, served_hlc," \
	" served_room, served_records, other_origin, other_oseq, other_hlc," \
	" other_room, other_records) VALUES ('" e164 "', '" zone "', '" VNOW \
	"', 1, '" ORIGIN_T "', 1, 1, 'room-t', '', '" ORIGIN_W "', 1, 1, '" \
	room "', '')"

/* A target room for the version imports: its own numbers, versions (one
 * a tombstone), version vector, peer cursor and conflict. */
static struct store *
version_target(const char *name)
{
	char err[ENUMDR_ERRLEN];
	struct store *t;

	if ((t = open_store(name)) == NULL)
		return NULL;
	store_add_zone(t, ZONE46, 1, err);
	store_add_zone(t, ZONE47, 2, err);
	add_numbers(t, "46", 5, 1);
	add_numbers(t, "47", 5, 1);
	/* the vector: V's entry ahead of the copy's (kept), W's behind it
	 * (the copy's wins), T's only here (kept) */
	if (sql_exec(t, "DELETE FROM number_version; DELETE FROM origin_seen;"
	    " INSERT INTO number_version VALUES"
	    " ('+4670000005', '" ZONE46 "', '" ORIGIN_T "', 1, 100, 'room-t',"
	    " 0, '" VNOW "'),"
	    " ('+4770000005', '" ZONE47 "', '" ORIGIN_T "', 2, 200, 'room-t',"
	    " 0, '" VNOW "'),"
	    " ('+4770000008', '" ZONE47 "', '" ORIGIN_T "', 3, 300, 'room-t',"
	    " 1, '" VNOW "');"
	    " INSERT INTO origin_seen VALUES"
	    " ('" ORIGIN_V "', 'room-v', 12, 2000),"
	    " ('" ORIGIN_W "', 'room-old', 3, 300),"
	    " ('" ORIGIN_T "', 'room-t', 3, 300);"
	    " INSERT INTO peer_cursor VALUES ('" ORIGIN_V "', 'room-v', 7, '"
	    VNOW "');" A_CONFLICT("+4670000005", ZONE46, "room-t-own")) == -1) {
		store_close(t);
		return NULL;
	}
	return t;
}

#define SEEN_MERGED ORIGIN_V " room-v 12 2000|" ORIGIN_W " room-w 5 500|" \
	ORIGIN_T " room-t 3 300"

static void
test_versions(void)
{
	char err[ENUMDR_ERRLEN], dir[PATH_MAX], *x, *y;
	const char *only46[] = { ZONE46 };
	struct store *v, *t;
	int64_t pos = 0;

	/* the source: +4670000000/1 with versions, +4670000009 removed,
	 * +4670000002 and two of 7.4 written before schema 2 (no version) */
	if ((v = open_store("room-v.db")) == NULL) {
		ok(0, "open room-v.db");
		return;
	}
	store_add_zone(v, ZONE46, 10, err);
	store_add_zone(v, ZONE47, 20, err);
	add_numbers(v, "46", 0, 3);
	add_numbers(v, "47", 0, 3);
	ok(sql_exec(v, "DELETE FROM number_version; DELETE FROM origin_seen;"
	    " INSERT INTO number_version VALUES"
	    " ('+4670000000', '" ZONE46 "', '" ORIGIN_V "', 1, 65536,"
	    " 'room-v', 0, '" VNOW "'),"
	    " ('+4670000001', '" ZONE46 "', '" ORIGIN_V "', 2, 131072,"
	    " 'room-v', 0, '" VNOW "'),"
	    " ('+4670000009', '" ZONE46 "', '" ORIGIN_V "', 3, 196608,"
	    " 'room-v', 1, '" VNOW "'),"
	    " ('+4770000000', '" ZONE47 "', '" ORIGIN_W "', 4, 262144,"
	    " 'room-w', 0, '" VNOW "');"
	    " INSERT INTO origin_seen VALUES"
	    " ('" ORIGIN_V "', 'room-v', 10, 1000),"
	    " ('" ORIGIN_W "', 'room-w', 5, 500);"
	    " INSERT INTO peer_cursor VALUES ('" ORIGIN_W "', 'room-w', 99, '"
	    VNOW "');" A_CONFLICT("+4670000001", ZONE46, "room-v-own")) == 0,
	    "versions: source versions, vector, cursor and conflict");
	path_in(dir, base, "export-v");
	ok(snapshot_export(v, dir, "room-v", NULL, err) == 0,
	    "versions: export");

	/* all zones */
	if ((t = version_target("room-t.db")) == NULL) {
		ok(0, "open room-t.db");
		store_close(v);
		return;
	}
	store_journal_position(t, &pos, err);
	ok(snapshot_import(t, dir, NULL, 0, err) == 0,
	    "versions: import all zones");
	x = dump_versions(v, NULL);
	y = dump_versions(t, NULL);
	is_str(y, x, "  number_version is the copy's (tombstone included,"
	    " ours gone)");
	free(x);
	free(y);
	y = sql_text(t, DUMP_SEEN);
	is_str(y, SEEN_MERGED, "  origin_seen: per origin the higher oseq"
	    " with its hlc and room, ours kept");
	free(y);
	y = sql_text(t, DUMP_CURSORS);
	is_str(y, ORIGIN_V " room-v 7", "  peer_cursor: ours, the copy's not"
	    " copied");
	free(y);
	y = sql_text(t, DUMP_CONFLICTS);
	is_str(y, "+4670000005 room-t-own", "  conflict: ours, the copy's not"
	    " copied");
	free(y);
	{
		char sql[512];

		snprintf(sql, sizeof(sql), "SELECT count(*) || ' ' || sum(op ="
		    " 'import' AND e164 = '' AND records = '' AND txn = 0 AND"
		    " origin = '' AND oseq = 0 AND hlc = 0 AND room = '' AND"
		    " prev_origin = '' AND prev_oseq = 0 AND flags = 0) FROM"
		    " journal WHERE seq > %lld", (long long)pos);
		y = sql_text(t, sql);
		is_str(y, "2 2", "  two journal rows, op import, no change"
		    " identity");
		free(y);
	}
	store_close(t);

	/* one zone: its versions replaced, the other zone's kept */
	if ((t = version_target("room-u.db")) == NULL) {
		ok(0, "open room-u.db");
		store_close(v);
		return;
	}
	x = dump_versions(t, ZONE47);
	ok(snapshot_import(t, dir, only46, 1, err) == 0,
	    "versions: import only zone " ZONE46);
	y = dump_versions(t, ZONE47);
	is_str(y, x, "  zone 47's versions are ours");
	free(x);
	free(y);
	x = dump_versions(v, ZONE46);
	y = dump_versions(t, ZONE46);
	is_str(y, x, "  zone 46's versions are the copy's");
	free(x);
	free(y);
	y = sql_text(t, DUMP_SEEN);
	/* A zone import leaves the version vector alone: it is not kept
	 * per zone (the changes it brought are known by their versions). */
	is_str(y, ORIGIN_V " room-v 12 2000|" ORIGIN_W " room-old 3 300|"
	    ORIGIN_T " room-t 3 300", "  origin_seen: ours (zone import)");
	free(y);
	y = sql_text(t, DUMP_CURSORS);
	is_str(y, ORIGIN_V " room-v 7", "  peer_cursor: ours");
	free(y);
	store_close(t);

	/* a version of the copy's zone 7.4 that we hold under 4.e164.arpa
	 * (a removed number): named, the whole import rolled back */
	if ((t = open_store("room-x.db")) == NULL) {
		ok(0, "open room-x.db");
		store_close(v);
		return;
	}
	store_add_zone(t, ZONE46, 1, err);
	store_add_zone(t, "4.e164.arpa", 1, err);
	sql_exec(t, "DELETE FROM number_version; INSERT INTO number_version"
	    " VALUES ('+4770000000', '4.e164.arpa', '" ORIGIN_T "', 1, 1,"
	    " 'room-t', 1, '" VNOW "')");
	x = dump_versions(t, NULL);
	ok(snapshot_import(t, dir, (const char *const[]){ ZONE46, ZONE47 }, 2,
	    err) == -1, "versions: a zone import whose number's version we"
	    " hold under another zone refused");
	like(err, "number +4770000000 of zone " ZONE47 " has its version",
	    "  the error names the number");
	like(err, "by zone 4.e164.arpa", "  and the zone holding it here");
	y = dump_versions(t, NULL);
	is_str(y, x, "  versions unchanged (zone 46's too: rolled back)");
	free(x);
	free(y);
	is_int(zone_serial(t, ZONE46), 1, "  zone 46 unchanged");
	store_close(t);
	store_close(v);
}

static void
test_format(void)
{
	struct serial_file sf, back;
	struct serial_zone z[3];
	char err[ENUMDR_ERRLEN], path[PATH_MAX], *text = NULL;
	size_t len = 0;

	memset(&sf, 0, sizeof(sf));
	memset(z, 0, sizeof(z));
	sf.version = SERIAL_FILE_VERSION;
	strlcpy_(sf.room, "stockholm-1", sizeof(sf.room));
	strlcpy_(sf.created_at, "2026-11-29T15:34:26Z", sizeof(sf.created_at));
	strlcpy_(sf.database_uuid, "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
	    sizeof(sf.database_uuid));
	sf.journal_pos = 1234;
	strlcpy_(sf.snapshot_name, SNAPSHOT_DB_NAME, sizeof(sf.snapshot_name));
	sf.snapshot_size = 1056768;
	sha256_hex("x", 1, sf.snapshot_sha256);
	strlcpy_(z[0].origin, "7.4.e164.arpa", sizeof(z[0].origin));
	z[0].serial = 4294967295u;
	strlcpy_(z[1].origin, "6.4.e164.arpa", sizeof(z[1].origin));
	z[1].serial = 17;
	strlcpy_(z[2].origin, "1.e164.arpa", sizeof(z[2].origin));
	z[2].serial = 0;
	sf.zones = z;
	sf.nzones = 3;
	ok(serial_file_format(&sf, &text, &len, err) == 0, "format");
	like(text, "enumdr-serials 1\nroom stockholm-1\n"
	    "created 2026-11-29T15:34:26Z\n"
	    "database-uuid 0f1e2d3c4b5a69788796a5b4c3d2e1f0\njournal 1234\n"
	    "snapshot enumdr-snapshot.db 1056768 2d711642b726b04401627ca9fbac"
	    "32f5c8530fb1903cc4db02258717921a4881\n"
	    "zone 1.e164.arpa 0\nzone 6.4.e164.arpa 17\n"
	    "zone 7.4.e164.arpa 4294967295\nchecksum ", "documented layout,"
	    " zones sorted");
	path_in(path, base, "format-serials");
	write_text(path, text);
	ok(serial_file_read(path, &back, err) == 0, "reads back");
	is_int(back.nzones, 3, "three zones");
	is_str(back.zones[0].origin, "1.e164.arpa", "first zone");
	is_int(back.zones[2].serial, 4294967295u, "serial 2^32-1 kept");
	is_int(back.journal_pos, 1234, "journal position");
	is_int(back.snapshot_size, 1056768, "size");
	serial_file_free(&back);
	free(text);

	strlcpy_(z[0].origin, "6.4.e164.arpa", sizeof(z[0].origin));
	ok(serial_file_format(&sf, &text, &len, err) == -1,
	    "format refuses a zone listed twice");
	like(err, "twice", "error says twice");
	strlcpy_(z[0].origin, "6.4.E164.ARPA.", sizeof(z[0].origin));
	ok(serial_file_format(&sf, &text, &len, err) == -1,
	    "format refuses a non-canonical origin");
	sf.nzones = 0;
	ok(serial_file_format(&sf, &text, &len, err) == 0,
	    "format: a room without zones");
	write_text(path, text);
	ok(serial_file_read(path, &back, err) == 0 && back.nzones == 0,
	    "reads back with no zones");
	serial_file_free(&back);
	free(text);
	sf.version = 2;
	ok(serial_file_format(&sf, &text, &len, err) == -1,
	    "format refuses an unknown version");
}

int
main(void)
{
	char dir[PATH_MAX], err[ENUMDR_ERRLEN];
	struct serial_file sf;
	struct store *a, *s;

	snprintf(base, sizeof(base), "%s/enumdr-test-snapshot-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL) {
		printf("Bail out! mkdtemp %s\n", base);
		return 1;
	}
	memset(&sf, 0, sizeof(sf));
	test_format();
	test_versions();
	/* 100k numbers: export, import, compare everything */
	if ((a = build_source("room-a.db", PER_ZONE)) != NULL) {
		path_in(dir, base, "export-a");
		test_export(a, dir, &sf, PER_ZONE);
		test_round_trip(a, dir);
		store_close(a);
	} else
		ok(0, "build the 100k source room");
	serial_file_free(&sf);

	/* refusals and zone subsets on a small snapshot (fast to hash) */
	if ((s = build_source("room-s.db", SMALL)) != NULL) {
		path_in(dir, base, "export-s");
		test_export(s, dir, &sf, SMALL);
		serial_file_free(&sf);
		ok(snapshot_export(s, dir, "room/../a", NULL, err) == -1,
		    "export refuses a room name that is no path component");
		like(err, "room name", "error names the room name");
		test_refused(s, dir);
		test_subset(s, dir);
		store_close(s);
	} else
		ok(0, "build the small source room");
	if (getenv("ENUMDR_KEEP_TEST_DIR") == NULL)
		nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		diag("kept %s", base);
	return tap_done();
}
