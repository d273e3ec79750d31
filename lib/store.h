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

#define STORE_SCHEMA_VERSION 1
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
	STORE_EIO        /* any other database error */
};

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
};

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
