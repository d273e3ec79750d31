/*
 * test_sync.c — the serial-compare data synchronisation (S0.2): every
 * outcome (equal, own newer, peer newer, diverged under both policies,
 * undefined at distance 2^31), the quarantine copy that keeps the peer's
 * data when nothing is imported (nothing silently dropped), and the two
 * step failures of the seed (peer serial file unreadable, own serials
 * unreadable) with the live data untouched.
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

#include "rfc1982.h"
#include "sha256.h"
#include "snapshot.h"
#include "store.h"
#include "sync.h"
#include "util.h"
#include "tap.h"

#define ZONE46 "6.4.e164.arpa"
#define ZONE47 "7.4.e164.arpa"
#define ZONE48 "8.4.e164.arpa"
#define NUMBERS 20                      /* per zone */

static char base[PATH_MAX];
static char quarantine[PATH_MAX];

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

/* One change of number e164: add it, or replace it with a record that
 * names target (so that each side's version is recognisable). */
static int
change_number(struct store *st, enum store_op op, const char *e164,
    const char *target)
{
	struct store_change ch;
	struct naptr_record *r;
	char err[ENUMDR_ERRLEN];

	memset(&ch, 0, sizeof(ch));
	r = &ch.entry.naptr[0];
	ch.op = op;
	strlcpy_(ch.entry.e164, e164, sizeof(ch.entry.e164));
	ch.entry.nnaptr = 1;
	r->order = 100;
	r->preference = 10;
	strlcpy_(r->flags, "u", sizeof(r->flags));
	strlcpy_(r->service, "E2U+sip", sizeof(r->service));
	snprintf(r->regexp, sizeof(r->regexp), "!^.*$!sip:%s@%s!", e164,
	    target);
	strlcpy_(r->replacement, ".", sizeof(r->replacement));
	if (store_apply(st, &ch, 1, NULL, NULL, err) != STORE_OK) {
		diag("change %s: %s", e164, err);
		return -1;
	}
	return 0;
}

