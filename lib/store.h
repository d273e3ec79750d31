/*
 * store.h — the room's SQLite database (WAL), its schema and every change
 * to it.  The seed's four tables (S0.1) map to:
 *
 *   eds_identity   -> database_identity  (one row: this database's uuid, schema version)
 *   zone           -> zone               (ENUM zone origin, digit prefix, RFC 1982 serial)
 *   exist_res      -> number             (E.164 number, its zone, its NAPTR records)
 *   net_param_conf -> parameter          (name/value settings shared by the rooms)
 *
 * plus `journal`, the change journal: one row per change, its sequence
 * number is the seed's "number-table sequence number" (S0.7), and
 * `zone_history`: per zone, how many changes each database (named by its
 * uuid) has made — a version vector.  The serial says that a zone changed;
 * the history says which room changed it, so that a sync can tell "the
 * peer has everything we have and more" from "both rooms changed the zone
 * since they last agreed" (sync.h).
 *
 * Adding, replacing or removing a number bumps its zone's serial by one,
 * appends one journal row and counts the change in zone_history, in the
 * same transaction (S0.2 needs the serial to
 * say "this side changed").  The database runs with synchronous=FULL so that
 * an acknowledged change survives power loss, not only a process crash.
 *
 * Status codes: functions return enum store_status (STORE_OK == 0) and fill
 * err; the codes let the agent map a failure to an HTTP status.
 */
#ifndef ENUMDR_STORE_H
#define ENUMDR_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "naptr.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_UUID_MAX      64   /* a database uuid (32 hex digits) */
#define STORE_ROOM_MAX      64   /* a room name */
#define STORE_E164_MAX      16   /* '+' and at most 15 digits */
#define STORE_ORIGIN_MAX    128  /* a zone origin such as 6.4.e164.arpa */
#define STORE_PARAM_NAME_MAX  64   /* parameter name, bytes (without NUL) */
#define STORE_PARAM_VALUE_MAX 1024 /* parameter value, bytes (without NUL) */

enum store_status {
	STORE_OK = 0,
	STORE_EINVAL,    /* invalid input: number, NAPTR field, zone name */
	STORE_ENOZONE,   /* no zone covers the number */
	STORE_EEXIST,    /* add of a number (or zone) that exists */
	STORE_ENOENT,    /* replace/remove/get of a number that does not exist */
	STORE_EBUSY,     /* the database stayed locked past the busy timeout */
	STORE_EFULL,     /* disk full */
	STORE_EIO,       /* any other database error */
	STORE_EGAP       /* replication: the peer's journal does not reach
			    back to what we have, or it replaced zones
			    wholesale (an import): heal from a snapshot */
};

/*
 * A change's identity (issue 14, doc/replication.md): the database that
 * made it (its uuid), its own sequence number there (1, 2, ... per
 * origin, never reused), its hybrid logical clock time and the room that
 * database served.  origin "" is "no version": a number written before
 * schema 2.
 */
struct store_version {
	char origin[STORE_UUID_MAX];
	int64_t oseq;
	int64_t hlc;                  /* (ms since the epoch << 16) | counter */
	char room[STORE_ROOM_MAX];
};
/* Is a the newer of two concurrent versions (the conflict winner)?
 * Higher hlc, then the room name, then the origin (byte order). */
int store_version_newer(const struct store_version *a,
    const struct store_version *b);

struct number_entry {
	char e164[STORE_E164_MAX + 1];            /* "+4681234567" */
	char zone[STORE_ORIGIN_MAX];              /* filled by the store */
	size_t nnaptr;
	struct naptr_record naptr[NAPTR_MAX];
};

struct zone_info {
	char origin[STORE_ORIGIN_MAX];            /* "6.4.e164.arpa" (no final dot) */
	char prefix[STORE_E164_MAX];              /* digits it covers: "46" */
	uint32_t serial;
	int64_t numbers;                          /* numbers it holds, -1: not counted */
	char updated_at[32];                      /* UTC ISO 8601, as stored */
};

