/*
 * test_replica.c — the store's replication (issue 14): change identity,
 * following a peer's journal (store_apply_remote), idempotence, per-number
 * merge with conflicts and tombstones, operator decisions, gaps, zone
 * serials after a merge, and a seeded property test with three rooms
 * (ENUMDR_SEED=n replays one seed).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "naptr.h"
#include "rfc1982.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#define ZONE "6.4.e164.arpa"

/* A check of a known defect (TAP TODO: reported, not counted as a
 * failure; the test harness shows it as XFAIL, or XPASS once fixed). */
static void
todo_ok(int cond, const char *what, const char *why)
{
	tap_n++;
	printf("%sok %d - %s # TODO %s\n", cond ? "" : "not ", tap_n, what,
	    why);
	fflush(stdout);
}

struct room {
	struct store *st;
	char name[8];
	char uuid[STORE_UUID_MAX];
	/* our cursor in each peer's journal (room A, B, C), in memory:
	 * store_apply_remote saves it only with a batch that wrote */
	int64_t cur[4];
};

static char tmpdir[64];

/* Open a room's database: path NULL is in memory, else a file in tmpdir. */
static int
room_open(struct room *r, const char *name, int on_disk, uint32_t serial)
{
	char err[ENUMDR_ERRLEN], path[128];

	memset(r, 0, sizeof(*r));
	strlcpy_(r->name, name, sizeof(r->name));
	if (on_disk)
		snprintf(path, sizeof(path), "%s/%s.db", tmpdir, name);
	else
		strlcpy_(path, ":memory:", sizeof(path));
	if (store_open(path, STORE_CREATE, &r->st, err) != STORE_OK) {
		diag("open %s: %s", path, err);
		return -1;
	}
	store_set_room(r->st, name);
	if (store_add_zone(r->st, ZONE, serial, err) != STORE_OK ||
	    store_identity(r->st, r->uuid, sizeof(r->uuid), err) != STORE_OK) {
		diag("room %s: %s", name, err);
		return -1;
	}
	return 0;
}

static void
room_close(struct room *r, int on_disk)
{
	char path[160];
	const char *sfx[] = { "", "-wal", "-shm" };
	size_t i;

	store_close(r->st);
	r->st = NULL;
	if (!on_disk)
		return;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s.db%s", tmpdir, r->name,
		    sfx[i]);
		unlink(path);
	}
}

static void
entry(struct number_entry *e, const char *e164, const char *tag)
{
	memset(e, 0, sizeof(*e));
	strlcpy_(e->e164, e164, sizeof(e->e164));
	e->nnaptr = 1;
	e->naptr[0].order = 100;
	e->naptr[0].preference = 10;
	strlcpy_(e->naptr[0].flags, "U", sizeof(e->naptr[0].flags));
	strlcpy_(e->naptr[0].service, "E2U+sip", sizeof(e->naptr[0].service));
	snprintf(e->naptr[0].regexp, sizeof(e->naptr[0].regexp),
	    "!^.*$!sip:%s@%s.example.net!", e164, tag != NULL ? tag : "none");
	strlcpy_(e->naptr[0].replacement, ".", sizeof(e->naptr[0].replacement));
}

/* One change of a room; tag makes the records distinct. */
static enum store_status
change(struct room *r, enum store_op op, const char *e164, const char *tag)
{
	struct store_change c;
	char err[ENUMDR_ERRLEN];

	memset(&c, 0, sizeof(c));
	c.op = op;
	if (op == STORE_REMOVE)
		strlcpy_(c.entry.e164, e164, sizeof(c.entry.e164));
	else
		entry(&c.entry, e164, tag);
	return store_apply(r->st, &c, 1, NULL, NULL, err);
}

/* dst applies src's journal after dst's cursor, at most limit rows (a
 * follower: the cursor from the database at the start, then in memory). */
static enum store_status
pull(struct room *dst, struct room *src, size_t limit,
    struct store_remote_result *res, size_t *nrows, char *err)
{
	struct journal_row *rows;
	enum store_status s;
	int64_t saved, *cursor = &dst->cur[(src->name[0] - 'A') & 3];
	size_t n;

	memset(res, 0, sizeof(*res));
	if (nrows)
		*nrows = 0;
	if ((s = store_peer_cursor(dst->st, src->uuid, &saved, err)) !=
	    STORE_OK)
		return s;
	if (saved > *cursor)
		*cursor = saved;
	if ((s = store_journal_read(src->st, *cursor, limit, &rows, &n,
	    err)) != STORE_OK)
		return s;
	s = store_apply_remote(dst->st, src->uuid, src->name,
	    n > 0 ? rows[n - 1].seq : *cursor, rows, n, res, err);
	if (s == STORE_OK && n > 0)
		*cursor = rows[n - 1].seq;
	store_journal_free(rows, n);
	if (nrows)
		*nrows = n;
	return s;
}

/* Pull until nothing is left; the sums of what the batches did. */
static enum store_status
pull_all(struct room *dst, struct room *src, struct store_remote_result *sum,
    char *err)
{
	struct store_remote_result res;
	enum store_status s;
	size_t n;

	memset(sum, 0, sizeof(*sum));
	do {
		if ((s = pull(dst, src, 1000, &res, &n, err)) != STORE_OK)
			return s;
		sum->applied += res.applied;
		sum->skipped += res.skipped;
		sum->conflicts += res.conflicts;
		sum->lost += res.lost;
		sum->decided += res.decided;
	} while (n > 0);
	return STORE_OK;
}

/* dst merges a whole copy of src's database (what a gap heals from:
 * store_merge_attached on a backup of src, as a snapshot would be). */
static enum store_status
merge_from(struct room *dst, struct room *src, struct store_merge_result *mr,
    char *err)
{
	char path[160], sql[200];
	sqlite3 *copy = NULL;
	sqlite3_backup *b;
	enum store_status s;
	int rc;

	memset(mr, 0, sizeof(*mr));
	snprintf(path, sizeof(path), "%s/copy-of-%s.db", tmpdir, src->name);
	unlink(path);
	if (sqlite3_open(path, &copy) != SQLITE_OK ||
	    (b = sqlite3_backup_init(copy, "main", store_handle(src->st),
	    "main")) == NULL) {
		snprintf(err, ENUMDR_ERRLEN, "copy %s: %s", src->name,
		    copy ? sqlite3_errmsg(copy) : "no memory");
		sqlite3_close(copy);
		return STORE_EIO;
	}
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	sqlite3_close(copy);
	if (rc != SQLITE_DONE) {
		snprintf(err, ENUMDR_ERRLEN, "copy %s: backup failed",
		    src->name);
		return STORE_EIO;
	}
	snprintf(sql, sizeof(sql), "ATTACH DATABASE '%s' AS snap", path);
	if (sqlite3_exec(store_handle(dst->st), sql, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, ENUMDR_ERRLEN, "attach: %s",
		    sqlite3_errmsg(store_handle(dst->st)));
		unlink(path);
		return STORE_EIO;
	}
	s = store_merge_attached(dst->st, "snap", path, src->name, NULL, 0,
	    mr, err);
	sqlite3_exec(store_handle(dst->st), "DETACH DATABASE snap", NULL,
	    NULL, NULL);
	unlink(path);
	if (s == STORE_OK && mr->peer_position > dst->cur[(src->name[0] - 'A')
	    & 3])
		dst->cur[(src->name[0] - 'A') & 3] = mr->peer_position;
	return s;
}

/* The rows of a query, columns joined by '|', rows by '\n' (malloc'd). */
static char *
dump(struct store *st, const char *sql)
{
	sqlite3_stmt *q;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int i;

	if (f == NULL)
		return NULL;
	if (sqlite3_prepare_v2(store_handle(st), sql, -1, &q, NULL) !=
	    SQLITE_OK) {
		fprintf(f, "prepare: %s", sqlite3_errmsg(store_handle(st)));
	} else {
		while (sqlite3_step(q) == SQLITE_ROW) {
			for (i = 0; i < sqlite3_column_count(q); i++)
				fprintf(f, "%s%s", i ? "|" : "",
				    sqlite3_column_text(q, i) ?
				    (const char *)sqlite3_column_text(q, i) :
				    "NULL");
			fputc('\n', f);
		}
		sqlite3_finalize(q);
	}
	fclose(f);
	return out;
}

#define NUMBERS_SQL "SELECT e164, zone, naptr FROM number ORDER BY e164"
#define VERSIONS_SQL "SELECT e164, zone, origin, oseq, hlc, room, removed" \
	" FROM number_version ORDER BY e164"

/* Do a and b hold the same numbers and number versions? */
static int
same_tables(struct store *a, struct store *b, int report)
{
	char *na = dump(a, NUMBERS_SQL), *nb = dump(b, NUMBERS_SQL);
	char *va = dump(a, VERSIONS_SQL), *vb = dump(b, VERSIONS_SQL);
	int same = na && nb && va && vb && strcmp(na, nb) == 0 &&
	    strcmp(va, vb) == 0;

	if (!same && report) {
		diag("numbers:\n%s---\n%s", na ? na : "", nb ? nb : "");
		diag("versions:\n%s---\n%s", va ? va : "", vb ? vb : "");
	}
	free(na);
	free(nb);
	free(va);
	free(vb);
	return same;
}

static uint32_t
zone_serial(struct store *st)
{
	struct zone_info *z;
	size_t n, i;
	uint32_t s = 0;
	char err[ENUMDR_ERRLEN];

	if (store_list_zones(st, &z, &n, err) != STORE_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(z[i].origin, ZONE) == 0)
			s = z[i].serial;
	free(z);
	return s;
}