/* Add a zone with a start serial and NUMBERS numbers +CC7000000..19. */
static int
add_zone_with_numbers(struct store *st, const char *origin, uint32_t serial,
    const char *cc)
{
	char err[ENUMDR_ERRLEN], e164[STORE_E164_MAX + 1];
	int i;

	if (store_add_zone(st, origin, serial, err) != STORE_OK) {
		diag("add zone %s: %s", origin, err);
		return -1;
	}
	for (i = 0; i < NUMBERS; i++) {
		snprintf(e164, sizeof(e164), "+%s700000%02d", cc, i);
		if (change_number(st, STORE_ADD, e164, "ims.example.net") == -1)
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

/* Every number of a zone and its NAPTR text as one string (malloc'd). */
static char *
dump_zone(struct store *st, const char *zone)
{
	char err[ENUMDR_ERRLEN], *buf = NULL;
	size_t len = 0;
	struct dump d;

	d.count = 0;
	if ((d.fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (store_foreach_number(st, zone, dump_one, &d, err) != STORE_OK)
		fprintf(d.fp, "error: %s", err);
	fclose(d.fp);
	return buf;
}

/* Everything in a store: zones with serials, every number, parameters. */
static char *
dump_store(struct store *st)
{
	struct zone_info *z = NULL;
	char err[ENUMDR_ERRLEN], v[256], *buf = NULL, *numbers;
	size_t n = 0, len = 0, i;
	int64_t pos = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (store_list_zones(st, &z, &n, err) != STORE_OK)
		fprintf(fp, "error: %s\n", err);
	for (i = 0; i < n; i++) {
		fprintf(fp, "zone %s %s %lu %lld\n", z[i].origin, z[i].prefix,
		    (unsigned long)z[i].serial, (long long)z[i].numbers);
		numbers = dump_zone(st, z[i].origin);
		fprintf(fp, "%s", numbers ? numbers : "?");
		free(numbers);
	}
	free(z);
	if (store_get_parameter(st, "ttl", v, sizeof(v), err) == STORE_OK)
		fprintf(fp, "ttl %s\n", v);
	store_journal_position(st, &pos, err);
	fprintf(fp, "journal %lld\n", (long long)pos);
	fclose(fp);
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

static int
same_file(const char *a, const char *b)
{
	char ha[65], hb[65], err[ENUMDR_ERRLEN];

	if (sha256_file(a, ha, NULL, err) == -1 ||
	    sha256_file(b, hb, NULL, err) == -1)
		return 0;
	return strcmp(ha, hb) == 0;
}

static const struct sync_zone *
report_zone(const struct sync_report *rep, const char *origin)
{
	size_t i;

	for (i = 0; i < rep->nzones; i++)
		if (strcmp(rep->zones[i].origin, origin) == 0)
			return &rep->zones[i];
	return NULL;
}

/* Two rooms with the same data: room A (the peer, exported to *peer_dir)
 * has zones 46 and 47; room B (own) imported A's snapshot. */
struct rooms {
	struct store *a, *b;
	char peer_dir[PATH_MAX];
};

static int
rooms_setup(const char *tag, struct rooms *r)
{
	char name[128], err[ENUMDR_ERRLEN];

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "%s-a.db", tag);
	if ((r->a = open_store(name)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s-b.db", tag);
	if ((r->b = open_store(name)) == NULL)
		return -1;
	if (add_zone_with_numbers(r->a, ZONE46, 100, "46") == -1 ||
	    add_zone_with_numbers(r->a, ZONE47, 0xFFFFFFF0u, "47") == -1)
		return -1;
	store_set_parameter(r->a, "ttl", "3600", err);
	snprintf(name, sizeof(name), "%s-peer", tag);
	path_in(r->peer_dir, base, name);
	if (snapshot_export(r->a, r->peer_dir, "room-a", NULL, err) == -1 ||
	    snapshot_import(r->b, r->peer_dir, NULL, 0, err) == -1) {
		diag("%s: %s", tag, err);
		return -1;
	}
	return 0;
}

static int
rooms_export_peer(struct rooms *r)
{
	char err[ENUMDR_ERRLEN];

	if (snapshot_export(r->a, r->peer_dir, "room-a", NULL, err) == -1) {
		diag("export: %s", err);
		return -1;
	}
	return 0;
}

static void
rooms_free(struct rooms *r)
{
	store_close(r->a);
	store_close(r->b);
}

/* ---- tests ---------------------------------------------------------- */

static void
test_equal_and_own_newer(void)
{
	struct sync_opts opts = { DIVERGED_REFUSE, quarantine, 0 };
	struct sync_report rep;
	struct rooms r;
	char err[ENUMDR_ERRLEN], *before, *after;

	ok(rooms_setup("equal", &r) == 0, "equal: two rooms, same data");
	before = dump_store(r.b);
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == 0, "equal: sync ran");
	is_str(sync_outcome_name(rep.outcome), "equal", "equal: outcome");
	is_int(rep.imported, 0, "equal: nothing imported");
	is_int(rep.nzones, 2, "equal: two zones compared");
	ok(rep.nzones == 2 && rep.zones[0].verdict == ZONE_SAME &&
	    rep.zones[1].verdict == ZONE_SAME, "equal: both zones same");
	is_str(rep.peer_room, "room-a", "report names the peer room");
	is_int(rep.peer_journal, 2 * NUMBERS, "report has the peer's journal"
	    " position");
	is_str(rep.kept_dir, "", "equal: no quarantine copy");
	after = dump_store(r.b);
	is_str(after, before, "equal: own data unchanged");
	free(after);
	free(before);
	sync_report_free(&rep);

	/* own newer in one zone */
	change_number(r.b, STORE_REPLACE, "+4670000003", "room-b.example");
	before = dump_store(r.b);
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == 0,
	    "own newer: sync ran");
	is_str(sync_outcome_name(rep.outcome), "own-newer",
	    "own newer: outcome");
	is_int(rep.imported, 0, "own newer: nothing imported");
	ok(report_zone(&rep, ZONE46) &&
	    report_zone(&rep, ZONE46)->verdict == ZONE_OWN_NEWER &&
	    report_zone(&rep, ZONE46)->own_serial == 100 + NUMBERS + 1 &&
	    report_zone(&rep, ZONE46)->peer_serial == 100 + NUMBERS,
	    "own newer: zone 46 own-newer, serials 121 vs 120");
	after = dump_store(r.b);
	is_str(after, before, "own newer: own data unchanged");
	free(after);
	free(before);
	sync_report_free(&rep);
	rooms_free(&r);
}

static void
test_peer_newer(void)
{
	struct sync_opts opts = { DIVERGED_REFUSE, quarantine, 0 };
	struct sync_report rep;
	struct journal_row *rows = NULL;
	struct rooms r;
	char err[ENUMDR_ERRLEN], *before, *after, *pa, *pb, *z46;
	size_t nrows = 0;
	int64_t pos = 0;

	ok(rooms_setup("peer", &r) == 0, "peer newer: two rooms, same data");
	/* the peer changes zone 47 twice (its serial, started at 0xFFFFFFF0,
	 * wrapped past 2^32-1 while it was filled: 4 here, 6 there) and adds
	 * zone 48, which we do not have at all */
	change_number(r.a, STORE_REPLACE, "+4770000001", "room-a.example");
	change_number(r.a, STORE_REMOVE, "+4770000002", "");
	add_zone_with_numbers(r.a, ZONE48, 7, "48");
	ok(rooms_export_peer(&r) == 0, "peer exports again");

	/* dry run: compare only */
	opts.dry_run = 1;
	before = dump_store(r.b);
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == 0,
	    "dry run: sync ran");
	is_str(sync_outcome_name(rep.outcome), "peer-newer",
	    "dry run: outcome peer-newer");
	is_int(rep.imported, 0, "dry run: nothing imported");
	after = dump_store(r.b);
	is_str(after, before, "dry run: own data unchanged");
	free(after);
	free(before);
	sync_report_free(&rep);
	opts.dry_run = 0;

	z46 = dump_zone(r.b, ZONE46);
	store_journal_position(r.b, &pos, err);
	err[0] = '\0';
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == 0,
	    "peer newer: sync ran");
	if (err[0])
		diag("%s", err);
	is_str(sync_outcome_name(rep.outcome), "peer-newer",
	    "peer newer: outcome");
	is_int(rep.imported, 1, "peer newer: imported");
	is_int(rep.nimported, 2, "peer newer: two zones imported (47, 48)");
	is_int(rep.nzones, 3, "peer newer: union of zones");
	ok(rep.nzones == 3 && strcmp(rep.zones[0].origin, ZONE46) == 0 &&
	    strcmp(rep.zones[1].origin, ZONE47) == 0 &&
	    strcmp(rep.zones[2].origin, ZONE48) == 0, "zones sorted by origin");
	ok(report_zone(&rep, ZONE48) &&
	    !report_zone(&rep, ZONE48)->own_present &&
	    report_zone(&rep, ZONE48)->peer_present &&
	    report_zone(&rep, ZONE48)->verdict == ZONE_PEER_NEWER,
	    "zone only on the peer: peer-newer");
	is_str(rep.kept_dir, "", "peer newer: no quarantine copy");
	pa = dump_zone(r.a, ZONE47);
	pb = dump_zone(r.b, ZONE47);
	ok(pa && pb && strcmp(pa, pb) == 0, "zone 47 now equals the peer's");
	free(pa);
	free(pb);
	pa = dump_zone(r.a, ZONE48);
	pb = dump_zone(r.b, ZONE48);
	ok(pa && pb && strcmp(pa, pb) == 0 && strlen(pb) > 0,
	    "zone 48 (peer only) imported");
	free(pa);
	free(pb);
	is_int(zone_serial(r.b, ZONE47), zone_serial(r.a, ZONE47),
	    "zone 47 serial is the peer's");
	is_int(zone_serial(r.b, ZONE48), 7 + NUMBERS, "zone 48 serial is the"
	    " peer's");
	pb = dump_zone(r.b, ZONE46);
	is_str(pb, z46, "zone 46 untouched");
	free(pb);
	free(z46);
	ok(store_journal_read(r.b, pos, 10, &rows, &nrows, err) == STORE_OK &&
	    nrows == 2 && strcmp(rows[0].op, "import") == 0 &&
	    strcmp(rows[0].zone, ZONE47) == 0 &&
	    strcmp(rows[1].zone, ZONE48) == 0,
	    "one import journal row per imported zone");
	store_journal_free(rows, nrows);
	sync_report_free(&rep);

	/* now equal */
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == 0 &&
	    rep.outcome == SYNC_EQUAL, "after the import: equal");
	sync_report_free(&rep);
	rooms_free(&r);
}

/*
 * Both rooms changed the same zone since they last agreed: room A made
 * changes it never pushed, room B took over from A's older snapshot and
 * changed the zone too.  Serials cannot see it (equal, or A ahead); the
 * zone histories can (S0.8: nothing lost, nothing silently dropped).
 */
static void
test_same_zone_diverged(void)
{
	struct sync_opts opts = { DIVERGED_MERGE_ZONES, quarantine, 0 };
	struct sync_report rep;
	struct rooms r, back;
	char err[ENUMDR_ERRLEN], *before, *after;

	ok(rooms_setup("samezone", &r) == 0, "same zone: B has A's snapshot");
	/* A: two changes after its last push; B: one change of its own */
	change_number(r.a, STORE_REPLACE, "+4670000001", "late-a.example");
	change_number(r.a, STORE_REPLACE, "+4670000002", "late-a.example");
	change_number(r.b, STORE_REPLACE, "+4670000003", "room-b.example");
	ok(rooms_export_peer(&r) == 0, "A exports (serial 122 against B's 121)");
	before = dump_store(r.b);
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == 0, "same zone: sync ran");
	is_str(sync_outcome_name(rep.outcome), "diverged",
	    "serial says peer newer, history says diverged");
	ok(report_zone(&rep, ZONE46) &&
	    report_zone(&rep, ZONE46)->verdict == ZONE_DIVERGED &&
	    report_zone(&rep, ZONE46)->peer_serial == 100 + NUMBERS + 2 &&
	    report_zone(&rep, ZONE46)->own_serial == 100 + NUMBERS + 1,
	    "zone 46 diverged (serials 122 vs 121)");
	is_str(sync_zone_verdict_name(ZONE_DIVERGED), "diverged", "verdict name");
	is_int(rep.imported, 0, "merge-zones imports no diverged zone");
	ok(rep.kept_dir[0] != '\0', "the peer's snapshot is kept aside");
	after = dump_store(r.b);
	is_str(after, before, "B's change is kept: nothing imported over it");
	free(after);
	free(before);
	sync_report_free(&rep);

	/* Without the history (serial file only) the same rooms look like
	 * "peer newer": the case this guards against. */
	{
		struct serial_file sf;
		char path[PATH_MAX];

		memset(&sf, 0, sizeof(sf));
		path_in(path, r.peer_dir, SNAPSHOT_SERIALS_NAME);
		ok(serial_file_read(path, &sf, err) == 0 &&
		    sync_compare(r.b, &sf, &rep, err) == 0 &&
		    rep.outcome == SYNC_PEER_NEWER,
		    "by serial alone the outcome would be peer-newer");
		sync_report_free(&rep);
		serial_file_free(&sf);
	}
	rooms_free(&r);

	/* The usual failback: B took over from A's latest snapshot and
	 * changed the zone; A imports B's data; A changes again; B, now the
	 * standby, finds A's history covering its own: peer newer. */
	ok(rooms_setup("failback", &back) == 0, "failback: B has A's snapshot");
	change_number(back.b, STORE_REPLACE, "+4670000003", "room-b.example");
	{
		char bdir[PATH_MAX];

		path_in(bdir, base, "failback-b-peer");
		ok(snapshot_export(back.b, bdir, "room-b", NULL, err) == 0 &&
		    sync_run(back.a, bdir, &opts, &rep, err) == 0 &&
		    rep.outcome == SYNC_PEER_NEWER && rep.imported,
		    "A imports B's change (B's history covers A's)");
		sync_report_free(&rep);
	}
	change_number(back.a, STORE_REPLACE, "+4670000004", "again-a.example");
	ok(rooms_export_peer(&back) == 0, "A exports");
	ok(sync_run(back.b, back.peer_dir, &opts, &rep, err) == 0 &&
	    rep.outcome == SYNC_PEER_NEWER && rep.imported,
	    "B imports A's newer zone (A's history covers B's)");
	sync_report_free(&rep);
	ok(sync_run(back.b, back.peer_dir, &opts, &rep, err) == 0 &&
	    rep.outcome == SYNC_EQUAL, "then equal");
	sync_report_free(&rep);
	rooms_free(&back);
}