enum store_op { STORE_ADD, STORE_REPLACE, STORE_REMOVE };

struct store_change {
	enum store_op op;
	struct number_entry entry;                /* REMOVE uses only entry.e164 */
};

struct store_change_result {
	char zone[STORE_ORIGIN_MAX];
	uint32_t serial;                          /* the zone serial after the change */
	int64_t journal_seq;
};

struct journal_row {
	int64_t seq;
	char at[32];                              /* UTC ISO 8601 */
	char op[16];                              /* "add", "replace", "remove", "import" */
	char e164[STORE_E164_MAX + 1];            /* "" for import */
	char zone[STORE_ORIGIN_MAX];
	uint32_t serial;                          /* zone serial after the change */
	char *records;                            /* NAPTR lines (malloc'd, may be "") */
	/* schema 2 (issue 14): */
	int64_t txn;                              /* seq of the first row of its
	                                           * transaction here */
	struct store_version v;                   /* the change's identity */
	char prev_origin[STORE_UUID_MAX];         /* the version it replaced */
	int64_t prev_oseq;                        /* ("", 0: none) */
	unsigned flags;                           /* STORE_JF_* */
};
#define STORE_JF_DECISION 0x1   /* an operator's conflict decision: closes
				   the number's open conflicts where it
				   applies cleanly */
#define STORE_JF_MERGE    0x2   /* taken from a peer's snapshot by a merge
				   (store_merge_attached): the change's own
				   identity, but its origin's earlier changes
				   may never come (they were superseded), so
				   a receiver does not count it in the
				   version vector */
#define STORE_JF_ALL      0x3

struct store;

#define STORE_CREATE   0x1   /* create the file and schema when missing */
#define STORE_READONLY 0x2   /* open read-only (checkers, status) */
#define STORE_SNAPSHOT 0x4   /* with STORE_READONLY: a snapshot copy to
				verify; no schema-version check (the caller
				checks and reports it) */

/* Open (and with STORE_CREATE, create) the database at path ("" or
 * ":memory:" for a private in-memory database in tests). */
enum store_status store_open(const char *path, int flags, struct store **out,
    char *err);
void store_close(struct store *st);
sqlite3 *store_handle(struct store *st);
const char *store_path(const struct store *st);
const char *store_status_name(enum store_status s);
/* A read transaction: what is read until store_read_end is of one
 * commit.  Not nested. */
enum store_status store_read_begin(struct store *st, char *err);
void store_read_end(struct store *st);
/* How long a statement waits for a lock before STORE_EBUSY. */
void store_busy_timeout(struct store *st, int ms);

/* Validation (no database needed; NAPTR records: naptr.h). */
int store_e164_valid(const char *e164, char *err);
int store_origin_valid(const char *origin, char *prefix_out, char *err);
/* A parameter row (seed's net_param_conf).  Names: 1 to 64 of
 * [a-z0-9._-], starting with a letter or digit.  The DNS parameters the
 * zone-file writer uses (zonefile.h) have typed values: dns.ttl and
 * dns.soa_refresh|retry|expire|minimum a decimal 0 ... 2147483647 (RFC
 * 2181), dns.soa_mname and dns.soa_rname a domain name, dns.ns 1 to 16
 * domain names separated by spaces or commas; any other "dns." name is
 * refused (a misspelt DNS setting would silently not apply).  Other
 * values: at most 1024 bytes of printable ASCII (0x20-0x7E). */
int store_parameter_valid(const char *name, const char *value, char *err);
/* "+4681234" -> "4.3.2.1.8.6.4.e164.arpa" */
int store_e164_to_domain(const char *e164, char *out, size_t outlen);

/* Zones. */
enum store_status store_add_zone(struct store *st, const char *origin,
    uint32_t serial, char *err);
