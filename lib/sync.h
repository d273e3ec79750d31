/*
 * sync.h — the serial-compare data synchronisation (S0.2), run at every
 * takeover (S0.6) and failback (S0.7), and by `enumdr sync`.
 *
 *   1. read the peer's serial file from the fixed directory — failure ends it;
 *   2. query the own zone serials — failure ends it;
 *   3. compare per zone (RFC 1982):
 *        nothing newer on the peer           -> EQUAL / OWN_NEWER, nothing done
 *        peer newer in some zones, own in none -> import those zones (PEER_NEWER)
 *        own newer in some and peer in others  -> DIVERGED: both sides' data kept
 *        any zone at distance 2^31             -> UNDEFINED: nothing imported
 *
 * Serials alone cannot see one case: both rooms changed the *same* zone
 * since they last agreed (a room died with changes it had not pushed, the
 * other took over and changed the zone too).  So each zone also carries
 * its history (store.h: changes per database, a version vector), read from
 * the own database and from the peer's snapshot.  Where a side has one, the
 * history decides: the peer's covers ours -> peer newer; ours covers the
 * peer's -> own newer; neither -> the zone itself has diverged (verdict
 * ZONE_DIVERGED, outcome DIVERGED).  Zones without history on either side
 * (never changed since they were created) are compared by serial.
 *
 * On DIVERGED the peer's snapshot is copied to the quarantine directory
 * before anything else, so nothing is silently dropped whatever the policy;
 * with policy merge-zones each zone is then taken from the newer side.
 */
#ifndef ENUMDR_SYNC_H
#define ENUMDR_SYNC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rowcheck.h"
#include "rfc1982.h"
#include "snapshot.h"
#include "store.h"

enum sync_outcome {
	SYNC_EQUAL,       /* same serials everywhere */
	SYNC_OWN_NEWER,   /* own data newer or equal everywhere, at least one newer */
	SYNC_PEER_NEWER,  /* peer newer only: imported (unless dry run) */
	SYNC_DIVERGED,    /* both sides newer in different zones */
	SYNC_UNDEFINED    /* some zone's comparison undefined (RFC 1982) */
};

enum sync_zone_verdict {
	ZONE_SAME,
	ZONE_OWN_NEWER,   /* includes "only we have it" */
	ZONE_PEER_NEWER,  /* includes "only the peer has it" */
	ZONE_UNDEFINED,
	ZONE_DIVERGED     /* both rooms changed this zone since they last agreed */
};

struct sync_zone {
	char origin[STORE_ORIGIN_MAX];
	int own_present, peer_present;
	uint32_t own_serial, peer_serial;
	enum sync_zone_verdict verdict;
};

/* The steps of sync_run that can fail, each with its alarm (doc/alarms.md)
 * and its name in messages, the agent's replies and the alarm lines. */
enum sync_step {
	SYNC_STEP_NONE = 0,           /* nothing failed */
	SYNC_STEP_READ_SERIALS,       /* "read peer serial file": SYNC_READ */
	SYNC_STEP_READ_SNAPSHOT,      /* "read peer snapshot": SYNC_IMPORT */
	SYNC_STEP_VALIDATE,           /* "validate peer snapshot": an invalid
	                               * row (rowcheck.h): SNAPSHOT_INVALID */
	SYNC_STEP_QUERY_OWN,          /* "query own serials": SYNC_QUERY */
	SYNC_STEP_KEEP_COPY,          /* "keep peer copy": SYNC_IMPORT */
	SYNC_STEP_IMPORT              /* "import peer snapshot": SYNC_IMPORT */
};

struct sync_report {
	enum sync_outcome outcome;
	int imported;                 /* 1 when data was imported */
	size_t nimported;             /* zones imported */
	size_t nzones;
	struct sync_zone *zones;      /* malloc'd, sorted by origin */
	char peer_room[64];
	int64_t peer_journal;
	enum sync_step step;          /* on failure: the step that failed */
	char kept_dir[PATH_MAX];      /* on DIVERGED: where the peer's copy was kept */
	char invalid_row[ROWCHECK_ROW_MAX]; /* step SYNC_STEP_VALIDATE: the
	                               * row refused (the whole snapshot is) */
	/* DIVERGED with policy merge: merged number by number */
	int merged;
	size_t merge_taken, merge_kept, merge_conflicts;
};

/* A step's name ("read peer serial file" ...), and back (SYNC_STEP_NONE
 * for a name that is none); the alarm id a failure of it raises
 * (alarm_ids.h; NULL for SYNC_STEP_NONE). */
const char *sync_step_name(enum sync_step step);
enum sync_step sync_step_from_name(const char *name);
const char *sync_step_alarm(enum sync_step step);

struct sync_opts {
	enum config_diverged_policy on_diverged;
	const char *quarantine_dir;   /* required for DIVERGED handling */
	int dry_run;                  /* compare only */
};

/* Compare own serials with the peer's serial file (no import), by serial
 * only: no zone history is known of the peer. */
int sync_compare(struct store *st, const struct serial_file *peer,
    struct sync_report *rep, char *err);

/* The same with the zone histories of the own database and of the peer's
 * snapshot database at peer_db (read-only). */
int sync_compare_history(struct store *st, const struct serial_file *peer,
    const char *peer_db, struct sync_report *rep, char *err);

/* The whole S0.2 operation against the snapshot in peer_dir.  Returns 0
 * when the operation ran to an outcome (see rep->outcome, DIVERGED and
 * UNDEFINED included) and -1 when a step failed (rep->step and err say
 * which; nothing was changed). */
int sync_run(struct store *st, const char *peer_dir,
    const struct sync_opts *opts, struct sync_report *rep, char *err);

void sync_report_free(struct sync_report *rep);
const char *sync_outcome_name(enum sync_outcome o);
const char *sync_zone_verdict_name(enum sync_zone_verdict v);

#endif