/* Both rooms changed different zones: split brain. */
static void
test_diverged(enum config_diverged_policy policy)
{
	struct sync_opts opts = { policy, quarantine, 0 };
	const char *tag = policy == DIVERGED_REFUSE ? "refuse" : "merge";
	char err[ENUMDR_ERRLEN], what[160], a[PATH_MAX], b[PATH_MAX];
	char *before, *after, *own46, *pa, *pb;
	struct sync_report rep;
	struct rooms r;
	struct stat sb;

#define WHAT(s) (snprintf(what, sizeof(what), "diverged/%s: %s", tag, s), \
	what)
	ok(rooms_setup(tag, &r) == 0, WHAT("two rooms, same data"));
	change_number(r.a, STORE_REPLACE, "+4770000005", "room-a.example");
	change_number(r.b, STORE_REPLACE, "+4670000005", "room-b.example");
	change_number(r.b, STORE_ADD, "+4670000099", "room-b.example");
	ok(rooms_export_peer(&r) == 0, WHAT("peer exports"));
	before = dump_store(r.b);
	own46 = dump_zone(r.b, ZONE46);

	err[0] = '\0';
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == 0,
	    WHAT("sync ran to an outcome"));
	if (err[0])
		diag("%s", err);
	is_str(sync_outcome_name(rep.outcome), "diverged", WHAT("outcome"));
	ok(report_zone(&rep, ZONE46) &&
	    report_zone(&rep, ZONE46)->verdict == ZONE_OWN_NEWER &&
	    report_zone(&rep, ZONE47) &&
	    report_zone(&rep, ZONE47)->verdict == ZONE_PEER_NEWER,
	    WHAT("46 own-newer, 47 peer-newer"));

	/* the peer's copy is kept whatever the policy */
	ok(rep.kept_dir[0] != '\0' && stat(rep.kept_dir, &sb) == 0 &&
	    S_ISDIR(sb.st_mode), WHAT("peer copy kept in a directory"));
	like(rep.kept_dir, quarantine, WHAT("under the quarantine dir"));
	like(rep.kept_dir, "/room-a-", WHAT("named for the peer room"));
	diag("kept %s", rep.kept_dir);
	path_in(a, r.peer_dir, SNAPSHOT_DB_NAME);
	path_in(b, rep.kept_dir, SNAPSHOT_DB_NAME);
	ok(same_file(a, b), WHAT("kept database identical to the peer's"));
	path_in(a, r.peer_dir, SNAPSHOT_SERIALS_NAME);
	path_in(b, rep.kept_dir, SNAPSHOT_SERIALS_NAME);
	ok(same_file(a, b), WHAT("kept serial file identical"));
	{
		struct serial_file kept;

		ok(serial_file_read(b, &kept, err) == 0 &&
		    snapshot_verify(rep.kept_dir, &kept, err) == 0,
		    WHAT("kept copy verifies: importable later"));
		serial_file_free(&kept);
	}

	if (policy == DIVERGED_REFUSE) {
		is_int(rep.imported, 0, WHAT("nothing imported"));
		after = dump_store(r.b);
		is_str(after, before, WHAT("own data unchanged"));
		free(after);
	} else {
		is_int(rep.imported, 1, WHAT("imported"));
		is_int(rep.nimported, 1, WHAT("one zone imported"));
		pa = dump_zone(r.a, ZONE47);
		pb = dump_zone(r.b, ZONE47);
		ok(pa && pb && strcmp(pa, pb) == 0,
		    WHAT("peer-newer zone 47 taken from the peer"));
		free(pa);
		free(pb);
		pb = dump_zone(r.b, ZONE46);
		is_str(pb, own46, WHAT("own-newer zone 46 kept"));
		free(pb);
		is_int(zone_serial(r.b, ZONE46), 100 + NUMBERS + 2,
		    WHAT("zone 46 keeps its own serial"));
		is_int(zone_serial(r.b, ZONE47), zone_serial(r.a, ZONE47),
		    WHAT("zone 47 has the peer's serial"));
	}
	free(own46);
	free(before);
	sync_report_free(&rep);

	/* without a quarantine directory the copy cannot be kept: the step
	 * fails and nothing is imported, whatever the policy */
	opts.quarantine_dir = NULL;
	change_number(r.a, STORE_REPLACE, "+4770000006", "room-a.example");
	rooms_export_peer(&r);
	change_number(r.b, STORE_REPLACE, "+4670000006", "room-b.example");
	before = dump_store(r.b);
	err[0] = '\0';
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == -1,
	    WHAT("no quarantine dir: step failure"));
	is_str(sync_step_name(rep.step), "keep peer copy", WHAT("step named"));
	like(err, "quarantine", WHAT("error says why"));
	after = dump_store(r.b);
	is_str(after, before, WHAT("own data unchanged"));
	free(after);
	free(before);
	sync_report_free(&rep);
	rooms_free(&r);
