/*
 * snapshot.c — consistent snapshots of the room's database and the serial
 * file that describes them (S0.1 periodic backup of the four tables plus
 * the zone serials, S1.2 first sync by export/import, S0.2 step 4 import).
 *
 * Export copies the live database with SQLite's online backup API into a
 * temporary file, switches the copy out of WAL mode, fsyncs and renames it,
 * then writes the serial file (zone serials and journal position read from
 * the copy itself, plus the copy's size and SHA-256) atomically.  Import
 * reads the serial file strictly, verifies the copy (size, SHA-256, SQLite
 * quick_check, schema version, and that its zones, serials, journal
 * position and identity are the ones the serial file names), attaches it to
 * the live connection and replaces the data in one transaction, so that a
 * failed import leaves the live data untouched.  The formats are documented
 * in doc/data-model.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rowcheck.h"
#include "sha256.h"
#include "snapshot.h"
#include "store.h"
#include "util.h"

#define SNAPSHOT_SCHEMA       "enumdr_snapshot"   /* ATTACH name on import */

/* ---- small SQLite helpers ------------------------------------------- */

/* Run sql with up to two text parameters to completion; SQLite code. */
static int
exec_bound(sqlite3 *db, const char *sql, const char *a1, const char *a2)
{
	sqlite3_stmt *q;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (a1 != NULL)
		sqlite3_bind_text(q, 1, a1, -1, SQLITE_STATIC);
	if (a2 != NULL)
		sqlite3_bind_text(q, 2, a2, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		;
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Run a pragma and copy the first column of its first row into out
 * ("" when there is none); an SQLite code. */
static int
pragma_text(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *q;
	int rc;

	out[0] = '\0';
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		strlcpy_(out, sqlite3_column_text(q, 0) ?
		    (const char *)sqlite3_column_text(q, 0) : "", outlen);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

/* What a serial file says of the database st (a snapshot copy, opened
 * with STORE_SNAPSHOT): schema version, uuid, journal position and zone
 * serials, every zone row checked; *zonesp malloc'd. */
static int
read_description(struct store *st, const char *path, int *schema_version,
    char *uuid, size_t uuidlen, int64_t *journal_pos,
    struct serial_zone **zonesp, size_t *nzonesp, char *err)
{
	sqlite3 *db = store_handle(st);
	struct serial_zone *zones = NULL;
	struct zone_info *zi = NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0, i;
	int rc, ret = -1;

	*zonesp = NULL;
	*nzonesp = 0;
	rc = sqlite3_prepare_v2(db, "SELECT schema_version, uuid FROM"
	    " database_identity WHERE id = 1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			errf(err, "%s: database_identity has no row", path);
			goto done;
		}
		goto sqlfail;
	}
	*schema_version = sqlite3_column_int(q, 0);
	strlcpy_(uuid, sqlite3_column_text(q, 1) ?
	    (const char *)sqlite3_column_text(q, 1) : "", uuidlen);
	sqlite3_finalize(q);
	q = NULL;

	if (store_zones(st, 0, SERIAL_FILE_ZONES_MAX, &zi, &n, journal_pos,
	    err) != STORE_OK)
		goto done;
	if (n > 0 && (zones = calloc(n, sizeof(*zones))) == NULL) {
		errf(err, "out of memory reading %s", path);
		goto done;
	}
	for (i = 0; i < n; i++) {
		strlcpy_(zones[i].origin, zi[i].origin,
		    sizeof(zones[i].origin));
		zones[i].serial = zi[i].serial;
	}
	*zonesp = zones;
	*nzonesp = n;
	zones = NULL;
	ret = 0;
	goto done;
sqlfail:
	errf(err, "%s: read database_identity: %s", path,
	    sqlite3_errmsg(db));
done:
	sqlite3_finalize(q);
	free(zi);
	free(zones);
	return ret;
}

/* fsync a regular file by name. */
static int
fsync_file(const char *path, char *err)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errf_errno(err, "open %s", path);
		return -1;
	}
	if (fsync(fd) == -1) {
		errf_errno(err, "fsync %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Remove a temporary database copy and the journal SQLite may leave. */
static void
unlink_db_tmp(const char *tmp)
{
	char side[PATH_MAX];

	unlink(tmp);
	if (snprintf(side, sizeof(side), "%s-journal", tmp) <
	    (int)sizeof(side))
		unlink(side);
	if (snprintf(side, sizeof(side), "%s-wal", tmp) < (int)sizeof(side))
		unlink(side);
	if (snprintf(side, sizeof(side), "%s-shm", tmp) < (int)sizeof(side))
		unlink(side);
}

/* Steps 1 and 2 of an export: st copied into the new file tmp with
 * SQLite's backup API, switched out of WAL mode and closed. */
static int
copy_database(struct store *st, const char *tmp, char *err)
{
	char mode[16];
	sqlite3 *copy = NULL;
	sqlite3_backup *bk;
	int rc;

	/* 1. the copy, under a temporary name */
	rc = sqlite3_open_v2(tmp, &copy, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		errf(err, "export: create %s: %s", tmp, copy ?
		    sqlite3_errmsg(copy) : sqlite3_errstr(rc));
		goto fail;
	}
	bk = sqlite3_backup_init(copy, "main", store_handle(st), "main");
	if (bk == NULL) {
		errf(err, "export: start backup of %s into %s: %s",
		    store_path(st), tmp, sqlite3_errmsg(copy));
		goto fail;
	}
	rc = sqlite3_backup_step(bk, -1);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		errf(err, "export: backup of %s into %s: %s", store_path(st),
		    tmp, sqlite3_errstr(rc));
		goto fail;
	}

	/* 2. the copy keeps no WAL: a single file is what we hand over */
	rc = pragma_text(copy, "PRAGMA journal_mode=DELETE", mode,
	    sizeof(mode));
	if (rc != SQLITE_OK || strcmp(mode, "delete") != 0) {
		errf(err, "export: switch %s to journal_mode=delete: %s", tmp,
		    rc != SQLITE_OK ? sqlite3_errmsg(copy) : mode);
		goto fail;
	}

	rc = sqlite3_close(copy);
	if (rc != SQLITE_OK) {
		errf(err, "export: close %s: %s", tmp, sqlite3_errstr(rc));
		return -1;
	}
	return 0;
fail:
	sqlite3_close(copy);
	return -1;
}

/* ---- export ------------------------------------------------------------ */

int
snapshot_export(struct store *st, const char *dir, const char *room,
    struct serial_file *sfp, char *err)
{
	char dbpath[PATH_MAX], tmp[PATH_MAX], serpath[PATH_MAX];
	struct serial_file sf;
	struct store *snap = NULL;
	char *text = NULL;
	size_t len;
	int version, ret = -1, have_tmp = 0;

	memset(&sf, 0, sizeof(sf));
	if (sfp != NULL)
		memset(sfp, 0, sizeof(*sfp));
	if (!serial_file_name_valid(room, sizeof(sf.room))) {
		errf(err, "export: room name \"%.64s\" must be 1 to %zu of the"
		    " characters A-Z a-z 0-9 . _ - (not starting with '.')",
		    room, sizeof(sf.room) - 1);
		return -1;
	}
	if (util_mkdir_p(dir, 0750, err) == -1)
		return -1;
	/* the copies an export killed mid-way left behind (a 1M-number
	 * copy is hundreds of MB: a crash loop must not fill the disk) */
	if (util_remove_stale_temps(dir, 0, NULL, err) == -1)
		return -1;
	if (util_path_join(dbpath, sizeof(dbpath), dir, SNAPSHOT_DB_NAME,
	    err) == -1 ||
	    util_path_join(serpath, sizeof(serpath), dir,
	    SNAPSHOT_SERIALS_NAME, err) == -1)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", dbpath,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		errf(err, "path too long: %s", dbpath);
		return -1;
	}

	unlink_db_tmp(tmp);
	have_tmp = 1;
	if (copy_database(st, tmp, err) == -1)
		goto done;

	/* 3. what the serial file says is read from the copy itself */
	if (store_open(tmp, STORE_READONLY | STORE_SNAPSHOT, &snap,
	    err) != STORE_OK ||
	    read_description(snap, tmp, &version, sf.database_uuid,
	    sizeof(sf.database_uuid), &sf.journal_pos, &sf.zones, &sf.nzones,
	    err) == -1)
		goto done;
	store_close(snap);
	snap = NULL;

	/* 4. durable, then visible under its name */
	if (fsync_file(tmp, err) == -1)
		goto done;
	if (rename(tmp, dbpath) == -1) {
		errf_errno(err, "export: rename %s to %s", tmp, dbpath);
		goto done;
	}
	have_tmp = 0;
	if (util_fsync_dir(dir, err) == -1)
		goto done;

	/* 5. the serial file, naming the copy's size and checksum */
	if (sha256_file(dbpath, sf.snapshot_sha256, &sf.snapshot_size,
	    err) == -1)
		goto done;
	sf.version = SERIAL_FILE_VERSION;
	strlcpy_(sf.room, room, sizeof(sf.room));
	util_utc_iso8601(sf.created_at, sizeof(sf.created_at));
	strlcpy_(sf.snapshot_name, SNAPSHOT_DB_NAME, sizeof(sf.snapshot_name));
	if (serial_file_format(&sf, &text, &len, err) == -1)
		goto done;
	if (util_write_file_atomic(serpath, text, len, 0640, err) == -1)
		goto done;
	if (sfp != NULL) {
		*sfp = sf;
		memset(&sf, 0, sizeof(sf));
	}
	ret = 0;
done:
	store_close(snap);
	if (have_tmp)
		unlink_db_tmp(tmp);
	free(text);
	serial_file_free(&sf);
	return ret;
}

/* ---- verify -------------------------------------------------------------- */

/* Snapshot dir's database file as sf names it: path (PATH_MAX) and sb
 * receive it; its size and SHA-256 must be those sf says. */
static int
check_file(const char *dir, const struct serial_file *sf, char *path,
    struct stat *sb, char *err)
{
	char hex[65];
	uint64_t size;

	if (!serial_file_name_valid(sf->snapshot_name,
	    sizeof(sf->snapshot_name))) {
		errf(err, "snapshot name \"%.64s\" is not a plain file name",
		    sf->snapshot_name);
		return -1;
	}
	if (util_path_join(path, PATH_MAX, dir, sf->snapshot_name,
	    err) == -1)
		return -1;
	if (stat(path, sb) == -1) {
		errf_errno(err, "snapshot %s", path);
		return -1;
	}
	if (!S_ISREG(sb->st_mode)) {
		errf(err, "snapshot %s is not a regular file", path);
		return -1;
	}

	/* size and checksum: a truncated or bit-flipped copy stops here */
	if (sha256_file(path, hex, &size, err) == -1)
		return -1;
	if (size != sf->snapshot_size) {
		errf(err, "snapshot %s: size is %llu bytes, the serial file"
		    " says %llu (truncated or incomplete transfer)", path,
		    (unsigned long long)size,
		    (unsigned long long)sf->snapshot_size);
		return -1;
	}
	if (strcmp(hex, sf->snapshot_sha256) != 0) {
		errf(err, "snapshot %s: sha256 checksum mismatch: the file"
		    " hashes to %.12s..., the serial file says %.12s..."
		    " (corrupted copy)", path, hex, sf->snapshot_sha256);
		return -1;
	}
	return 0;
}

/* Open path as a snapshot copy and run SQLite's quick_check on it;
 * *snapp receives the store. */
static int
open_checked(const char *path, struct store **snapp, char *err)
{
	char oerr[ENUMDR_ERRLEN], result[128];
	struct store *snap = NULL;
	sqlite3 *db;
	int rc;

	*snapp = NULL;
	/* a sound SQLite database of our schema */
	if (store_open(path, STORE_READONLY | STORE_SNAPSHOT, &snap,
	    oerr) != STORE_OK) {
		errf(err, "snapshot %s: %s", path, oerr);
		goto fail;
	}
	db = store_handle(snap);
	rc = pragma_text(db, "PRAGMA quick_check", result, sizeof(result));
	if (rc != SQLITE_OK) {
		errf(err, "snapshot %s: quick_check: %s", path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (strcmp(result, "ok") != 0) {
		errf(err, "snapshot %s: quick_check failed: %s", path, result);
		goto fail;
	}
	*snapp = snap;
	return 0;
fail:
	store_close(snap);
	return -1;
}

/* The copy snap at path describes itself as sf does: schema version,
 * uuid, journal position, zones and their serials. */
static int
match_description(struct store *snap, const char *path,
    const struct serial_file *sf, char *err)
{
	struct serial_zone *zones = NULL;
	char uuid[64];
	int64_t journal_pos;
	size_t nzones = 0, i;
	int version, ret = -1;

	if (read_description(snap, path, &version, uuid, sizeof(uuid),
	    &journal_pos, &zones, &nzones, err) == -1)
		goto done;
	/* no schema is migrated on import: the copy's rows are read as
	 * they are (a schema 1 copy has no number versions, no vector) */
	if (version != STORE_SCHEMA_VERSION) {
		errf(err, "snapshot %s: snapshot of schema %d, this program"
		    " reads schema %d: %s", path, version,
		    STORE_SCHEMA_VERSION, version < STORE_SCHEMA_VERSION ?
		    "export it again with the upgraded agent" :
		    "upgrade this program to import it");
		goto done;
	}

	/* and the database the serial file describes, not another one */
	if (strcmp(uuid, sf->database_uuid) != 0) {
		errf(err, "snapshot %s: database uuid %s, the serial file says"
		    " %s", path, uuid, sf->database_uuid);
		goto done;
	}
	if (journal_pos != sf->journal_pos) {
		errf(err, "snapshot %s: journal position %lld, the serial file"
		    " says %lld", path, (long long)journal_pos,
		    (long long)sf->journal_pos);
		goto done;
	}
	for (i = 0; i < nzones || i < sf->nzones; i++) {
		if (i >= nzones || i >= sf->nzones ||
		    strcmp(zones[i].origin, sf->zones[i].origin) != 0) {
			errf(err, "snapshot %s: its zones differ from the"
			    " serial file's (%s here, %s there)", path,
			    i < nzones ? zones[i].origin : "none",
			    i < sf->nzones ? sf->zones[i].origin : "none");
			goto done;
		}
		if (zones[i].serial != sf->zones[i].serial) {
			errf(err, "snapshot %s: zone %s has serial %lu, the"
			    " serial file says %lu", path, zones[i].origin,
			    (unsigned long)zones[i].serial,
			    (unsigned long)sf->zones[i].serial);
			goto done;
		}
	}
	ret = 0;
done:
	free(zones);
	return ret;
}

/*
 * snapshot_verify, also returning the stat of the file it checked so that
 * the import can make sure it attaches that very file.
 */
static int
verify_snapshot(const char *dir, const struct serial_file *sf,
    struct stat *sbp, char *err)
{
	char path[PATH_MAX];
	struct store *snap = NULL;
	struct stat sb, sb2;
	int ret = -1;

	if (check_file(dir, sf, path, &sb, err) == -1)
		return -1;
	if (open_checked(path, &snap, err) == -1)
		return -1;
	if (match_description(snap, path, sf, err) == -1)
		goto done;

	/* the file did not change under us while we checked it */
	if (stat(path, &sb2) == -1 || sb2.st_dev != sb.st_dev ||
	    sb2.st_ino != sb.st_ino || sb2.st_size != sb.st_size ||
	    sb2.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
	    sb2.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) {
		errf(err, "snapshot %s changed while it was being verified",
		    path);
		goto done;
	}
	if (sbp != NULL)
		*sbp = sb;
	ret = 0;
done:
	store_close(snap);
	return ret;
}

int
snapshot_verify(const char *dir, const struct serial_file *sf, char *err)
{
	return verify_snapshot(dir, sf, NULL, err);
}

/* ---- fetch ---------------------------------------------------------------- */

int
snapshot_fetch(const char *dir_url, const char *dir,
    const struct transfer_opts *opts, char *err)
{
	static const char *const names[] = { SNAPSHOT_DB_NAME,
	    SNAPSHOT_SERIALS_NAME };
	char url[CONFIG_URL_MAX + 64], path[PATH_MAX];
	size_t i;

	if (util_mkdir_p(dir, 0750, err) == -1)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (transfer_url_join(url, sizeof(url), dir_url, names[i],
		    err) == -1 ||
		    util_path_join(path, sizeof(path), dir, names[i], err) == -1 ||
		    transfer_get(url, path, opts, err) == -1)
			return -1;
	}
	return 0;
}

/* ---- import -------------------------------------------------------------- */

/* The version vector (schema 2): per origin, the higher origin sequence
 * of ours and the copy's, with its hlc and room.  Only for a whole
 * import: origin_seen is not kept per zone. */
static int
merge_seen(sqlite3 *db, const char **step)
{
	*step = "merge the version vector";
	return exec_bound(db, "INSERT INTO main.origin_seen (origin, room,"
	    " oseq, hlc) SELECT origin, room, oseq, hlc FROM " SNAPSHOT_SCHEMA
	    ".origin_seen WHERE true ON CONFLICT (origin) DO UPDATE SET"
	    " room = excluded.room, oseq = excluded.oseq, hlc = excluded.hlc"
	    " WHERE excluded.oseq > main.origin_seen.oseq", NULL, NULL);
}

/* Replace everything (zones == NULL), inside the open transaction.  The
 * journal, peer cursors and conflicts are this database's own: kept. */
static int
import_all(sqlite3 *db, const char *now, const char **step)
{
	int rc;

	*step = "clear numbers";
	if ((rc = exec_bound(db, "DELETE FROM main.number", NULL, NULL)))
		return rc;
	*step = "clear zones";
	if ((rc = exec_bound(db, "DELETE FROM main.zone", NULL, NULL)))
		return rc;
	*step = "clear parameters";
	if ((rc = exec_bound(db, "DELETE FROM main.parameter", NULL, NULL)))
		return rc;
	*step = "copy zones";
	if ((rc = exec_bound(db, "INSERT INTO main.zone (origin, prefix,"
	    " serial, updated_at) SELECT origin, prefix, serial, updated_at"
	    " FROM " SNAPSHOT_SCHEMA ".zone", NULL, NULL)))
		return rc;
	*step = "copy numbers";
	if ((rc = exec_bound(db, "INSERT INTO main.number (e164, zone, naptr,"
	    " updated_at) SELECT e164, zone, naptr, updated_at FROM "
	    SNAPSHOT_SCHEMA ".number", NULL, NULL)))
		return rc;
	*step = "copy parameters";
	if ((rc = exec_bound(db, "INSERT INTO main.parameter (name, value)"
	    " SELECT name, value FROM " SNAPSHOT_SCHEMA ".parameter", NULL,
	    NULL)))
		return rc;
	*step = "copy zone histories";
	if ((rc = exec_bound(db, "DELETE FROM main.zone_history", NULL, NULL)) ||
	    (rc = exec_bound(db, "INSERT INTO main.zone_history (zone, actor,"
	    " changes) SELECT zone, actor, changes FROM " SNAPSHOT_SCHEMA
	    ".zone_history", NULL, NULL)))
		return rc;
	*step = "copy number versions";
	if ((rc = exec_bound(db, "DELETE FROM main.number_version", NULL,
	    NULL)) ||
	    (rc = exec_bound(db, "INSERT INTO main.number_version (e164, zone,"
	    " origin, oseq, hlc, room, removed, at) SELECT e164, zone, origin,"
	    " oseq, hlc, room, removed, at FROM " SNAPSHOT_SCHEMA
	    ".number_version", NULL, NULL)))
		return rc;
	if ((rc = merge_seen(db, step)))
		return rc;
	*step = "append journal rows";
	return exec_bound(db, "INSERT INTO main.journal (at, op, e164, zone,"
	    " serial, records) SELECT ?1, 'import', '', origin, serial, ''"
	    " FROM " SNAPSHOT_SCHEMA ".zone ORDER BY origin", now, NULL);
}

/* A row of table (number or number_version) of the copy's zone origin
 * whose number we hold under another zone: named in conflict, -1; else
 * an SQLite code.  Run after the zone's own rows are cleared. */
static int
held_elsewhere(sqlite3 *db, const char *table, const char *origin,
    char *conflict, size_t conflictlen)
{
	char sql[256];
	sqlite3_stmt *q;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT n.e164, n.zone FROM "
	    SNAPSHOT_SCHEMA ".%s s JOIN main.%s n ON n.e164 = s.e164"
	    " WHERE s.zone = ?1 LIMIT 1", table, table);
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL)) != SQLITE_OK)
		return rc;
	sqlite3_bind_text(q, 1, origin, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		snprintf(conflict, conflictlen, "number %s of zone %s %s here"
		    " by zone %s; import all zones instead",
		    (const char *)sqlite3_column_text(q, 0), origin,
		    strcmp(table, "number") == 0 ? "is held" :
		    "has its version (or its removal) held",
		    (const char *)sqlite3_column_text(q, 1));
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Replace one zone, its numbers and their versions, inside the open
 * transaction.  -1 with err for a conflict we name ourselves, else an
 * SQLite code. */
static int
import_zone(sqlite3 *db, const char *origin, const char *now,
    const char **step, char *conflict, size_t conflictlen)
{
	int rc;

	*step = "clear the zone's numbers";
	if ((rc = exec_bound(db, "DELETE FROM main.number WHERE zone = ?1",
	    origin, NULL)))
		return rc;
	*step = "clear the zone";
	if ((rc = exec_bound(db, "DELETE FROM main.zone WHERE origin = ?1",
	    origin, NULL)))
		return rc;
	*step = "copy the zone";
	if ((rc = exec_bound(db, "INSERT INTO main.zone (origin, prefix,"
	    " serial, updated_at) SELECT origin, prefix, serial, updated_at"
	    " FROM " SNAPSHOT_SCHEMA ".zone WHERE origin = ?1", origin, NULL)))
		return rc;
	/* A number of this zone that we hold under another zone (a zone
	 * we do not have whose prefix is longer than one of ours) would
	 * otherwise be a bare UNIQUE error: name it. */
	*step = "check the zone's numbers";
	if ((rc = held_elsewhere(db, "number", origin, conflict,
	    conflictlen)))
		return rc;
	*step = "copy the zone's numbers";
	if ((rc = exec_bound(db, "INSERT INTO main.number (e164, zone, naptr,"
	    " updated_at) SELECT e164, zone, naptr, updated_at FROM "
	    SNAPSHOT_SCHEMA ".number WHERE zone = ?1", origin, NULL)))
		return rc;
	/* The peer's history of the zone comes with its data. */
	*step = "copy the zone's history";
	if ((rc = exec_bound(db, "DELETE FROM main.zone_history WHERE zone = ?1",
	    origin, NULL)) ||
	    (rc = exec_bound(db, "INSERT INTO main.zone_history (zone, actor,"
	    " changes) SELECT zone, actor, changes FROM " SNAPSHOT_SCHEMA
	    ".zone_history WHERE zone = ?1", origin, NULL)))
		return rc;
	/* and the versions of its numbers, tombstones included */
	*step = "clear the zone's number versions";
	if ((rc = exec_bound(db, "DELETE FROM main.number_version WHERE"
	    " zone = ?1", origin, NULL)))
		return rc;
	*step = "check the zone's number versions";
	if ((rc = held_elsewhere(db, "number_version", origin, conflict,
	    conflictlen)))
		return rc;
	*step = "copy the zone's number versions";
	if ((rc = exec_bound(db, "INSERT INTO main.number_version (e164, zone,"
	    " origin, oseq, hlc, room, removed, at) SELECT e164, zone, origin,"
	    " oseq, hlc, room, removed, at FROM " SNAPSHOT_SCHEMA
	    ".number_version WHERE zone = ?1", origin, NULL)))
		return rc;
	*step = "append the journal row";
	return exec_bound(db, "INSERT INTO main.journal (at, op, e164, zone,"
	    " serial, records) SELECT ?1, 'import', '', origin, serial, ''"
	    " FROM " SNAPSHOT_SCHEMA ".zone WHERE origin = ?2", now, origin);
}

int
snapshot_import(struct store *st, const char *dir, const char *const *zones,
    size_t nzones, char *err)
{
	return snapshot_import_checked(st, dir, zones, nzones, NULL, 0, err);
}

/* Read dir's serial file into sf, verify the database it describes and
 * ATTACH that very file as SNAPSHOT_SCHEMA (dbpath: its path). */
static int
attach_verified(struct store *st, const char *dir, struct serial_file *sf,
    char *dbpath, size_t dbpathlen, char *err)
{
	char serpath[PATH_MAX];
	struct stat before, after;
	sqlite3 *db = store_handle(st);

	if (util_path_join(serpath, sizeof(serpath), dir,
	    SNAPSHOT_SERIALS_NAME, err) == -1)
		return -1;
	if (serial_file_read(serpath, sf, err) == -1)
		return -1;
	if (verify_snapshot(dir, sf, &before, err) == -1)
		return -1;
	if (util_path_join(dbpath, dbpathlen, dir, sf->snapshot_name,
	    err) == -1)
		return -1;
	if (exec_bound(db, "ATTACH DATABASE ?1 AS " SNAPSHOT_SCHEMA, dbpath,
	    NULL) != SQLITE_OK) {
		errf(err, "attach snapshot %s: %s", dbpath, sqlite3_errmsg(db));
		return -1;
	}
	if (stat(dbpath, &after) == -1 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino || after.st_size != before.st_size ||
	    after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
		sqlite3_exec(db, "DETACH DATABASE " SNAPSHOT_SCHEMA, NULL,
		    NULL, NULL);
		errf(err, "snapshot %s was replaced after it was verified; try"
		    " again", dbpath);
		return -1;
	}
	return 0;
}

int
snapshot_import_checked(struct store *st, const char *dir,
    const char *const *zones, size_t nzones, char *row, size_t rowlen,
    char *err)
{
	char dbpath[PATH_MAX], now[32], conflict[256];
	struct serial_file sf;
	sqlite3 *db = store_handle(st);
	const char *step = "attach";
	size_t i, j;
	int rc, ret = -1, attached = 0, intx = 0;

	memset(&sf, 0, sizeof(sf));
	conflict[0] = '\0';
	if (attach_verified(st, dir, &sf, dbpath, sizeof(dbpath), err) == -1)
		goto done;
	attached = 1;
	for (i = 0; zones != NULL && i < nzones; i++) {
		if (!serial_file_zone(&sf, zones[i], NULL)) {
			errf(err, "import from %s: zone %s is not in the"
			    " snapshot", dbpath, zones[i]);
			goto done;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(zones[i], zones[j]) == 0) {
				errf(err, "import from %s: zone %s is listed"
				    " twice", dbpath, zones[i]);
				goto done;
			}
		}
	}

	step = "begin transaction";
	if ((rc = exec_bound(db, "BEGIN IMMEDIATE", NULL, NULL)) != SQLITE_OK)
		goto sqlfail;
	intx = 1;
	/* Every row of the copy by the store's rules, read inside the
	 * transaction that copies them: what is checked is what is copied,
	 * and one bad row refuses the whole snapshot (rowcheck.h). */
	if (rowcheck_database(db, SNAPSHOT_SCHEMA, dbpath, row, rowlen,
	    err) == -1) {
		ret = row != NULL && row[0] != '\0' ? SNAPSHOT_EINVALID : -1;
		goto done;
	}
	util_utc_iso8601(now, sizeof(now));
	if (zones == NULL) {
		if ((rc = import_all(db, now, &step)) != SQLITE_OK)
			goto sqlfail;
	} else {
		for (i = 0; i < nzones; i++) {
			rc = import_zone(db, zones[i], now, &step, conflict,
			    sizeof(conflict));
			if (rc == -1) {
				errf(err, "import from %s: %s", dbpath,
				    conflict);
				goto done;
			}
			if (rc != SQLITE_OK) {
				errf(err, "import from %s: zone %s: %s: %s",
				    dbpath, zones[i], step,
				    sqlite3_errmsg(db));
				goto done;
			}
		}
		/* No merge of the version vector here: it is not kept per
		 * zone, and claiming the peer's changes to the zones not
		 * imported would make the followers skip them.  A change the
		 * import brought comes again through the journal and is
		 * known by its version (store_apply_remote). */
	}
	step = "commit";
	if ((rc = exec_bound(db, "COMMIT", NULL, NULL)) != SQLITE_OK)
		goto sqlfail;
	intx = 0;
	ret = 0;
	goto done;
sqlfail:
	errf(err, "import from %s: %s: %s", dbpath, step, sqlite3_errmsg(db));
done:
	if (intx)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (attached)
		sqlite3_exec(db, "DETACH DATABASE " SNAPSHOT_SCHEMA, NULL,
		    NULL, NULL);
	serial_file_free(&sf);
	return ret;
}

int
snapshot_merge(struct store *st, const char *dir, char *row, size_t rowlen,
    struct store_merge_result *res, char *err)
{
	char dbpath[PATH_MAX];
	struct serial_file sf;
	enum store_status s;

	memset(&sf, 0, sizeof(sf));
	memset(res, 0, sizeof(*res));
	if (row != NULL && rowlen > 0)
		row[0] = '\0';
	if (attach_verified(st, dir, &sf, dbpath, sizeof(dbpath), err) == -1) {
		serial_file_free(&sf);
		return -1;
	}
	s = store_merge_attached(st, SNAPSHOT_SCHEMA, dbpath, sf.room, row,
	    rowlen, res, err);
	sqlite3_exec(store_handle(st), "DETACH DATABASE " SNAPSHOT_SCHEMA,
	    NULL, NULL, NULL);
	serial_file_free(&sf);
	if (s == STORE_OK)
		return 0;
	return row != NULL && row[0] != '\0' ? SNAPSHOT_EINVALID : -1;
}
