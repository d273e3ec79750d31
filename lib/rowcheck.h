/*
 * rowcheck.h — the rows of a database that came from somewhere else (a
 * peer's snapshot, pushed into incoming_dir or fetched) are untrusted
 * input.  Before any of them reaches the live database, every row is held
 * to exactly the rules the provisioning API applies to a request (issue 12):
 *
 *   zone             origin: canonical digit labels under e164.arpa
 *                    (store_origin_valid, lowercase, no final dot); prefix:
 *                    the origin's digits; serial 0 ... 2^32-1; no two zones
 *                    with one prefix
 *   number           e164: a valid E.164 number (store_e164_valid), held by
 *                    the zone whose prefix is the longest one that starts it
 *                    (the store's own rule, store_zone_for); naptr: valid
 *                    records in canonical text (naptr_text_valid); no
 *                    number twice
 *   parameter        store_parameter_valid; no name twice
 *   zone_history     a zone of the database, an actor uuid, changes >= 0
 *   number_version   (schema 2) e164 valid and held by its longest-prefix
 *                    zone, as a number; origin a database uuid (32
 *                    lowercase hex digits); oseq >= 1; hlc >= 1; room a
 *                    room name [A-Za-z0-9_-]{1,63} or "" (a store whose
 *                    room was never set); removed 0 or 1; at a
 *                    UTC time; no number twice; removed = 0 only for a
 *                    number of the database, in that zone (a number
 *                    without a version is allowed: written before
 *                    schema 2)
 *   origin_seen      (schema 2) origin a database uuid, room a room name
 *                    or "", oseq >= 1, hlc >= 0; no origin twice
 *   every row        text columns are text (no NUL byte, bounded length),
 *                    integers are integers, times are UTC ISO 8601
 *
 * and the database itself has the enumdr tables of schema 2 as tables,
 * with their columns (the rows of journal, peer_cursor and conflict are
 * local state, never copied, and not checked), and no views or triggers
 * (a crafted file could otherwise make a SELECT run code of its choosing).
 * The first row that breaks a rule fails the whole check: a snapshot is
 * used whole or not at all.
 */
#ifndef ENUMDR_ROWCHECK_H
#define ENUMDR_ROWCHECK_H

#include <stddef.h>
#include <sqlite3.h>

#define ROWCHECK_ROW_MAX 160   /* the description of the offending row */

/* Check every row of the enumdr database attached to db as schema (e.g.
 * "main" or an ATTACH name); path names it in messages.  0 when every row
 * holds; -1 with err (naming path, the table, the row's key and the rule)
 * and, when row is not NULL, a short description of the row ("number
 * \"+4612\"", "parameter \"dns.ttl\"") for an alarm figure.  Reads only. */
int rowcheck_database(sqlite3 *db, const char *schema, const char *path,
    char *row, size_t rowlen, char *err);

#endif