#undef WHAT
}

static void
test_undefined(void)
{
	struct sync_opts opts = { DIVERGED_MERGE_ZONES, quarantine, 0 };
	struct serial_file sf;
	struct sync_report rep;
	struct rooms r;
	char err[ENUMDR_ERRLEN], path[PATH_MAX], dir[PATH_MAX];
	char *before, *after;
	const struct sync_zone *z;
	uint32_t own;

	ok(rooms_setup("undef", &r) == 0, "undefined: two rooms, same data");
	/* The peer's zone 46 stands at exactly 2^31 from ours (set in its
	 * database, so that its snapshot is consistent), and zone 47 is
	 * newer: undefined wins, nothing is imported. */
	change_number(r.a, STORE_REPLACE, "+4770000005", "room-a.example");
	own = zone_serial(r.b, ZONE46);
	{
		char sql[160];

		snprintf(sql, sizeof(sql), "UPDATE zone SET serial = %u WHERE"
		    " origin = '%s'", own + 0x80000000u, ZONE46);
		ok(sqlite3_exec(store_handle(r.a), sql, NULL, NULL, NULL) ==
		    SQLITE_OK, "peer's zone 46 at distance 2^31");
	}
	path_in(dir, base, "undef-crafted");
	ok(snapshot_export(r.a, dir, "room-a", NULL, err) == 0, "peer exports");

	before = dump_store(r.b);
	err[0] = '\0';
	ok(sync_run(r.b, dir, &opts, &rep, err) == 0, "undefined: sync ran"
	    " to an outcome");
	if (err[0])
		diag("%s", err);
	is_str(sync_outcome_name(rep.outcome), "undefined",
	    "undefined: outcome");
	z = report_zone(&rep, ZONE46);
	ok(z && z->verdict == ZONE_UNDEFINED &&
	    z->peer_serial - z->own_serial == 0x80000000u,
	    "zone 46 undefined at distance 2^31");
	z = report_zone(&rep, ZONE47);
	ok(z && z->verdict == ZONE_PEER_NEWER, "zone 47 peer-newer");
	is_int(rep.imported, 0, "undefined: nothing imported, even with"
	    " merge-zones");
	ok(rep.kept_dir[0] != '\0', "undefined: peer copy kept");
	path_in(path, rep.kept_dir, SNAPSHOT_SERIALS_NAME);
	ok(access(path, F_OK) == 0, "kept serial file there");
	path_in(path, rep.kept_dir, SNAPSHOT_DB_NAME);
	ok(access(path, F_OK) == 0, "kept database there");
	after = dump_store(r.b);
	is_str(after, before, "undefined: own data unchanged");
	free(after);
	free(before);
	sync_report_free(&rep);

	/* the same with an own zone given its serial by store_add_zone */
	ok(store_add_zone(r.b, "5.4.e164.arpa", 5, err) == STORE_OK,
	    "own zone 5.4.e164.arpa at serial 5");
	memset(&sf, 0, sizeof(sf));
	sf.version = SERIAL_FILE_VERSION;
	strlcpy_(sf.room, "room-z", sizeof(sf.room));
	strlcpy_(sf.created_at, "2026-11-29T15:34:26Z", sizeof(sf.created_at));
	strlcpy_(sf.database_uuid, "00", sizeof(sf.database_uuid));
	strlcpy_(sf.snapshot_name, SNAPSHOT_DB_NAME, sizeof(sf.snapshot_name));
	sha256_hex("", 0, sf.snapshot_sha256);
	sf.nzones = 1;
	sf.zones = calloc(1, sizeof(*sf.zones));
	if (sf.zones != NULL) {
		strlcpy_(sf.zones[0].origin, "5.4.e164.arpa",
		    sizeof(sf.zones[0].origin));
		sf.zones[0].serial = 0x80000005u;
	}
	ok(sync_compare(r.b, &sf, &rep, err) == 0, "compare 5 vs 0x80000005");
	z = report_zone(&rep, "5.4.e164.arpa");
	ok(z && z->verdict == ZONE_UNDEFINED, "5 vs 0x80000005: undefined");
	is_int(rep.outcome, SYNC_UNDEFINED, "outcome undefined (over the own"
	    " newer zones 46, 47)");
	sync_report_free(&rep);
	serial_file_free(&sf);
	rooms_free(&r);
}