#define STORE_ZONES_COUNT 0x1   /* count each zone's numbers (a scan each) */
/* The zones in origin order, *zones malloc'd; with journal_pos (may be
 * NULL) the journal position of the same commit, both read in one read
 * transaction.  At most max zones (0: no limit), more is an error.  Every
 * row is checked (an origin that fits, a serial 0 ... 2^32-1): a peer's
 * snapshot is untrusted input. */
enum store_status store_zones(struct store *st, int flags, size_t max,
    struct zone_info **zones, size_t *n, int64_t *journal_pos, char *err);
/* store_zones with STORE_ZONES_COUNT. */
enum store_status store_list_zones(struct store *st, struct zone_info **zones,
    size_t *n, char *err);
/* The zone whose prefix is the longest one that starts e164. */
enum store_status store_zone_for(struct store *st, const char *e164,
    char *origin, size_t originlen, char *err);

/* Apply n changes in one transaction: all or none.  On failure
 * *failed (when not NULL) is the index of the change that failed.
 * results (when not NULL) has n slots. */
enum store_status store_apply(struct store *st,
    const struct store_change *changes, size_t n,
    struct store_change_result *results, size_t *failed, char *err);

enum store_status store_get_number(struct store *st, const char *e164,
    struct number_entry *out, char *err);

/* Call fn for every number of zone origin in e164 order; fn returns 0 to go
 * on, non-zero to stop (returned as STORE_EIO with err from fn's caller). */
enum store_status store_foreach_number(struct store *st, const char *origin,
    int (*fn)(void *ctx, const char *e164, const char *naptr_text),
    void *ctx, char *err);

/* Journal: position = highest seq (0 when empty). */
enum store_status store_journal_position(struct store *st, int64_t *pos,
    char *err);
/* Rows with seq > after, at most limit, in order; free with store_journal_free. */
enum store_status store_journal_read(struct store *st, int64_t after,
    size_t limit, struct journal_row **rows, size_t *n, char *err);
void store_journal_free(struct journal_row *rows, size_t n);

/* First and last journal positions kept (first = last + 1 when empty:
 * trimmed or never written). */
enum store_status store_journal_bounds(struct store *st, int64_t *first,
    int64_t *last, char *err);
/* Keep the newest `keep` journal rows, removing older ones. */
enum store_status store_journal_trim(struct store *st, int64_t keep,
    int64_t *removed, char *err);

/* ---- replication (issue 14, doc/replication.md) ---------------------- */

/* After an import: the HLC never goes behind what the data now hold. */
void store_hlc_refresh(struct store *st);
/* The room name recorded in this connection's own changes. */
void store_set_room(struct store *st, const char *room);

/* What a batch of a peer's journal did here. */
struct store_remote_result {
	size_t applied;          /* changes that wrote a number */
	size_t skipped;          /* already here (seen from their origin) */
	size_t conflicts;        /* new conflicts recorded */
	size_t lost;             /* changes that lost a conflict (kept in
	                          * the conflict table, not served) */
	size_t decided;          /* conflicts closed by a peer's decision */
	size_t imports;          /* the peer's import rows (skipped) */
	size_t learned;          /* skipped changes the number held already
	                          * (a zone import brought them): only the
	                          * version vector learns them */
	int64_t journal_seq;     /* our journal position after the batch */
	int64_t last_hlc;        /* the batch's newest change's hlc */
	/* zones whose serial moved, and their serial after the batch */
	size_t nzones;
	struct store_change_result zones[16];
	int zones_overflow;      /* more zones moved than fit: re-read */
	int skipped_only;        /* every change was here already: nothing
	                          * written, the cursor not saved */
};
/* Apply rows (a peer's journal after our cursor, in its order) in one
 * transaction, and move the cursor for peer_uuid to cursor (the peer's
 * position the rows reach).  Idempotent: a change whose origin sequence
 * we have seen is skipped, and so is an import row (counted in
 * res->imports).  A change without an identity (from before schema 2)
 * or one past a hole in its origin's sequence is STORE_EGAP and nothing
 * is written. */
enum store_status store_apply_remote(struct store *st, const char *peer_uuid,
    const char *peer_room, int64_t cursor, const struct journal_row *rows,
    size_t n, struct store_remote_result *res, char *err);