/* e164's version here: 1 found, 0 none. */
static int
version_of(struct store *st, const char *e164, struct store_version *v,
    int *removed)
{
	sqlite3_stmt *q;
	int found = 0;

	memset(v, 0, sizeof(*v));
	*removed = 0;
	if (sqlite3_prepare_v2(store_handle(st), "SELECT origin, oseq, hlc,"
	    " room, removed FROM number_version WHERE e164 = ?1", -1, &q,
	    NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		strlcpy_(v->origin, (const char *)sqlite3_column_text(q, 0),
		    sizeof(v->origin));
		v->oseq = sqlite3_column_int64(q, 1);
		v->hlc = sqlite3_column_int64(q, 2);
		strlcpy_(v->room, (const char *)sqlite3_column_text(q, 3),
		    sizeof(v->room));
		*removed = sqlite3_column_int(q, 4);
		found = 1;
	}
	sqlite3_finalize(q);
	return found;
}

/* e164's records here (malloc'd), NULL when it does not exist. */
static char *
records_of(struct store *st, const char *e164)
{
	sqlite3_stmt *q;
	char *r = NULL;

	if (sqlite3_prepare_v2(store_handle(st), "SELECT naptr FROM number"
	    " WHERE e164 = ?1", -1, &q, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(q, 1, e164, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		r = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return r;
}

static int64_t
journal_pos(struct store *st)
{
	char err[ENUMDR_ERRLEN];
	int64_t pos = -1;

	store_journal_position(st, &pos, err);
	return pos;
}

/* The op of journal row seq ("" when none; a static buffer). */
static const char *
journal_op(struct store *st, int64_t seq)
{
	static char op[16];
	struct journal_row *rows;
	char err[ENUMDR_ERRLEN];
	size_t n = 0;

	op[0] = '\0';
	if (store_journal_read(st, seq - 1, 1, &rows, &n, err) == STORE_OK &&
	    n > 0 && rows[0].seq == seq)
		strlcpy_(op, rows[0].op, sizeof(op));
	store_journal_free(rows, n);
	return op;
}

static int64_t
open_conflicts(struct store *st)
{
	char err[ENUMDR_ERRLEN];
	int64_t n = -1;

	store_conflicts_open(st, &n, err);
	return n;
}

static int
same_version(const struct store_version *a, const struct store_version *b)
{
	return strcmp(a->origin, b->origin) == 0 && a->oseq == b->oseq &&
	    a->hlc == b->hlc && strcmp(a->room, b->room) == 0;
}

/* Wait until the wall clock moved on, so the next HLC is newer. */
static void
tick(void)
{
	usleep(3000);
}

/* ---- 1, 2: following a journal and back ------------------------------ */

static void
test_follow(void)
{
	char err[ENUMDR_ERRLEN];
	struct room a, b, c;
	struct store_change ch[3];
	struct store_remote_result res;
	struct journal_row *ra, *rb, *again;
	size_t na = 0, nb = 0, nagain = 0, n, i;
	int64_t cursor, pos_b;
	uint32_t serial_b;
	int ok_rows;
	char *before;

	if (room_open(&a, "A", 1, 1000) == -1 ||
	    room_open(&b, "B", 1, 1000) == -1 ||
	    room_open(&c, "C", 0, 1000) == -1) {
		ok(0, "open rooms A, B (on disk), C (memory)");
		return;
	}
	ok(strcmp(a.uuid, b.uuid) != 0, "each database has its own uuid");

	/* A: three adds in one transaction, then replace, remove, re-add. */
	memset(ch, 0, sizeof(ch));
	for (i = 0; i < 3; i++) {
		char e164[16];

		snprintf(e164, sizeof(e164), "+463100000%zu", i + 1);
		ch[i].op = STORE_ADD;
		entry(&ch[i].entry, e164, "a1");
	}
	ok(store_apply(a.st, ch, 3, NULL, NULL, err) == STORE_OK,
	    "A adds three numbers in one batch");
	ok(change(&a, STORE_REPLACE, "+4631000002", "a2") == STORE_OK,
	    "A replaces +4631000002");
	ok(change(&a, STORE_REMOVE, "+4631000003", NULL) == STORE_OK,
	    "A removes +4631000003");
	ok(change(&a, STORE_ADD, "+4631000004", "a1") == STORE_OK &&
	    change(&a, STORE_REMOVE, "+4631000004", NULL) == STORE_OK &&
	    change(&a, STORE_ADD, "+4631000004", "a3") == STORE_OK,
	    "A adds, removes and re-adds +4631000004");
	ok(store_journal_read(a.st, 0, 100, &ra, &na, err) == STORE_OK &&
	    na == 8, "A's journal: eight rows");
	ok_rows = na == 8;
	for (i = 0; ok_rows && i < na; i++)
		if (strcmp(ra[i].v.origin, a.uuid) != 0 ||
		    ra[i].v.oseq != (int64_t)i + 1 ||
		    strcmp(ra[i].v.room, "A") != 0 ||
		    (i > 0 && ra[i].v.hlc <= ra[i - 1].v.hlc))
			ok_rows = 0;
	ok(ok_rows, "own rows: origin A, oseq 1..8, room A, HLC increasing");
	if (na == 8) {
		is_str(ra[0].prev_origin, "", "an add of a new number has no prev");
		is_int(ra[3].prev_oseq, 2, "replace names the add it replaced");
		is_str(ra[3].prev_origin, a.uuid, "... of origin A");
		is_int(ra[4].prev_oseq, 3, "remove names the version it removed");
		is_int(ra[7].prev_oseq, 7, "re-add names the tombstone");
		is_int(ra[0].txn, ra[0].seq, "batch: txn is its first row");
		ok(ra[2].txn == ra[0].txn && ra[3].txn == ra[3].seq,
		    "batch rows share the txn, the next change has its own");
	}

	ok(store_peer_cursor(b.st, a.uuid, &cursor, err) == STORE_OK &&
	    cursor == 0, "B has never followed A: cursor 0");
	is_int(pull(&b, &a, 100, &res, &n, err), STORE_OK, "B applies A's journal");
	is_int(n, 8, "eight rows read");
	is_int(res.applied, 8, "all eight applied");
	is_int(res.skipped + res.conflicts + res.lost, 0,
	    "nothing skipped, no conflict");
	ok(same_tables(a.st, b.st, 1), "B's numbers and versions equal A's");
	is_int(zone_serial(b.st), zone_serial(a.st), "B's serial equals A's");
	is_int(zone_serial(b.st), 1008, "... 1000 + 8");
	ok(store_peer_cursor(b.st, a.uuid, &cursor, err) == STORE_OK &&
	    cursor == ra[na - 1].seq, "B's cursor in A: A's last seq");
	is_int(res.journal_seq, journal_pos(b.st), "res.journal_seq: B's position");
	is_int(res.nzones, 1, "one zone moved");
	is_int(res.zones[0].serial, 1008, "... to 1008");
	is_int(res.last_hlc, ra[na - 1].v.hlc, "last_hlc: the newest change's");

	/* B's journal has A's changes with A's identity. */
	ok(store_journal_read(b.st, 0, 100, &rb, &nb, err) == STORE_OK &&
	    nb == na, "B's journal: the same number of rows");
	ok_rows = nb == na;
	for (i = 0; ok_rows && i < nb; i++)
		if (!same_version(&ra[i].v, &rb[i].v) ||
		    strcmp(ra[i].op, rb[i].op) != 0 ||
		    strcmp(ra[i].e164, rb[i].e164) != 0 ||
		    strcmp(ra[i].records, rb[i].records) != 0 ||
		    strcmp(ra[i].prev_origin, rb[i].prev_origin) != 0 ||
		    ra[i].prev_oseq != rb[i].prev_oseq ||
		    ra[i].serial != rb[i].serial || ra[i].flags != rb[i].flags)
			ok_rows = 0;
	ok(ok_rows, "B's rows carry A's identity, prev, op, records, serial");

	/* The same rows again: all skipped, nothing changes. */
	before = dump(b.st, NUMBERS_SQL);
	pos_b = journal_pos(b.st);
	serial_b = zone_serial(b.st);
	ok(store_journal_read(a.st, 0, 100, &again, &nagain, err) == STORE_OK,
	    "read A's journal again");
	is_int(store_apply_remote(b.st, a.uuid, "A", ra[na - 1].seq, again,
	    nagain, &res, err), STORE_OK, "apply the same rows again");
	is_int(res.skipped, nagain, "every row skipped");
	is_int(res.skipped_only, 1, "skipped_only: nothing written");
	is_int(res.applied + res.conflicts + res.lost, 0, "nothing applied");
	is_int(journal_pos(b.st), pos_b, "B's journal did not grow");
	is_int(zone_serial(b.st), serial_b, "B's serial did not move");
	{
		char *after = dump(b.st, NUMBERS_SQL);

		ok(before && after && strcmp(before, after) == 0,
		    "B's numbers unchanged");
		free(after);
	}
	free(before);
	ok(same_tables(a.st, b.st, 1), "still equal to A");
	store_journal_free(again, nagain);

	/* C follows A one row at a time: a batch comes whole. */
	is_int(pull(&c, &a, 1, &res, &n, err), STORE_OK, "C reads A with limit 1");
	is_int(n, 3, "the batch of three comes whole");
	{
		int rounds = 0;

		while (n > 0 && rounds++ < 20)
			if (pull(&c, &a, 1, &res, &n, err) != STORE_OK)
				break;
	}
	ok(same_tables(a.st, c.st, 1), "C, one row at a time, equals A");
	is_int(zone_serial(c.st), 1008, "C's serial 1008");

	/* 2: chain back.  A follows B's journal: its own changes. */
	is_int(pull_all(&a, &b, &res, err), STORE_OK, "A follows B's journal");
	is_int(res.skipped, 8, "all eight rows skipped (A's own)");
	is_int(res.applied + res.conflicts + res.lost, 0, "nothing applied");
	is_int(open_conflicts(a.st), 0, "no conflicts in A");
	is_int(journal_pos(a.st), 8, "A's journal did not grow");
	is_int(zone_serial(a.st), 1008, "A's serial did not move");
	is_int(a.cur[1], rb[nb - 1].seq,
	    "A's cursor in B (in memory) moved to B's last seq");
	ok(store_peer_cursor(a.st, b.uuid, &cursor, err) == STORE_OK &&
	    cursor == 0, "... not saved: the batches wrote nothing");
	is_int(pull_all(&c, &b, &res, err), STORE_OK, "C follows B too");
	is_int(res.skipped, 8, "... all skipped (seen through A)");
	ok(same_tables(a.st, c.st, 1) && same_tables(b.st, c.st, 1),
	    "A, B, C agree");
	/* A peer that is this database is refused. */
	is_int(store_apply_remote(a.st, a.uuid, "A", 1, ra, 1, &res, err),
	    STORE_EINVAL, "applying our own uuid's journal refused");

	store_journal_free(ra, na);
	store_journal_free(rb, nb);
	room_close(&a, 1);
	room_close(&b, 1);
	room_close(&c, 0);
}

/* ---- 3: a conflict and its decision --------------------------------- */

static const struct store_conflict *
only_conflict(struct store *st, struct store_conflict **list, size_t *n)
{
	char err[ENUMDR_ERRLEN];

	if (store_conflicts(st, 0, list, n, err) != STORE_OK || *n != 1)
		return NULL;
	return &(*list)[0];
}

static void
test_conflict(void)
{
	char err[ENUMDR_ERRLEN], *ra_text, *rb_text, *cur;
	const char *x = "+4631000001";
	struct room a, b;
	struct store_remote_result res;
	struct store_change_result cres;
	struct store_conflict *la = NULL, *lb = NULL;
	const struct store_conflict *ca, *cb;
	struct store_version va, vb, v;
	struct journal_row *rows;
	size_t nla = 0, nlb = 0, n;
	int64_t dseq;
	int removed;

	if (room_open(&a, "A", 0, 1000) == -1 ||
	    room_open(&b, "B", 0, 1000) == -1) {
		ok(0, "open rooms");
		return;
	}
	change(&a, STORE_ADD, x, "base");
	ok(pull_all(&b, &a, &res, err) == STORE_OK && res.applied == 1,
	    "both hold +4631000001 at the same version");
	ok(change(&a, STORE_REPLACE, x, "ra") == STORE_OK, "A replaces it (RA)");
	version_of(a.st, x, &va, &removed);
	ra_text = records_of(a.st, x);
	tick();
	ok(change(&b, STORE_REPLACE, x, "rb") == STORE_OK,
	    "B replaces it later (RB)");
	version_of(b.st, x, &vb, &removed);
	rb_text = records_of(b.st, x);
	ok(store_version_newer(&vb, &va), "B's version is the newer");

	is_int(pull_all(&a, &b, &res, err), STORE_OK, "A applies B's journal");
	is_int(res.conflicts, 1, "A: one conflict");
	is_int(res.applied, 1, "A: B's change applied (it wins)");
	is_int(pull_all(&b, &a, &res, err), STORE_OK, "B applies A's journal");
	is_int(res.conflicts, 1, "B: one conflict");
	is_int(res.lost, 1, "B: A's change lost");
	cur = records_of(a.st, x);
	is_str(cur, rb_text, "A serves RB");
	free(cur);
	cur = records_of(b.st, x);
	is_str(cur, rb_text, "B serves RB");
	free(cur);
	ok(same_tables(a.st, b.st, 1), "A and B agree");
	is_int(open_conflicts(a.st), 1, "A: one open conflict");
	is_int(open_conflicts(b.st), 1, "B: one open conflict");

	ca = only_conflict(a.st, &la, &nla);
	cb = only_conflict(b.st, &lb, &nlb);
	ok(ca != NULL && cb != NULL, "one conflict row in each room");
	if (ca != NULL && cb != NULL) {
		ok(same_version(&ca->served, &vb) && same_version(&cb->served,
		    &vb), "served: B's version in both");
		ok(same_version(&ca->other, &va) && same_version(&cb->other,
		    &va), "other: A's version in both");
		is_str(ca->served_records, rb_text, "A: served records RB");
		is_str(ca->other_records, ra_text, "A: other records RA");
		is_str(cb->served_records, rb_text, "B: served records RB");
		is_str(cb->other_records, ra_text, "B: other records RA");
		is_str(ca->e164, x, "conflict names the number");
		is_str(ca->zone, ZONE, "... and its zone");
		ok(ca->open && cb->open && ca->decision[0] == '\0' &&
		    ca->decided_at[0] == '\0', "open, undecided");
	}

	/* The decision: A keeps the other version (RA). */
	is_int(store_conflict_keep(a.st, ca ? ca->id : -1, "wrong", &cres, err),
	    STORE_EINVAL, "keep \"wrong\" refused");
	is_int(store_conflict_keep(a.st, 999, "other", &cres, err),
	    STORE_ENOENT, "keep of no such conflict refused");
	is_int(store_conflict_keep(a.st, ca ? ca->id : -1, "other", &cres, err),
	    STORE_OK, "A keeps the other version");
	is_int(cres.serial, zone_serial(a.st), "the decision's serial");
	dseq = cres.journal_seq;
	cur = records_of(a.st, x);
	is_str(cur, ra_text, "A serves RA");
	free(cur);
	is_int(open_conflicts(a.st), 0, "A's conflict closed");
	store_conflicts_free(la, nla);
	ca = only_conflict(a.st, &la, &nla);
	ok(ca != NULL && !ca->open && strcmp(ca->decision, "other") == 0 &&
	    ca->decided_at[0] != '\0', "A's conflict: decision \"other\"");
	is_int(store_conflict_keep(a.st, ca ? ca->id : -1, "served", &cres,
	    err), STORE_EEXIST, "deciding it twice refused");
	ok(store_journal_read(a.st, dseq - 1, 10, &rows, &n, err) ==
	    STORE_OK && n == 1 && (rows[0].flags & STORE_JF_DECISION) &&
	    strcmp(rows[0].op, "replace") == 0 &&
	    strcmp(rows[0].prev_origin, b.uuid) == 0 &&
	    rows[0].prev_oseq == vb.oseq && strcmp(rows[0].v.origin, a.uuid) ==
	    0 && strcmp(rows[0].records, ra_text) == 0,
	    "the decision: A's own replace, flagged, prev B's version, RA");
	store_journal_free(rows, n);

	is_int(pull_all(&b, &a, &res, err), STORE_OK, "B applies A's decision");
	is_int(res.applied, 1, "applied");
	is_int(res.conflicts, 0, "cleanly");
	is_int(res.decided, 1, "it closed one conflict");
	cur = records_of(b.st, x);
	is_str(cur, ra_text, "B serves RA");
	free(cur);
	is_int(open_conflicts(b.st), 0, "B's conflict closed");
	store_conflicts_free(lb, nlb);
	cb = only_conflict(b.st, &lb, &nlb);
	ok(cb != NULL && !cb->open && strcmp(cb->decision, "peer") == 0,
	    "B's conflict: decision \"peer\"");
	is_int(pull_all(&a, &b, &res, err), STORE_OK, "A applies B's journal");
	is_int(res.applied + res.conflicts + res.lost + res.decided, 0,
	    "nothing changes in A");
	ok(same_tables(a.st, b.st, 1), "A and B agree on numbers and versions");
	version_of(a.st, x, &v, &removed);
	ok(strcmp(v.origin, a.uuid) == 0 && store_version_newer(&v, &vb),
	    "the served version is A's decision, newer than both");

	store_conflicts_free(la, nla);
	store_conflicts_free(lb, nlb);
	free(ra_text);
	free(rb_text);
	room_close(&a, 0);
	room_close(&b, 0);
}

/* ---- 4: tombstones ---------------------------------------------------- */

static void
test_tombstones(void)
{
	char err[ENUMDR_ERRLEN], *rb_text, *cur;
	const char *x = "+4631000001", *y = "+4631000002";
	struct room a, b;
	struct store_remote_result res;
	struct store_conflict *la = NULL, *lb = NULL;
	const struct store_conflict *ca, *cb;
	struct store_version va, vb, v;
	size_t nla = 0, nlb = 0;
	int removed;

	if (room_open(&a, "A", 0, 1000) == -1 ||
	    room_open(&b, "B", 0, 1000) == -1) {
		ok(0, "open rooms");
		return;
	}
	change(&a, STORE_ADD, x, "base");
	change(&a, STORE_ADD, y, "base");
	pull_all(&b, &a, &res, err);

	/* x: A removes, B replaces later: the replace wins. */
	ok(change(&a, STORE_REMOVE, x, NULL) == STORE_OK, "A removes x");
	version_of(a.st, x, &va, &removed);
	ok(removed == 1 && strcmp(va.origin, a.uuid) == 0,
	    "A has x's tombstone, A's version");
	tick();
	ok(change(&b, STORE_REPLACE, x, "rb") == STORE_OK,
	    "B replaces x later");
	version_of(b.st, x, &vb, &removed);
	rb_text = records_of(b.st, x);
	/* y: B replaces, A removes later: the removal wins. */
	ok(change(&b, STORE_REPLACE, y, "rb") == STORE_OK, "B replaces y");
	tick();
	ok(change(&a, STORE_REMOVE, y, NULL) == STORE_OK, "A removes y later");

	ok(pull_all(&a, &b, &res, err) == STORE_OK && res.conflicts == 2,
	    "A applies B's journal: two conflicts");
	ok(pull_all(&b, &a, &res, err) == STORE_OK && res.conflicts == 2,
	    "B applies A's journal: two conflicts");
	ok(same_tables(a.st, b.st, 1), "A and B agree");
	cur = records_of(a.st, x);
	is_str(cur, rb_text, "x: B's replace served (newer than the removal)");
	free(cur);
	version_of(a.st, x, &v, &removed);
	ok(same_version(&v, &vb) && removed == 0, "x: B's version, live");
	cur = records_of(b.st, y);
	ok(cur == NULL, "y: removed in both (the removal is newer)");
	free(cur);
	version_of(b.st, y, &v, &removed);
	ok(removed == 1 && strcmp(v.origin, a.uuid) == 0,
	    "y: A's tombstone in B");

	if (store_conflicts(a.st, 1, &la, &nla, err) == STORE_OK && nla == 2 &&
	    store_conflicts(b.st, 1, &lb, &nlb, err) == STORE_OK && nlb == 2) {
		ok(1, "two open conflicts in each room");
		ca = strcmp(la[0].e164, x) == 0 ? &la[0] : &la[1];
		cb = strcmp(lb[0].e164, x) == 0 ? &lb[0] : &lb[1];
		ok(same_version(&ca->served, &vb) && same_version(&ca->other,
		    &va), "A, x: served B's replace, other A's removal");
		is_str(ca->served_records, rb_text, "A, x: served records");
		is_str(ca->other_records, "", "A, x: the removal's records \"\"");
		ok(same_version(&cb->served, &vb) && same_version(&cb->other,
		    &va), "B, x: the same versions");
		is_str(cb->other_records, "", "B, x: the removal's records \"\"");
		ca = ca == &la[0] ? &la[1] : &la[0];
		cb = cb == &lb[0] ? &lb[1] : &lb[0];
		is_str(ca->served_records, "", "A, y: served is the removal");
		ok(ca->other_records[0] != '\0', "A, y: other has B's records");
		is_str(cb->served_records, "", "B, y: served is the removal");
		ok(strcmp(cb->other_records, ca->other_records) == 0,
		    "B, y: the same other records");

		/* Keep the removed version of x in B: a decision that
		 * removes; keep B's records of y in A: one that adds. */
		{
			struct store_change_result cres;
			int64_t bx = strcmp(lb[0].e164, x) == 0 ? lb[0].id :
			    lb[1].id;

			ok(store_conflict_keep(b.st, bx, "other", &cres, err) ==
			    STORE_OK, "B keeps x's removal");
			is_str(journal_op(b.st, cres.journal_seq), "remove",
			    "the decision is a remove");
			cur = records_of(b.st, x);
			ok(cur == NULL, "x removed in B");
			free(cur);
			ok(store_conflict_keep(a.st, ca->id, "other", &cres,
			    err) == STORE_OK, "A keeps y's replace");
			is_str(journal_op(a.st, cres.journal_seq), "add",
			    "the decision is an add (y was removed)");
			cur = records_of(a.st, y);
			ok(cur != NULL, "y back in A");
			free(cur);
		}
		ok(pull_all(&a, &b, &res, err) == STORE_OK && res.decided == 1 &&
		    res.conflicts == 0, "A applies B's decision cleanly");
		ok(pull_all(&b, &a, &res, err) == STORE_OK && res.decided == 1 &&
		    res.conflicts == 0, "B applies A's decision cleanly");
		ok(same_tables(a.st, b.st, 1), "A and B agree after decisions");
		is_int(open_conflicts(a.st), 0, "A: no open conflict");
		is_int(open_conflicts(b.st), 0, "B: no open conflict");
		cur = records_of(a.st, x);
		ok(cur == NULL, "x removed in A");
		free(cur);
	} else {
		ok(0, "two open conflicts in each room");
		diag("A %zu, B %zu", nla, nlb);
	}
	store_conflicts_free(la, nla);
	store_conflicts_free(lb, nlb);
	free(rb_text);
	room_close(&a, 0);
	room_close(&b, 0);
}

/*
 * A room that made several changes to a number concurrently with one
 * change in the other room: the rooms agree on what is served, but the
 * room that receives the several changes records a conflict for each
 * (each one's prev is not what it serves), the other room one.
 */
static void
test_conflict_rows(void)
{
	char err[ENUMDR_ERRLEN], *a3_text, *cur;
	const char *x = "+4631000001";
	struct room a, b;
	struct store_remote_result res;
	struct store_change_result cres;
	struct store_conflict *l = NULL;
	struct store_version va3;
	size_t nl = 0, i;
	int removed, offers_old = 0;

	if (room_open(&a, "A", 0, 1000) == -1 ||
	    room_open(&b, "B", 0, 1000) == -1) {
		ok(0, "open rooms");
		return;
	}
	change(&a, STORE_ADD, x, "base");
	pull_all(&b, &a, &res, err);
	ok(change(&a, STORE_REPLACE, x, "a1") == STORE_OK &&
	    change(&a, STORE_REPLACE, x, "a2") == STORE_OK &&
	    change(&a, STORE_REPLACE, x, "a3") == STORE_OK,
	    "A replaces x three times (a1, a2, a3)");
	version_of(a.st, x, &va3, &removed);
	a3_text = records_of(a.st, x);
	tick();
	ok(change(&b, STORE_REPLACE, x, "b1") == STORE_OK,
	    "B replaces x once, later (b1)");
	ok(pull_all(&b, &a, &res, err) == STORE_OK, "B applies A's journal");
	diag("B: %zu conflicts recorded, %zu lost", res.conflicts, res.lost);
	ok(pull_all(&a, &b, &res, err) == STORE_OK, "A applies B's journal");
	diag("A: %zu conflicts recorded, %zu applied", res.conflicts,
	    res.applied);
	ok(same_tables(a.st, b.st, 1), "A and B agree (b1 served)");
	is_int(open_conflicts(a.st), 1, "A: one open conflict (b1 / a3)");
	todo_ok(open_conflicts(b.st) == 1, "B: one open conflict, like A",
	    "B records one per change of A's (3)");
	if (store_conflicts(b.st, 1, &l, &nl, err) == STORE_OK)
		for (i = 0; i < nl; i++)
			if (!same_version(&l[i].other, &va3))
				offers_old = 1;
	todo_ok(!offers_old, "B's open conflicts offer only A's newest"
	    " version (a3) as the other", "B offers a1 and a2, which A"
	    " replaced itself");
	store_conflicts_free(l, nl);

	/* A decision in A still closes all of them in B. */
	if (store_conflicts(a.st, 1, &l, &nl, err) == STORE_OK && nl == 1) {
		int64_t nb = open_conflicts(b.st);

		ok(store_conflict_keep(a.st, l[0].id, "other", &cres, err) ==
		    STORE_OK, "A keeps a3");
		ok(pull_all(&b, &a, &res, err) == STORE_OK &&
		    res.decided == (size_t)nb && nb > 0,
		    "B applies the decision: it closes all of B's");
		is_int(open_conflicts(b.st), 0, "B: every conflict of x closed");
		cur = records_of(b.st, x);
		is_str(cur, a3_text, "B serves a3");
		free(cur);
		ok(same_tables(a.st, b.st, 1), "A and B agree");
	} else {
		ok(0, "A has one open conflict to decide");
	}
	store_conflicts_free(l, nl);
	free(a3_text);
	room_close(&a, 0);
	room_close(&b, 0);
}

/*
 * Three rooms.  B has seen C's concurrent change c1 of x, A has not; A's
 * operator decides A's conflict (a1 / b1).  Applied in B and C the
 * decision closes every open conflict of x there, c1's too, which A's
 * operator never saw; A then receives c1 and opens a conflict on it.
 * The rooms end disagreeing on whether x is in conflict.
 */
static void
test_decision_unseen(void)
{
	char err[ENUMDR_ERRLEN];
	const char *x = "+4631000001";
	struct room a, b, c;
	struct store_remote_result res;
	struct store_change_result cres;
	struct store_conflict *l = NULL;
	size_t nl = 0;
	int round, i, j;
	struct room *r[3] = { &a, &b, &c };

	if (room_open(&a, "A", 0, 1000) == -1 ||
	    room_open(&b, "B", 0, 1000) == -1 ||
	    room_open(&c, "C", 0, 1000) == -1) {
		ok(0, "open rooms");
		return;
	}
	change(&a, STORE_ADD, x, "base");
	pull_all(&b, &a, &res, err);
	pull_all(&c, &a, &res, err);
	ok(change(&c, STORE_REPLACE, x, "c1") == STORE_OK, "C replaces x (c1)");
	tick();
	ok(change(&a, STORE_REPLACE, x, "a1") == STORE_OK, "A replaces x (a1)");
	tick();
	ok(change(&b, STORE_REPLACE, x, "b1") == STORE_OK,
	    "B replaces x (b1, newest)");
	ok(pull_all(&a, &b, &res, err) == STORE_OK && res.conflicts == 1,
	    "A applies B's journal: conflict a1 / b1");
	ok(pull_all(&b, &c, &res, err) == STORE_OK && res.conflicts == 1,
	    "B applies C's journal: conflict b1 / c1");
	ok(store_conflicts(a.st, 1, &l, &nl, err) == STORE_OK && nl == 1 &&
	    store_conflict_keep(a.st, l[0].id, "served", &cres, err) ==
	    STORE_OK, "A's operator keeps b1 (A has not seen c1)");
	store_conflicts_free(l, nl);
	ok(pull_all(&b, &a, &res, err) == STORE_OK, "B applies A's journal");
	diag("B: %zu conflicts, %zu decided", res.conflicts, res.decided);
	is_int(open_conflicts(b.st), 0,
	    "B: the decision closed both, c1's included");
	/* Everyone pulls from everyone. */
	for (round = 0; round < 3; round++)
		for (i = 0; i < 3; i++)
			for (j = 0; j < 3; j++)
				if (i != j)
					pull_all(r[i], r[j], &res, err);
	ok(same_tables(a.st, b.st, 1) && same_tables(a.st, c.st, 1),
	    "all three agree on x");
	diag("open conflicts: A %lld B %lld C %lld",
	    (long long)open_conflicts(a.st), (long long)open_conflicts(b.st),
	    (long long)open_conflicts(c.st));
	todo_ok(open_conflicts(a.st) == open_conflicts(b.st) &&
	    open_conflicts(a.st) == open_conflicts(c.st),
	    "the rooms agree on whether x is in conflict", "a decision closes"
	    " conflicts on versions its room had not seen (c1)");
	room_close(&a, 0);
	room_close(&b, 0);
	room_close(&c, 0);
}

/* ---- 5: gaps ----------------------------------------------------------- */

static int
untouched(struct room *b)
{
	char err[ENUMDR_ERRLEN];
	struct store_vv_entry *vv;
	size_t nvv = 1;
	char *nums = dump(b->st, NUMBERS_SQL), *vers = dump(b->st,
	    VERSIONS_SQL);
	int r;

	store_version_vector(b->st, &vv, &nvv, err);
	free(vv);
	r = nums && vers && nums[0] == '\0' && vers[0] == '\0' &&
	    journal_pos(b->st) == 0 && zone_serial(b->st) == 1000 && nvv == 0;
	free(nums);
	free(vers);
	return r;
}

static void
test_gap(void)
{
	char err[ENUMDR_ERRLEN];
	struct room a, b;
	struct store_remote_result res;
	struct journal_row *rows, two[2], imp;
	static char empty[1];
	size_t n = 0;
	int64_t cursor = -1;

	if (room_open(&a, "A", 0, 1000) == -1 ||
	    room_open(&b, "B", 0, 1000) == -1) {
		ok(0, "open rooms");
		return;
	}
	change(&a, STORE_ADD, "+4631000001", "a");
	change(&a, STORE_ADD, "+4631000002", "a");
	change(&a, STORE_ADD, "+4631000003", "a");
	ok(store_journal_read(a.st, 0, 10, &rows, &n, err) == STORE_OK &&
	    n == 3, "A's journal: three rows");
	if (n != 3) {
		room_close(&a, 0);
		room_close(&b, 0);
		return;
	}
	is_int(store_apply_remote(b.st, a.uuid, "A", 3, rows + 1, 2, &res,
	    err), STORE_EGAP, "rows 2, 3 without row 1: STORE_EGAP");
	like(err, "missing", "error says changes are missing");
	ok(untouched(&b), "nothing written");
	ok(store_peer_cursor(b.st, a.uuid, &cursor, err) == STORE_OK &&
	    cursor == 0, "cursor not moved");
	is_int(res.applied, 0, "result cleared");

	two[0] = rows[0];
	two[1] = rows[2];
	is_int(store_apply_remote(b.st, a.uuid, "A", 3, two, 2, &res, err),
	    STORE_EGAP, "rows 1, 3: STORE_EGAP at row 3");
	ok(untouched(&b), "row 1 rolled back too");

	/* An import row (the peer replaced a zone from a snapshot) is
	 * skipped and counted (store.h). */
	imp = rows[0];
	strlcpy_(imp.op, "import", sizeof(imp.op));
	imp.e164[0] = '\0';
	imp.records = empty;
	is_int(store_apply_remote(b.st, a.uuid, "A", 1, &imp, 1, &res, err),
	    STORE_OK, "an import row alone: skipped");
	ok(res.imports == 1 && res.skipped == 1 && res.skipped_only == 1,
	    "counted in imports and skipped, nothing written");
	ok(untouched(&b), "nothing written");
	imp = rows[0];
	imp.v.origin[0] = '\0';
	is_int(store_apply_remote(b.st, a.uuid, "A", 1, &imp, 1, &res, err),
	    STORE_EGAP, "a row without identity (schema 1): STORE_EGAP");
	ok(untouched(&b), "nothing written");

	is_int(store_apply_remote(b.st, a.uuid, "A", 3, rows, 3, &res, err),
	    STORE_OK, "the whole journal applies");
	is_int(res.applied, 3, "three applied");
	ok(same_tables(a.st, b.st, 1), "B equals A");
	/* Already seen, then a gap: still a gap. */
	change(&a, STORE_ADD, "+4631000004", "a");
	change(&a, STORE_ADD, "+4631000005", "a");
	store_journal_free(rows, n);
	ok(store_journal_read(a.st, 0, 10, &rows, &n, err) == STORE_OK &&
	    n == 5, "A's journal: five rows");
	if (n == 5) {
		two[0] = rows[0];
		two[1] = rows[4];
		is_int(store_apply_remote(b.st, a.uuid, "A", 5, two, 2, &res,
		    err), STORE_EGAP, "seen row 1, then row 5: STORE_EGAP");
		ok(store_peer_cursor(b.st, a.uuid, &cursor, err) == STORE_OK &&
		    cursor == 3, "cursor stays at 3");
		two[0] = rows[3];
		two[1] = imp;
		two[1].v.origin[0] = 'x';   /* an identity: not schema 1 */
		strlcpy_(two[1].op, "import", sizeof(two[1].op));
		{
			struct journal_row three[3] = { rows[3], two[1],
			    rows[4] };

			is_int(store_apply_remote(b.st, a.uuid, "A", 5, three,
			    3, &res, err), STORE_OK,
			    "rows 4, an import, 5: applied");
			ok(res.applied == 2 && res.imports == 1,
			    "two changes applied, the import skipped");
			ok(same_tables(a.st, b.st, 1), "B equals A");
		}
	}
	store_journal_free(rows, n);
	room_close(&a, 0);
	room_close(&b, 0);
}

/* ---- 5b: a gap healed by merging a whole copy -------------------------- */

static void
test_merge(void)
{
	char err[ENUMDR_ERRLEN];
	struct room a, b, c;
	struct store_remote_result res;
	struct store_merge_result mr;
	struct store_conflict *l = NULL;
	struct store_version v;
	size_t n = 0;
	int removed;
	char *r;

	if (room_open(&a, "A", 0, 1000) == -1 ||
	    room_open(&b, "B", 0, 1000) == -1 ||
	    room_open(&c, "C", 0, 1000) == -1) {
		ok(0, "open rooms");
		return;
	}
	/* a common start: B follows A */
	change(&a, STORE_ADD, "+4631000001", "a1");
	change(&a, STORE_ADD, "+4631000002", "a1");
	change(&a, STORE_ADD, "+4631000003", "a1");
	change(&a, STORE_ADD, "+4631000004", "a1");
	ok(pull_all(&b, &a, &res, err) == STORE_OK && res.applied == 4,
	    "B follows A: 4 applied");
	/* then apart: A's journal would be trimmed past B's cursor */
	tick();
	change(&b, STORE_ADD, "+4631000010", "b2");          /* only B */
	change(&b, STORE_REPLACE, "+4631000002", "b2");      /* only B */
	change(&b, STORE_REPLACE, "+4631000004", "b2");      /* both: B first */
	tick();
	change(&a, STORE_ADD, "+4631000020", "a2");          /* only A */
	change(&a, STORE_REMOVE, "+4631000003", NULL);       /* only A */
	change(&a, STORE_REPLACE, "+4631000004", "a2");      /* both: A newer */

	is_int(merge_from(&b, &a, &mr, err), STORE_OK, "B merges A's copy");
	is_int(mr.r.applied, 3, "three versions taken (20, 3 removed, 4)");
	is_int(mr.kept, 1, "one kept as newer here (+4631000002: B changed"
	    " what it had from A)");
	is_int(mr.r.conflicts, 1, "one conflict: +4631000004");
	ok(strcmp(mr.peer_uuid, a.uuid) == 0 && mr.peer_position ==
	    journal_pos(a.st), "the copy's database and journal position");
	r = records_of(b.st, "+4631000020");
	ok(r != NULL, "A's new number is in B");
	free(r);
	ok((r = records_of(b.st, "+4631000003")) == NULL &&
	    version_of(b.st, "+4631000003", &v, &removed) && removed,
	    "A's removal is in B, with its tombstone");
	free(r);
	r = records_of(b.st, "+4631000004");
	like(r ? r : "", "a2", "the doubly changed number: A's (newer) served");
	free(r);
	r = records_of(b.st, "+4631000010");
	ok(r != NULL, "B's own new number stays");
	free(r);
	r = records_of(b.st, "+4631000002");
	like(r ? r : "", "b2", "B's own change stays");
	free(r);
	ok(store_conflicts(b.st, 1, &l, &n, err) == STORE_OK && n == 1 &&
	    strcmp(l[0].e164, "+4631000004") == 0 &&
	    strstr(l[0].other_records, "b2") != NULL,
	    "the conflict keeps B's version as the other");
	store_conflicts_free(l, n);
	ok(strcmp(journal_op(b.st, journal_pos(b.st)), "replace") == 0 ||
	    strcmp(journal_op(b.st, journal_pos(b.st)), "remove") == 0 ||
	    strcmp(journal_op(b.st, journal_pos(b.st)), "add") == 0,
	    "taken versions are journaled as changes");

	/* idempotent */
	is_int(merge_from(&b, &a, &mr, err), STORE_OK, "merging again");
	ok(mr.r.applied == 0 && mr.r.conflicts == 0, "nothing more to do");

	/* following resumes after the copy's position, no gap */
	tick();
	change(&a, STORE_ADD, "+4631000021", "a3");
	ok(pull_all(&b, &a, &res, err) == STORE_OK && res.applied == 1,
	    "B follows A again from the copy's position: 1 applied");

	/* A follows B's journal, merge rows included: no gap */
	is_int(pull_all(&a, &b, &res, err), STORE_OK, "A follows B");
	ok(same_tables(a.st, b.st, 1), "A and B identical");
	is_int(open_conflicts(a.st), 1, "A has the conflict too");

	/* C, new, follows B only: a version B took from A's copy is a gap
	 * for C (what it superseded in A never reaches C as changes), so C
	 * merges B's copy too, then follows B again, and converges */
	is_int(pull_all(&c, &b, &res, err), STORE_EGAP,
	    "C follows B: B's merged versions are a gap for C");
	like(err, "snapshot merge", "the error says so");
	is_int(merge_from(&c, &b, &mr, err), STORE_OK, "C merges B's copy");
	is_int(pull_all(&c, &b, &res, err), STORE_OK, "C follows B again");
	ok(same_tables(b.st, c.st, 1), "C identical to B");
	is_int(open_conflicts(c.st), 1, "C holds B's open conflict");
	is_int(pull_all(&c, &a, &res, err), STORE_OK,
	    "C then follows A from the start");
	ok(same_tables(a.st, c.st, 1), "C identical to A");

	/* a copy that is this database, a copy whose row is bad */
	{
		struct room self = b;

		is_int(merge_from(&b, &self, &mr, err), STORE_EINVAL,
		    "a copy of itself is refused");
		like(err, "copy of this database", "and says so");
	}
	sqlite3_exec(store_handle(a.st), "UPDATE number SET naptr = 'junk'"
	    " WHERE e164 = '+4631000001'", NULL, NULL, NULL);
	{
		char *before = dump(b.st, NUMBERS_SQL), *after;

		is_int(merge_from(&b, &a, &mr, err), STORE_EINVAL,
		    "a copy with an invalid row is refused whole");
		like(err, "4631000001", "naming the row");
		after = dump(b.st, NUMBERS_SQL);
		ok(before && after && strcmp(before, after) == 0,
		    "nothing changed");
		free(before);
		free(after);
	}
	room_close(&a, 0);
	room_close(&b, 0);
	room_close(&c, 0);
}

/* ---- 6: serials after a merge ------------------------------------------ */

static void
serials_case(uint32_t base, const char *what)
{
	char err[ENUMDR_ERRLEN], msg[160];
	struct room a, b;
	struct store_remote_result res;
	uint32_t sa0, sb0, sa, sb;

	if (room_open(&a, "A", 0, base) == -1 ||
	    room_open(&b, "B", 0, base) == -1) {
		ok(0, "open rooms");
		return;
	}
	change(&a, STORE_ADD, "+4631000001", "base");
	change(&a, STORE_ADD, "+4631000002", "base");
	pull_all(&b, &a, &res, err);
	/* Concurrent: A 2 changes, B 5 (two numbers in both rooms). */
	change(&a, STORE_REPLACE, "+4631000001", "a");
	change(&a, STORE_ADD, "+4631000003", "a");
	change(&b, STORE_REPLACE, "+4631000001", "b");
	change(&b, STORE_REMOVE, "+4631000002", NULL);
	change(&b, STORE_ADD, "+4631000003", "b");
	change(&b, STORE_ADD, "+4631000004", "b");
	change(&b, STORE_ADD, "+4631000005", "b");
	sa0 = zone_serial(a.st);
	sb0 = zone_serial(b.st);
	ok(pull_all(&b, &a, &res, err) == STORE_OK &&
	    pull_all(&a, &b, &res, err) == STORE_OK, "two-way merge");
	ok(same_tables(a.st, b.st, 1), "A and B agree");
	sa = zone_serial(a.st);
	sb = zone_serial(b.st);
	diag("%s: before A %u B %u, after A %u B %u", what, sa0, sb0, sa, sb);
	snprintf(msg, sizeof(msg), "%s: A's serial newer than A's and B's"
	    " before", what);
	ok(rfc1982_cmp(sa, sa0) == RFC1982_GREATER &&
	    rfc1982_cmp(sa, sb0) == RFC1982_GREATER, msg);
	snprintf(msg, sizeof(msg), "%s: B's serial newer than A's and B's"
	    " before", what);
	ok(rfc1982_cmp(sb, sa0) == RFC1982_GREATER &&
	    rfc1982_cmp(sb, sb0) == RFC1982_GREATER, msg);
	room_close(&a, 0);
	room_close(&b, 0);
}

/*
 * A peer's change that loses a conflict still moves the serial to
 * max(own + 1, theirs): the rooms' zones can start at different serials
 * (a zone added in each room).
 */
static void
test_serial_lost(void)
{
	char err[ENUMDR_ERRLEN];
	struct room a, b;
	struct store_remote_result res;

	if (room_open(&a, "A", 0, 1000) == -1 ||
	    room_open(&b, "B", 0, 1000) == -1) {
		ok(0, "open rooms");
		return;
	}
	change(&a, STORE_ADD, "+4631000001", "base");
	pull_all(&b, &a, &res, err);
	/* B's zone serial moves far ahead (B's own changes elsewhere). */
	{
		sqlite3_exec(store_handle(b.st), "UPDATE zone SET serial = 5000",
		    NULL, NULL, NULL);
	}
	change(&b, STORE_REPLACE, "+4631000001", "b");          /* 5001 */
	tick();
	change(&a, STORE_REPLACE, "+4631000001", "a");          /* 1002, newer */
	ok(pull_all(&a, &b, &res, err) == STORE_OK && res.lost == 1,
	    "A applies B's older concurrent change: it loses");
	is_int(zone_serial(a.st), 5001,
	    "A's serial after it: max(own+1 = 1003, theirs = 5001)");
	room_close(&a, 0);
	room_close(&b, 0);
}

static void
test_serials(void)
{
	serials_case(1000, "serial 1000");
	serials_case(4294967293u, "serial near the wrap");
	test_serial_lost();
}

/* ---- 7: property test -------------------------------------------------- */

#define PROP_ROOMS   3
#define PROP_NUMBERS 50
#define PROP_STEPS   2000
#define PROP_MAXV    (PROP_STEPS * 4 + 16)

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned
rnd(unsigned n)
{
	return (unsigned)(rng() % n);
}

/* Every own change of every room, as its origin wrote it. */
struct pversion {
	int num;                  /* number index */
	struct store_version v;
	int prev_room;            /* -1: none */
	int64_t prev_oseq;
	int removed;
	char *records;            /* "" when removed */
};

struct prop {
	struct room r[PROP_ROOMS];
	struct pversion *ver[PROP_ROOMS];   /* [room][oseq] */
	int64_t nver[PROP_ROOMS];
	/* the last version written anywhere, per number: room, oseq */
	int latest_room[PROP_NUMBERS];
	int64_t latest_oseq[PROP_NUMBERS];
	int stale[PROP_NUMBERS];             /* written from a stale view */
	size_t changes, refused, pulls, rows, conflicts, lost, failures;
	size_t decisions, merges, gaps;
	int decide;                          /* decision steps on */
};

static void
num_name(int i, char *out, size_t outlen)
{
	snprintf(out, outlen, "+46310000%02d", i);
}

static int
room_of_uuid(struct prop *p, const char *uuid)
{
	int i;

	for (i = 0; i < PROP_ROOMS; i++)
		if (strcmp(p->r[i].uuid, uuid) == 0)
			return i;
	return -1;
}

static void
prop_fail(struct prop *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
prop_fail(struct prop *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failures++ < 10) {
		printf("#   ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
}

/* Record the own journal rows of room ri after position from. */
static void
record_own_rows(struct prop *p, int ri, int64_t from)
{
	char err[ENUMDR_ERRLEN];
	struct journal_row *rows;
	size_t n, i;

	if (store_journal_read(p->r[ri].st, from, 1000, &rows, &n, err) !=
	    STORE_OK) {
		prop_fail(p, "journal read: %s", err);
		return;
	}
	for (i = 0; i < n; i++) {
		struct pversion *pv;
		int num;

		if (strcmp(rows[i].v.origin, p->r[ri].uuid) != 0)
			continue;
		if (rows[i].v.oseq != p->nver[ri] + 1 ||
		    rows[i].v.oseq >= PROP_MAXV) {
			prop_fail(p, "room %s: own oseq %lld not in order",
			    p->r[ri].name, (long long)rows[i].v.oseq);
			continue;
		}
		num = atoi(rows[i].e164 + 9);
		pv = &p->ver[ri][rows[i].v.oseq];
		pv->num = num;
		pv->v = rows[i].v;
		pv->prev_room = rows[i].prev_origin[0] ? room_of_uuid(p,
		    rows[i].prev_origin) : -1;
		pv->prev_oseq = rows[i].prev_oseq;
		pv->removed = strcmp(rows[i].op, "remove") == 0;
		pv->records = strdup(pv->removed ? "" : rows[i].records);
		p->nver[ri] = rows[i].v.oseq;
		if (pv->prev_room >= 0 && pv->v.hlc <=
		    p->ver[pv->prev_room][pv->prev_oseq].v.hlc)
			prop_fail(p, "%s: a change's HLC is not after its"
			    " prev's (oseq %lld)", p->r[ri].name,
			    (long long)pv->v.oseq);
		/* It is the newest version of the number anywhere. */
		p->latest_room[num] = ri;
		p->latest_oseq[num] = pv->v.oseq;
	}
	store_journal_free(rows, n);
}

/* A random change (or a batch of 2-4 changes) of room ri. */
static void
prop_change(struct prop *p, int ri)
{
	char err[ENUMDR_ERRLEN], e164[16], tag[32];
	struct store_change ch[4];
	struct store_version v;
	struct room *r = &p->r[ri];
	int nums[4], stale[4], removed, k, j, have;
	size_t nch = rnd(5) == 0 ? 2 + rnd(3) : 1, i;
	enum store_status s, expect = STORE_OK;
	int64_t pos = journal_pos(r->st);
	char *cur;

	memset(ch, 0, sizeof(ch));
	for (i = 0; i < nch; i++) {
		do {
			nums[i] = (int)rnd(PROP_NUMBERS);
			for (j = 0; j < (int)i; j++)
				if (nums[j] == nums[i])
					break;
		} while (j < (int)i);
		num_name(nums[i], e164, sizeof(e164));
		cur = records_of(r->st, e164);
		have = cur != NULL;
		free(cur);
		/* Mostly a change the store takes; 1 in 10 any op (the
		 * store refuses add of an existing number, replace or
		 * remove of a missing one). */
		k = (int)rnd(10);
		if (rnd(10) == 0)
			ch[i].op = k < 4 ? STORE_ADD : k < 8 ? STORE_REPLACE :
			    STORE_REMOVE;
		else
			ch[i].op = !have ? STORE_ADD : k < 7 ? STORE_REPLACE :
			    STORE_REMOVE;
		snprintf(tag, sizeof(tag), "%s%zu", r->name, p->changes);
		if (ch[i].op == STORE_REMOVE)
			strlcpy_(ch[i].entry.e164, e164,
			    sizeof(ch[i].entry.e164));
		else
			entry(&ch[i].entry, e164, tag);
		if (expect == STORE_OK && ch[i].op == STORE_ADD && have)
			expect = STORE_EEXIST;
		if (expect == STORE_OK && ch[i].op != STORE_ADD && !have)
			expect = STORE_ENOENT;
		/* Stale: this room has not seen the newest version. */
		if (version_of(r->st, e164, &v, &removed))
			stale[i] = p->latest_room[nums[i]] < 0 ||
			    strcmp(v.origin, p->r[p->latest_room[nums[i]]].uuid)
			    != 0 || v.oseq != p->latest_oseq[nums[i]];
		else
			stale[i] = p->latest_room[nums[i]] >= 0;
	}
	s = store_apply(r->st, ch, nch, NULL, NULL, err);
	if (s != expect) {
		prop_fail(p, "%s: change returned %s, want %s: %s",
		    r->name, store_status_name(s), store_status_name(expect),
		    err);
		return;
	}
	if (s != STORE_OK) {
		p->refused++;
		return;
	}
	p->changes += nch;
	for (i = 0; i < nch; i++)
		if (stale[i])
			p->stale[nums[i]] = 1;
	record_own_rows(p, ri, pos);
}

/* An operator's decision in room ri on one of its open conflicts. */
static void
prop_decide(struct prop *p, int ri)
{
	char err[ENUMDR_ERRLEN];
	struct store_conflict *l;
	struct store_change_result cres;
	struct store_version v;
	struct room *r = &p->r[ri];
	size_t n = 0;
	int num, removed, stale;
	int64_t pos = journal_pos(r->st);

	if (store_conflicts(r->st, 1, &l, &n, err) != STORE_OK || n == 0) {
		store_conflicts_free(l, n);
		return;
	}
	{
		size_t k = rnd((unsigned)n);
		int64_t id = l[k].id;

		num = atoi(l[k].e164 + 9);
		if (version_of(r->st, l[k].e164, &v, &removed))
			stale = p->latest_room[num] < 0 ||
			    strcmp(v.origin, p->r[p->latest_room[num]].uuid) !=
			    0 || v.oseq != p->latest_oseq[num];
		else
			stale = 1;
		store_conflicts_free(l, n);
		if (store_conflict_keep(r->st, id, rnd(2) ? "served" : "other",
		    &cres, err) != STORE_OK) {
			prop_fail(p, "%s: decision on conflict %lld: %s",
			    r->name, (long long)id, err);
			return;
		}
	}
	p->decisions++;
	if (stale)
		p->stale[num] = 1;
	record_own_rows(p, ri, pos);
}

/*
 * What room ri must serve: for each number, the newest (by
 * store_version_newer) of the versions it has received that no other
 * received version replaced.  Checked against its tables.
 */
static void
prop_check_room(struct prop *p, int ri, const char *when)
{
	char err[ENUMDR_ERRLEN], e164[16];
	struct store_vv_entry *vv;
	size_t nvv, i;
	int64_t seen[PROP_ROOMS] = { 0 };
	const struct pversion *best[PROP_NUMBERS];
	static unsigned char *replaced[PROP_ROOMS];
	int o, num, removed;
	int64_t q;

	if (store_version_vector(p->r[ri].st, &vv, &nvv, err) != STORE_OK) {
		prop_fail(p, "version vector: %s", err);
		return;
	}
	for (i = 0; i < nvv; i++)
		if ((o = room_of_uuid(p, vv[i].origin)) >= 0)
			seen[o] = vv[i].oseq;
	free(vv);
	for (o = 0; o < PROP_ROOMS; o++) {
		if (seen[o] > p->nver[o])
			prop_fail(p, "%s has seen more than was written (%lld)",
			    p->r[ri].name, (long long)seen[o]);
		if (replaced[o] == NULL)
			replaced[o] = malloc(PROP_MAXV);
		memset(replaced[o], 0, PROP_MAXV);
	}
	for (o = 0; o < PROP_ROOMS; o++)
		for (q = 1; q <= seen[o] && q <= p->nver[o]; q++) {
			const struct pversion *pv = &p->ver[o][q];

			if (pv->prev_room >= 0) {
				if (pv->prev_oseq > seen[pv->prev_room])
					prop_fail(p, "%s received a change"
					    " before its prev (%lld)",
					    p->r[ri].name, (long long)q);
				replaced[pv->prev_room][pv->prev_oseq] = 1;
			}
		}
	memset(best, 0, sizeof(best));
	for (o = 0; o < PROP_ROOMS; o++)
		for (q = 1; q <= seen[o] && q <= p->nver[o]; q++) {
			const struct pversion *pv = &p->ver[o][q];

			if (replaced[o][q])
				continue;
			if (best[pv->num] == NULL ||
			    store_version_newer(&pv->v, &best[pv->num]->v))
				best[pv->num] = pv;
		}
	for (num = 0; num < PROP_NUMBERS; num++) {
		struct store_version v;
		int have;
		char *cur;

		num_name(num, e164, sizeof(e164));
		have = version_of(p->r[ri].st, e164, &v, &removed);
		cur = records_of(p->r[ri].st, e164);
		if (best[num] == NULL) {
			if (have || cur != NULL)
				prop_fail(p, "%s: %s has a version but no"
				    " change of it was received",
				    p->r[ri].name, e164);
		} else if (!have || !same_version(&v, &best[num]->v) ||
		    removed != best[num]->removed) {
			prop_fail(p, "%s: serves the wrong version of %s",
			    p->r[ri].name, e164);
			if (p->failures <= 10)
				printf("#     %s %s: got %s:%lld hlc %lld,"
				    " want %s:%lld hlc %lld\n", when, e164,
				    v.room, (long long)v.oseq,
				    (long long)v.hlc, best[num]->v.room,
				    (long long)best[num]->v.oseq,
				    (long long)best[num]->v.hlc);
		} else if (best[num]->removed ? cur != NULL : cur == NULL ||
		    strcmp(cur, best[num]->records) != 0) {
			prop_fail(p, "%s: %s's records are not its version's",
			    p->r[ri].name, e164);
		}
		free(cur);
	}
}

/* The numbers with an open conflict in st, as a bit per number. */
static void
conflicted(struct store *st, int *set, int64_t *rows)
{
	struct store_conflict *l;
	char err[ENUMDR_ERRLEN];
	size_t n = 0, i;

	memset(set, 0, sizeof(int) * PROP_NUMBERS);
	*rows = 0;
	if (store_conflicts(st, 1, &l, &n, err) != STORE_OK)
		return;
	for (i = 0; i < n; i++)
		set[atoi(l[i].e164 + 9)] = 1;
	*rows = (int64_t)n;
	store_conflicts_free(l, n);
}

static void
prop_run(uint64_t seed, int decide)
{
	char err[ENUMDR_ERRLEN], msg[200];
	struct prop *p = calloc(1, sizeof(*p));
	struct store_remote_result res;
	int i, j, step, round, moved, rooms_ok = 1;
	enum store_status s;
	int set[PROP_ROOMS][PROP_NUMBERS], nstale = 0, sets_equal = 1;
	int subset = 1;
	const char *tag = decide ? " (decisions)" : "";
	int64_t open_rows[PROP_ROOMS];
	size_t n, f0;

	diag("property test: seed %llu%s (ENUMDR_SEED=%llu replays it)",
	    (unsigned long long)seed, decide ? ", with conflict decisions" :
	    "", (unsigned long long)seed);
	rng_state = seed;
	p->decide = decide;
	for (i = 0; i < PROP_ROOMS; i++) {
		char name[2] = { (char)('A' + i), '\0' };

		if (room_open(&p->r[i], name, 0, 1000) == -1)
			rooms_ok = 0;
		p->ver[i] = calloc(PROP_MAXV, sizeof(struct pversion));
	}
	for (i = 0; i < PROP_NUMBERS; i++)
		p->latest_room[i] = -1;
	if (!rooms_ok) {
		ok(0, "open three rooms");
		return;
	}

	for (step = 0; step < PROP_STEPS; step++) {
		int ri = (int)rnd(PROP_ROOMS);

		if (p->decide && rnd(80) == 0) {
			prop_decide(p, ri);
			continue;
		}
		if (rnd(3) == 0) {
			prop_change(p, ri);
			continue;
		}
		j = (ri + 1 + (int)rnd(PROP_ROOMS - 1)) % PROP_ROOMS;
		if (rnd(40) == 0) {
			/* a gap healed: a whole copy merged instead of the
			 * journal followed */
			struct store_merge_result mr;

			if (merge_from(&p->r[ri], &p->r[j], &mr, err) !=
			    STORE_OK) {
				prop_fail(p, "step %d: merge failed: %s", step,
				    err);
				continue;
			}
			p->merges++;
			p->conflicts += mr.r.conflicts;
			p->lost += mr.r.lost;
			prop_check_room(p, ri, "after a merge");
			continue;
		}
		if ((s = pull(&p->r[ri], &p->r[j], 1 + rnd(50), &res, &n,
		    err)) == STORE_EGAP) {
			/* the follower's answer to a gap (a copy that merged
			 * passed on its version vector, not every change):
			 * merge the peer's copy */
			struct store_merge_result mr;

			if (merge_from(&p->r[ri], &p->r[j], &mr, err) !=
			    STORE_OK) {
				prop_fail(p, "step %d: gap merge failed: %s",
				    step, err);
				continue;
			}
			p->gaps++;
			p->conflicts += mr.r.conflicts;
			p->lost += mr.r.lost;
			prop_check_room(p, ri, "after a gap's merge");
			continue;
		}
		if (s != STORE_OK) {
			prop_fail(p, "step %d: pull failed: %s", step, err);
			continue;
		}
		p->pulls++;
		p->rows += n;
		p->conflicts += res.conflicts;
		p->lost += res.lost;
		prop_check_room(p, ri, "during");
	}
	f0 = p->failures;
	snprintf(msg, sizeof(msg), "seed %llu%s: %d steps, every room serves"
	    " the newest unreplaced version it received", (unsigned long long)
	    seed, tag, PROP_STEPS);
	ok(p->failures == 0, msg);

	/* Everyone pulls from everyone until nothing is new. */
	for (round = 0, moved = 1; moved && round < 10; round++) {
		moved = 0;
		for (i = 0; i < PROP_ROOMS; i++)
			for (j = 0; j < PROP_ROOMS; j++) {
				if (i == j)
					continue;
				struct store_merge_result mr;

				if ((s = pull_all(&p->r[i], &p->r[j], &res,
				    err)) == STORE_EGAP) {
					if (merge_from(&p->r[i], &p->r[j], &mr,
					    err) != STORE_OK) {
						prop_fail(p, "final round %d:"
						    " gap merge failed: %s",
						    round, err);
						continue;
					}
					p->gaps++;
					p->conflicts += mr.r.conflicts;
					moved = 1;
					continue;
				}
				if (s != STORE_OK) {
					prop_fail(p, "final round %d: pull failed:"
					    " %s", round, err);
					continue;
				}
				p->conflicts += res.conflicts;
				p->lost += res.lost;
				if (res.applied + res.conflicts + res.lost > 0)
					moved = 1;
			}
	}
	snprintf(msg, sizeof(msg), "seed %llu%s: quiet after %d rounds",
	    (unsigned long long)seed, tag, round);
	ok(!moved && p->failures == f0, msg);
	for (i = 0; i < PROP_ROOMS; i++)
		prop_check_room(p, i, "final");
	snprintf(msg, sizeof(msg), "seed %llu%s: converged: all rooms serve"
	    " the newest unreplaced version", (unsigned long long)seed, tag);
	ok(p->failures == f0, msg);
	snprintf(msg, sizeof(msg), "seed %llu%s: number and number_version"
	    " tables identical in A, B, C", (unsigned long long)seed, tag);
	ok(same_tables(p->r[0].st, p->r[1].st, 1) &&
	    same_tables(p->r[0].st, p->r[2].st, 1), msg);

	/* Every final version's records are its change's, in its origin's
	 * journal. */
	{
		sqlite3_stmt *q;
		int bad = 0, checked = 0;

		if (sqlite3_prepare_v2(store_handle(p->r[0].st), "SELECT"
		    " v.e164, v.origin, v.oseq, v.removed, n.naptr FROM"
		    " number_version v LEFT JOIN number n USING (e164)", -1, &q,
		    NULL) == SQLITE_OK) {
			while (sqlite3_step(q) == SQLITE_ROW) {
				const char *origin = (const char *)
				    sqlite3_column_text(q, 1);
				const char *naptr = (const char *)
				    sqlite3_column_text(q, 4);
				int o = room_of_uuid(p, origin), removed =
				    sqlite3_column_int(q, 3);
				sqlite3_stmt *j2;

				checked++;
				if (o < 0) {
					bad++;
					continue;
				}
				if (sqlite3_prepare_v2(store_handle(p->r[o].st),
				    "SELECT op, records FROM journal WHERE"
				    " origin = ?1 AND oseq = ?2 AND e164 = ?3",
				    -1, &j2, NULL) != SQLITE_OK) {
					bad++;
					continue;
				}
				sqlite3_bind_text(j2, 1, origin, -1,
				    SQLITE_TRANSIENT);
				sqlite3_bind_int64(j2, 2,
				    sqlite3_column_int64(q, 2));
				sqlite3_bind_text(j2, 3, (const char *)
				    sqlite3_column_text(q, 0), -1,
				    SQLITE_TRANSIENT);
				if (sqlite3_step(j2) != SQLITE_ROW)
					bad++;
				else if (removed ? naptr != NULL ||
				    strcmp((const char *)sqlite3_column_text(
				    j2, 0), "remove") != 0 : naptr == NULL ||
				    strcmp(naptr, (const char *)
				    sqlite3_column_text(j2, 1)) != 0)
					bad++;
				sqlite3_finalize(j2);
			}
			sqlite3_finalize(q);
		} else {
			bad = 1;
		}
		snprintf(msg, sizeof(msg), "seed %llu%s: each of %d numbers"
		    " has the records of its version's change in the origin's"
		    " journal", (unsigned long long)seed, tag, checked);
		ok(bad == 0 && checked > 0, msg);
	}

	/* Conflicts: the same numbers in each room, exactly those written
	 * from a stale view (concurrently); with decisions, open conflicts
	 * only where writes were concurrent. */
	for (i = 0; i < PROP_NUMBERS; i++)
		nstale += p->stale[i];
	for (i = 0; i < PROP_ROOMS; i++)
		conflicted(p->r[i].st, set[i], &open_rows[i]);
	for (i = 0; i < PROP_ROOMS; i++)
		for (j = 0; j < PROP_NUMBERS; j++) {
			if (set[i][j] && !p->stale[j])
				subset = 0;
			if (set[i][j] != (decide ? set[0][j] : p->stale[j])) {
				if (sets_equal)
					diag("room %s, number %d: open conflict"
					    " %d, in A %d, written concurrently"
					    " %d", p->r[i].name, j, set[i][j],
					    set[0][j], p->stale[j]);
				sets_equal = 0;
			}
		}
	diag("seed %llu%s: %zu changes (%zu refused), %zu decisions, %zu pulls"
	    " of %zu rows, %zu merges of a whole copy (%zu after a gap), %zu conflicts recorded (%zu lost), %d numbers"
	    " written concurrently; open conflicts A %lld B %lld C %lld",
	    (unsigned long long)seed, tag, p->changes, p->refused,
	    p->decisions, p->pulls, p->rows, p->merges, p->gaps, p->conflicts,
	    p->lost,
	    nstale,
	    (long long)open_rows[0], (long long)open_rows[1],
	    (long long)open_rows[2]);
	snprintf(msg, sizeof(msg), "seed %llu%s: open conflicts only on"
	    " numbers written concurrently", (unsigned long long)seed, tag);
	ok(subset, msg);
	snprintf(msg, sizeof(msg), "seed %llu%s: conflicts only when writes"
	    " were concurrent, and then some", (unsigned long long)seed, tag);
	ok(nstale == 0 ? p->conflicts == 0 : p->conflicts > 0, msg);
	if (!decide) {
		snprintf(msg, sizeof(msg), "seed %llu: in every room the"
		    " numbers with an open conflict are exactly those written"
		    " concurrently", (unsigned long long)seed);
		ok(sets_equal, msg);
	} else if (!sets_equal) {
		/* Not asserted: test_decision_unseen shows why. */
		diag("seed %llu%s: the rooms have open conflicts on different"
		    " numbers (a decision closes conflicts on versions its room"
		    " had not seen)", (unsigned long long)seed, tag);
	}
	/* Not asserted: a room records a conflict row per conflicting
	 * change (test_conflict_rows), so the counts of open conflict rows
	 * differ between rooms; the numbers in conflict do not. */
	if (open_rows[0] != open_rows[1] || open_rows[0] != open_rows[2])
		diag("seed %llu%s: open conflict rows differ between rooms",
		    (unsigned long long)seed, tag);

	for (i = 0; i < PROP_ROOMS; i++) {
		int64_t q;

		for (q = 1; q <= p->nver[i]; q++)
			free(p->ver[i][q].records);
		free(p->ver[i]);
		room_close(&p->r[i], 0);
	}
	free(p);
}

static void
test_property(void)
{
	const char *env = getenv("ENUMDR_SEED");
	uint64_t base;
	int i;

	if (env != NULL && *env != '\0') {
		prop_run(strtoull(env, NULL, 10), 0);
		prop_run(strtoull(env, NULL, 10), 1);
		return;
	}
	base = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	base %= 1000000007ULL;
	/* five seeds without decisions (every conflict stays open), two
	 * with operators deciding conflicts as they go */
	for (i = 0; i < 5; i++)
		prop_run(base + (uint64_t)i, 0);
	for (i = 5; i < 7; i++)
		prop_run(base + (uint64_t)i, 1);
}

int
main(void)
{
	strlcpy_(tmpdir, "/tmp/enumdr-replica-XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	test_follow();
	test_conflict();
	test_tombstones();
	test_conflict_rows();
	test_decision_unseen();
	test_gap();
	test_merge();
	test_serials();
	test_property();
	rmdir(tmpdir);
	return tap_done();
}