/* The outcome table on sync_compare alone, with crafted peer serials. */
static void
test_compare_table(void)
{
	static const struct {
		const char *what;
		uint32_t own46, own47;       /* own zones 46, 47 */
		int peer46, peer47;          /* peer has it? */
		uint32_t p46, p47;
		enum sync_outcome want;
	} cases[] = {
		{ "same", 10, 20, 1, 1, 10, 20, SYNC_EQUAL },
		{ "own newer in one", 11, 20, 1, 1, 10, 20, SYNC_OWN_NEWER },
		{ "own only zone", 10, 20, 1, 0, 10, 0, SYNC_OWN_NEWER },
		{ "peer newer in one", 10, 20, 1, 1, 10, 21, SYNC_PEER_NEWER },
		{ "peer newer across the wrap", 0xFFFFFFFFu, 20, 1, 1, 3, 20,
		  SYNC_PEER_NEWER },
		{ "own newer across the wrap", 3, 20, 1, 1, 0xFFFFFFFFu, 20,
		  SYNC_OWN_NEWER },
		{ "diverged", 11, 20, 1, 1, 10, 21, SYNC_DIVERGED },
		{ "diverged by an own-only zone", 10, 20, 1, 0, 11, 0,
		  SYNC_DIVERGED },
		{ "undefined", 10, 20, 1, 1, 0x8000000Au, 20,
		  SYNC_UNDEFINED },
		{ "undefined beats own-newer", 10, 20, 1, 1, 0x8000000Au, 19,
		  SYNC_UNDEFINED },
		{ "undefined beats diverged (3 zones)", 10, 21, 1, 1,
		  0x8000000Au, 20, SYNC_UNDEFINED },
		{ "distance 2^31-1 is defined", 10, 20, 1, 1, 0x80000009u, 20,
		  SYNC_PEER_NEWER },
	};
	struct serial_zone pz[3];
	struct serial_file sf;
	struct sync_report rep;
	struct store *st;
	char err[ENUMDR_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (store_open(":memory:", STORE_CREATE, &st, err) != STORE_OK) {
			ok(0, "open :memory:");
			return;
		}
		store_add_zone(st, ZONE46, cases[i].own46, err);
		store_add_zone(st, ZONE47, cases[i].own47, err);
		memset(&sf, 0, sizeof(sf));
		memset(pz, 0, sizeof(pz));
		strlcpy_(sf.room, "peer", sizeof(sf.room));
		sf.zones = pz;
		if (cases[i].peer46) {
			strlcpy_(pz[sf.nzones].origin, ZONE46,
			    sizeof(pz[0].origin));
			pz[sf.nzones++].serial = cases[i].p46;
		}
		if (cases[i].peer47) {
			strlcpy_(pz[sf.nzones].origin, ZONE47,
			    sizeof(pz[0].origin));
			pz[sf.nzones++].serial = cases[i].p47;
		}
		if (strstr(cases[i].what, "3 zones")) {
			/* a third zone only the peer has */
			strlcpy_(pz[sf.nzones].origin, ZONE48,
			    sizeof(pz[0].origin));
			pz[sf.nzones++].serial = 1;
		}
		ok(sync_compare(st, &sf, &rep, err) == 0 &&
		    rep.outcome == cases[i].want, cases[i].what);
		if (rep.outcome != cases[i].want)
			diag("got %s", sync_outcome_name(rep.outcome));
		sync_report_free(&rep);
		store_close(st);
	}
	is_str(sync_outcome_name(SYNC_OWN_NEWER), "own-newer", "outcome name");
	is_str(sync_zone_verdict_name(ZONE_UNDEFINED), "undefined",
	    "verdict name");
}

