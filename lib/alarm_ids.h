/*
 * alarm_ids.h — every alarm id enumdr raises, in one place (the table in
 * doc/alarms.md says what raises and what clears each one, with its seed
 * tag).  Programs name an alarm by these constants, never by a literal.
 */
#ifndef ENUMDR_ALARM_IDS_H
#define ENUMDR_ALARM_IDS_H

#define ALARM_AGENT            "AGENT"            /* S0.5, S0.7 */
#define ALARM_CONFLICT         "CONFLICT"         /* S0.8 (issue 14) */
#define ALARM_DNS_UPDATE       "DNS_UPDATE"       /* S0.6 */
#define ALARM_JOURNAL_POSITION "JOURNAL_POSITION" /* S0.7 */
#define ALARM_ISOLATED         "ISOLATED"         /* issue 15 (quorum) */
#define ALARM_LOAD_STEP        "LOAD_STEP"        /* S0.6 */
#define ALARM_PEER_DOWN        "PEER_DOWN"        /* S0.3, S0.4, S4.4 */
#define ALARM_PEER_PROTOCOL    "PEER_PROTOCOL"    /* S0.7 */
#define ALARM_REPLICATION_GAP  "REPLICATION_GAP"  /* S1.2, S1.3 (issue 14) */
#define ALARM_REPLICATION_LAG  "REPLICATION_LAG"  /* S1.3, S3.1 (issue 14) */
#define ALARM_REPLICATION_SYNC "REPLICATION_SYNC" /* S0.8 (issue 14) */
#define ALARM_SNAPSHOT_EXPORT  "SNAPSHOT_EXPORT"  /* S0.1, S0.7 */
#define ALARM_SNAPSHOT_INVALID "SNAPSHOT_INVALID" /* S0.2 step 4 */
#define ALARM_SNAPSHOT_PUSH    "SNAPSHOT_PUSH"    /* S0.1, S0.7 */
#define ALARM_STORAGE_FULL     "STORAGE_FULL"     /* S0.5, S0.6 */
#define ALARM_STORAGE_IO       "STORAGE_IO"       /* S0.5, S0.6 */
#define ALARM_SWITCHOVER_FAILED "SWITCHOVER_FAILED" /* S3.2 (issue 15) */
#define ALARM_SYNC_DIVERGED    "SYNC_DIVERGED"    /* S0.2 */
#define ALARM_SYNC_IMPORT      "SYNC_IMPORT"      /* S0.2 step 4 */
#define ALARM_SYNC_QUERY       "SYNC_QUERY"       /* S0.2 step 2 */
#define ALARM_SYNC_READ        "SYNC_READ"        /* S0.2 step 1 */
#define ALARM_SYNC_UNDEFINED   "SYNC_UNDEFINED"   /* S0.2 */
#define ALARM_TRANSFER         "TRANSFER"         /* S0.1 */

#endif