/*
 * Merge a whole copy of a peer's database (a snapshot, ATTACHed to st's
 * connection as `schema`; `label` names it in messages) into st, number
 * by number, in one transaction (doc/replication.md, "Gaps"): where the
 * journal no longer reaches back far enough, this has the outcome that
 * following the journal would have had.  For each number whose version
 * differs, the version vectors decide: a version one side has seen is
 * superseded by the other side's; two versions neither side has seen of
 * the other are a conflict (the newer served, the other kept, as in
 * store_apply_remote).  Every version taken is journaled with its own
 * identity (flag STORE_JF_MERGE) for our followers; the copy's zones we
 * lack are created; the version vector becomes the maximum of both; the
 * cursor for the copy's database moves to the copy's journal position.
 * Every row of the copy is checked first (rowcheck.h): one invalid row
 * refuses it whole (STORE_EINVAL, row names it when given).
 */
struct store_merge_result {
	struct store_remote_result r;   /* applied: versions taken; lost:
	                                 * conflicts ours won; conflicts;
	                                 * zones moved; journal_seq */
	size_t kept;                    /* versions here that supersede the
	                                 * copy's */
	size_t zones_added;
	char peer_uuid[STORE_UUID_MAX];
	int64_t peer_position;          /* the copy's journal position */
};
enum store_status store_merge_attached(struct store *st, const char *schema,
    const char *label, const char *peer_room, char *row, size_t rowlen,
    struct store_merge_result *res, char *err);

/* Our cursor in peer_uuid's journal (0: never followed it). */
enum store_status store_peer_cursor(struct store *st, const char *peer_uuid,
    int64_t *cursor, char *err);

/* Our newest cursor in the journal of the peer of room `room`: its
 * database's uuid into uuid ("" and 0 when never followed). */
enum store_status store_peer_cursor_by_room(struct store *st,
    const char *room, char *uuid, size_t uuidlen, int64_t *cursor,
    char *err);

/* The version vector: the highest origin sequence seen per origin. */
struct store_vv_entry {
	char origin[STORE_UUID_MAX];
	char room[STORE_ROOM_MAX];
	int64_t oseq;
	int64_t hlc;
};
enum store_status store_version_vector(struct store *st,
    struct store_vv_entry **vv, size_t *n, char *err);

/* A number changed in two rooms since they last agreed. */
struct store_conflict {
	int64_t id;
	char e164[STORE_E164_MAX + 1];
	char zone[STORE_ORIGIN_MAX];
	char detected_at[32];
	int open;                                 /* 0: decided */
	struct store_version served, other;
	char *served_records, *other_records;     /* "" : removed */
	char decided_at[32];                      /* "" while open */
	char decision[16];                        /* served, other, peer */
};
enum store_status store_conflicts(struct store *st, int open_only,
    struct store_conflict **list, size_t *n, char *err);
void store_conflicts_free(struct store_conflict *list, size_t n);
enum store_status store_conflicts_open(struct store *st, int64_t *n,
    char *err);
/* An operator's decision: keep version `which` ("served" or "other") of
 * conflict id.  Writes it as a new change of this database (flag
 * STORE_JF_DECISION) that replicates like any other; res as store_apply. */
enum store_status store_conflict_keep(struct store *st, int64_t id,
    const char *which, struct store_change_result *res, char *err);

/* Parameters (seed's net_param_conf). */
enum store_status store_set_parameter(struct store *st, const char *name,
    const char *value, char *err);
enum store_status store_get_parameter(struct store *st, const char *name,
    char *value, size_t valuelen, char *err);

/* The database's uuid (database_identity). */
enum store_status store_identity(struct store *st, char *uuid, size_t uuidlen,
    char *err);

/* Map an SQLite result code to a store status, filling err with
 * "what: sqlite3_errmsg". */
enum store_status store_sqlite_error(struct store *st, int rc, const char *what,
    char *err);

#endif