static void
test_step_failures(void)
{
	struct sync_opts opts = { DIVERGED_REFUSE, quarantine, 0 };
	struct sync_report rep;
	struct rooms r;
	struct store *st;
	char err[ENUMDR_ERRLEN], path[PATH_MAX], dir[PATH_MAX];
	char *before, *after;
	int fd;

	/* 1. the peer's serial file cannot be read */
	ok(rooms_setup("fail", &r) == 0, "failures: two rooms");
	before = dump_store(r.b);
	path_in(dir, base, "no-such-peer-dir");
	err[0] = '\0';
	ok(sync_run(r.b, dir, &opts, &rep, err) == -1,
	    "missing serial file: step failure");
	is_str(sync_step_name(rep.step), "read peer serial file", "step named");
	like(err, "read peer serial file", "error names the step");
	like(err, "no-such-peer-dir/" SNAPSHOT_SERIALS_NAME,
	    "error names the file");
	diag("%s", err);
	sync_report_free(&rep);

	/* a corrupted one likewise */
	path_in(path, r.peer_dir, SNAPSHOT_SERIALS_NAME);
	ok(util_write_file_atomic(path, "enumdr-serials 1\nroom x\n", 24,
	    0640, err) == 0, "truncate the peer's serial file");
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == -1,
	    "truncated serial file: step failure");
	is_str(sync_step_name(rep.step), "read peer serial file", "step named");
	like(err, SNAPSHOT_SERIALS_NAME ":3", "error names file and line");
	sync_report_free(&rep);

	/* 2. the peer's serials fine, its database damaged: reading the
	 * peer's snapshot (verified before its zone histories are read)
	 * fails and nothing changes */
	change_number(r.a, STORE_REPLACE, "+4770000005", "room-a.example");
	ok(rooms_export_peer(&r) == 0, "peer exports");
	path_in(path, r.peer_dir, SNAPSHOT_DB_NAME);
	ok(truncate(path, 4096) == 0, "truncate the peer's database");
	err[0] = '\0';
	ok(sync_run(r.b, r.peer_dir, &opts, &rep, err) == -1,
	    "damaged peer database: step failure");
	is_str(sync_step_name(rep.step), "read peer snapshot", "step named");
	like(err, "size", "error names the size");
	is_int(rep.imported, 0, "nothing imported");
	after = dump_store(r.b);
	is_str(after, before, "own data unchanged");
	free(after);
	free(before);
	sync_report_free(&rep);
	rooms_free(&r);

	/* 3. own serials unreadable: the database file overwritten with
	 * garbage under an open connection */
	ok(rooms_setup("fail2", &r) == 0, "failures: two rooms again");
	store_close(r.b);
	path_in(path, base, "fail2-b.db");
	r.b = NULL;
	ok(store_open(path, 0, &st, err) == STORE_OK, "reopen own database");
	fd = open(path, O_WRONLY);
	if (fd != -1) {
		char junk[65536];

		memset(junk, 'G', sizeof(junk));
		ok(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk),
		    "overwrite the database file with garbage");
		close(fd);
	}
	err[0] = '\0';
	ok(sync_run(st, r.peer_dir, &opts, &rep, err) == -1,
	    "unreadable own database: step failure");
	is_str(sync_step_name(rep.step), "query own serials", "step named");
	like(err, "query own serials", "error names the step");
	diag("%s", err);
	sync_report_free(&rep);
	store_close(st);

	/* and a database whose zone table is gone */
	if (store_open(":memory:", STORE_CREATE, &st, err) == STORE_OK) {
		sqlite3_exec(store_handle(st), "PRAGMA foreign_keys=OFF;"
		    " DROP TABLE zone", NULL, NULL, NULL);
		ok(sync_run(st, r.peer_dir, &opts, &rep, err) == -1,
		    "own zone table missing: step failure");
		is_str(sync_step_name(rep.step), "query own serials", "step named");
		like(err, "zone", "error names the table");
		sync_report_free(&rep);
		store_close(st);
	}
	rooms_free(&r);
}

int
main(void)
{
	snprintf(base, sizeof(base), "%s/enumdr-test-sync-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL) {
		printf("Bail out! mkdtemp %s\n", base);
		return 1;
	}
	path_in(quarantine, base, "quarantine");
	test_compare_table();
	test_equal_and_own_newer();
	test_peer_newer();
	test_diverged(DIVERGED_REFUSE);
	test_diverged(DIVERGED_MERGE_ZONES);
	test_same_zone_diverged();
	test_undefined();
	test_step_failures();
	if (getenv("ENUMDR_KEEP_TEST_DIR") == NULL)
		nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		diag("kept %s", base);
	return tap_done();
}
