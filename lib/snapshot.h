/*
 * snapshot.h — consistent snapshots of the room's data plus the serial file
 * (S0.1, S1.2): what one room hands the other so that the other can decide
 * (by serial, S0.2) whether to import it.
 *
 * A snapshot directory holds two files:
 *   enumdr-snapshot.db   a copy of the database made with SQLite's backup API
 *   enumdr-serials       the serial file that describes it (serialfile.h,
 *                        doc/data-model.md)
 *
 * Both files are written under temporary names and renamed, the database
 * first: a serial file names the checksum of its database, so a reader never
 * accepts a database it does not describe.  Import verifies format, size,
 * checksum and the copy's own integrity before it touches the live database,
 * then replaces the data in one transaction: a failed import leaves the old
 * data intact.
 */
#ifndef ENUMDR_SNAPSHOT_H
#define ENUMDR_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "serialfile.h"
#include "store.h"
#include "transfer.h"

#define SNAPSHOT_DB_NAME      "enumdr-snapshot.db"
#define SNAPSHOT_SERIALS_NAME "enumdr-serials"

/* Export st into dir (created when missing): database copy, then the serial
 * file.  sf (optional) receives the serial file written. */
int snapshot_export(struct store *st, const char *dir, const char *room,
    struct serial_file *sf, char *err);

/* Download a peer's snapshot from the directory URL dir_url (its
 * fetch_url, or any transfer URL) into dir: the database first, the serial
 * file last, each arriving atomically (transfer.h).  The caller verifies
 * the pair (snapshot_verify) before it trusts it. */
int snapshot_fetch(const char *dir_url, const char *dir,
    const struct transfer_opts *opts, char *err);

/* Check that dir's database matches sf (size, sha256) and is a sound
 * enumdr database (SQLite quick_check, schema version). */
int snapshot_verify(const char *dir, const struct serial_file *sf, char *err);

/* Import from dir into st, verifying first.  zones == NULL: replace all
 * zones, numbers, their versions (number_version, tombstones included),
 * zone histories and parameters; otherwise only the listed zones (their
 * numbers, versions and histories).  Either way the version vector
 * (origin_seen) is merged: per origin the higher origin sequence, ours or
 * the copy's.  The journal, peer cursors and conflicts are this
 * database's own and never copied.  Zone serials become the snapshot's.
 * One transaction; appends one journal row (op "import", no change
 * identity) per imported zone. */
int snapshot_import(struct store *st, const char *dir,
    const char *const *zones, size_t nzones, char *err);

/* A snapshot whose files are sound but whose rows break the store's rules
 * (rowcheck.h): refused whole, nothing changed. */
#define SNAPSHOT_EINVALID (-2)

/* snapshot_import that tells a refused row apart: returns 0, -1 (a step
 * failed: unreadable, damaged, SQLite error) or SNAPSHOT_EINVALID with row
 * (rowlen bytes, ROWCHECK_ROW_MAX is enough) naming the first invalid row,
 * e.g. 'number "+46*"'.  Before the data are replaced, every row of the
 * copy is checked, inside the import's transaction. */
int snapshot_import_checked(struct store *st, const char *dir,
    const char *const *zones, size_t nzones, char *row, size_t rowlen,
    char *err);

/* Merge the snapshot in dir number by number (store_merge_attached,
 * doc/replication.md "Gaps"), verifying it first: 0, -1 or
 * SNAPSHOT_EINVALID (row names the refused row).  Nothing changes unless
 * the whole merge commits. */
int snapshot_merge(struct store *st, const char *dir, char *row,
    size_t rowlen, struct store_merge_result *res, char *err);

#endif
