/*
 * serialfile.h — the serial file (S0.1, S0.2): the text that names a
 * snapshot's database, its checksum, the journal position and every zone's
 * serial, so that a peer decides by serial whether to import it.  The
 * format (doc/data-model.md):
 *
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
 * The reader is strict: a peer's file is untrusted input.  The serial
 * arithmetic on the zone serials is rfc1982.h.
 */
#ifndef ENUMDR_SERIALFILE_H
#define ENUMDR_SERIALFILE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SERIAL_FILE_VERSION   1
#define SERIAL_FILE_MAX       (1024 * 1024)   /* a serial file is small; cap reads */
/* Zones in one serial file.  An origin has at most 15 digit labels (39
 * bytes), so a zone line is at most 56 bytes: 10000 of them stay well
 * under SERIAL_FILE_MAX. */
#define SERIAL_FILE_ZONES_MAX 10000

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

/* Read and check a serial file (format, version, checksum). */
int serial_file_read(const char *path, struct serial_file *sf, char *err);
/* Render sf as text (with its checksum line); *text malloc'd. */
int serial_file_format(const struct serial_file *sf, char **text, size_t *len,
    char *err);
void serial_file_free(struct serial_file *sf);
/* The serial of origin in sf; 0 if absent, 1 if found. */
int serial_file_zone(const struct serial_file *sf, const char *origin,
    uint32_t *serial);
/* A room or file name as a serial file may carry it: 1..max-1 of
 * [A-Za-z0-9._-], not starting with '.' (it becomes a path component). */
int serial_file_name_valid(const char *s, size_t max);

#endif
