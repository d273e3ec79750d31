/*
 * snapshot.h — consistent snapshots of the room's data plus the serial file
 * (S0.1, S1.2): what one room hands the other so that the other can decide
 * (by serial, S0.2) whether to import it.
 *
 * A snapshot directory holds two files:
 *   enumdr-snapshot.db   a copy of the database made with SQLite's backup API
 *   enumdr-serials       the serial file (text, documented in doc/data-model.md):
 *       enumdr-serials 1
 *       room A
 *       created 2026-11-29T15:34:26Z
 *       database-uuid 0f1e...
 *       journal 1234
 *       snapshot enumdr-snapshot.db 1056768 <sha256 hex>
 *       zone 6.4.e164.arpa 17
 *       ...
 *       checksum <sha256 hex of every line above, newlines included>
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

#include "store.h"
#include "transfer.h"

#define SNAPSHOT_DB_NAME      "enumdr-snapshot.db"
#define SNAPSHOT_SERIALS_NAME "enumdr-serials"
#define SERIAL_FILE_VERSION   1
#define SERIAL_FILE_MAX       (1024 * 1024)   /* a serial file is small; cap reads */

struct serial_zone {
	char origin[STORE_ORIGIN_MAX];
	uint32_t serial;
};

struct serial_file {
	int version;
	char room[64];
	char created_at[32];
	char database_uuid[64];
	int64_t journal_pos;
	char snapshot_name[64];
	uint64_t snapshot_size;
	char snapshot_sha256[65];
	size_t nzones;
	struct serial_zone *zones;              /* malloc'd */
};

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

/* Read and check a serial file (format, version, checksum). */
int serial_file_read(const char *path, struct serial_file *sf, char *err);
/* Render sf as text (with its checksum line); *text malloc'd. */
int serial_file_format(const struct serial_file *sf, char **text, size_t *len,
    char *err);
void serial_file_free(struct serial_file *sf);
/* The serial of origin in sf; 0 if absent, 1 if found. */
int serial_file_zone(const struct serial_file *sf, const char *origin,
    uint32_t *serial);

/* Check that dir's database matches sf (size, sha256) and is a sound
 * enumdr database (SQLite quick_check, schema version). */
int snapshot_verify(const char *dir, const struct serial_file *sf, char *err);

/* Import from dir into st, verifying first.  zones == NULL: replace all
 * zones, numbers and parameters; otherwise only the listed zones (and their
 * numbers).  Zone serials become the snapshot's.  One transaction; appends
 * one journal row (op "import") per imported zone. */
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

#endif
