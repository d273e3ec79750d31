/*
 * config.h — the room's one YAML configuration file (enumdr.yaml), read
 * with libyaml.  Unknown keys, wrong types and missing required keys are
 * errors naming file, line and column (libyaml's problem_mark is 0-based;
 * messages are 1-based like an editor).  conf/enumdr.yaml documents every key.
 */
#ifndef ENUMDR_CONFIG_H
#define ENUMDR_CONFIG_H

#include <limits.h>
#include <stddef.h>

#define CONFIG_NAME_MAX 64
#define CONFIG_URL_MAX  1024
#define CONFIG_MAX_PEERS 8
#define CONFIG_MAX_STEPS 8
#define CONFIG_MAX_ARGV  32

/* What the sync does when both rooms have newer zones (split brain, S0.2). */
enum config_diverged_policy {
	DIVERGED_REFUSE,      /* import nothing; keep the peer's copy aside; alarm */
	DIVERGED_MERGE_ZONES, /* take each zone from the side with the newer serial */
	DIVERGED_MERGE        /* merge number by number (snapshot_merge; the
	                       * default, issue 14): conflicts kept, CONFLICT */
};

struct config_peer {
	char name[CONFIG_NAME_MAX];          /* the peer room's name */
	char heartbeat_url[CONFIG_URL_MAX];  /* its agent's heartbeat (HTTP) */
	char transfer_url[CONFIG_URL_MAX];   /* where we push snapshots: a directory URL ending in '/' */
	char fetch_url[CONFIG_URL_MAX];      /* where we can fetch its latest snapshot ("" = none) */
	char journal_url[CONFIG_URL_MAX];    /* its change journal (issue 14);
	                                      * default: heartbeat_url with
	                                      * /v1/heartbeat -> /v1/journal */
	char switchover_url[CONFIG_URL_MAX]; /* its switchover negotiation
	                                      * (issue 15, doc/switchover.md);
	                                      * default: /v1/heartbeat ->
	                                      * /v1/switchover ("" when the
	                                      * heartbeat URL has no such end) */
};

/* How provisioning waits for the standbys (issue 14, doc/replication.md). */
enum config_repl_mode {
	REPL_OFF,             /* no journal following at all */
	REPL_ASYNC,           /* follow; acknowledge at the local commit */
	REPL_SYNC,            /* acknowledge once a standby applied it; none
	                       * in time: asynchronous, alarm REPLICATION_SYNC */
	REPL_STRICT           /* the same; none in time: 503 */
};

/* One load step (S0.6 foreground/background): an argv list, no shell. */
struct config_step {
	char name[CONFIG_NAME_MAX];
	char *argv[CONFIG_MAX_ARGV + 1];     /* NULL-terminated, malloc'd strings */
	size_t argc;
	int timeout_ms;
};

struct config {
	char path[PATH_MAX];                 /* the file this was read from */
	char room[CONFIG_NAME_MAX];          /* required: this room's name */
	char database[PATH_MAX];             /* required: SQLite database */
	char snapshot_dir[PATH_MAX];         /* required: our own exports */
	char incoming_dir[PATH_MAX];         /* required: the fixed directory peers push into (S0.1) */
	char state_dir[PATH_MAX];            /* required: alarms, checker state */

	/* alarm: */
	int alarm_facility;                  /* LOG_LOCAL3 by default */
	char alarm_ident[CONFIG_NAME_MAX];   /* "enumdr" by default */

	/* timeouts: (milliseconds) */
	int connect_timeout_ms;              /* default 2000 */
	int transfer_timeout_ms;             /* default 30000 */

	/* transfer: credentials for sftp:// (empty = libcurl defaults) */
	char ssh_private_key[PATH_MAX];
	char ssh_public_key[PATH_MAX];
	char ssh_known_hosts[PATH_MAX];

	/* sync: */
	enum config_diverged_policy on_diverged;   /* default refuse */

	/* replication: (issue 14, doc/replication.md) */
	enum config_repl_mode repl_mode;     /* default async */
	int repl_sync_timeout_ms;            /* default 2000 */
	int repl_max_lag_ms;                 /* default 5000: REPLICATION_LAG */
	int repl_poll_wait_ms;               /* default 10000: long-poll */
	int repl_batch;                      /* default 1000: changes per fetch */
	int repl_journal_keep;               /* default 1000000 rows */

	/* quorum: (issue 15, doc/witness.md) */
	int quorum_majority;                 /* mode majority (1) or off (0) */
	char witness_url[CONFIG_URL_MAX];    /* a witness's vote ("" none) */
	int quorum_stand_down_ms;            /* default 5000 */

	/* dns: (issue 16, doc/dns.md) the DNS server this room feeds
	 * incrementally; "" dns_server: the load steps run at every change */
	char dns_server[128];                /* "ADDR:PORT" of DNS UPDATE */
	char dns_tsig_key[PATH_MAX];         /* Knot's key file ("" unsigned) */
	char dns_control_socket[PATH_MAX];   /* Knot's control socket */
	char dns_zone_dir[PATH_MAX];         /* where zone files go */
	char dns_catalog[256];               /* catalog zone ("" none) */
	int dns_zonemd;                      /* ZONEMD in zone files (1) */
	int dns_timeout_ms;                  /* default 5000 */

	/* agent: (enumdrd) */
	char provisioning_listen[128];       /* "ADDR:PORT", default 127.0.0.1:8053 */
	char peer_listen[128];               /* "ADDR:PORT", default 127.0.0.1:8054 */
	char control_socket[PATH_MAX];       /* default STATE_DIR/control.sock */
	int snapshot_interval_s;             /* default 300; 0 = off */
	int header_timeout_s;                /* default 10: a request's headers */
	int body_timeout_s;                  /* default 30: its body and answer */
	int transfer_min_rate;               /* bytes/s, default 65536: a peer API
	                                      * transfer past body_timeout_s */
	int provisioning_per_address;        /* default 16: connections at once
	                                      * from one other address */
	int peer_per_address;                /* default 8: the same, peer API */

	struct config_peer peers[CONFIG_MAX_PEERS];
	size_t npeers;

	/* load: ordered steps (S0.6) */
	struct config_step steps[CONFIG_MAX_STEPS];
	size_t nsteps;
};

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
/* The configuration file when neither -c nor $ENUMDR_CONFIG names one. */
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/enumdr/enumdr.yaml"

/* The configuration file a program reads: option (its -c FILE) when
 * given, else $ENUMDR_CONFIG when set and not empty, else
 * CONFIG_DEFAULT_PATH.  One rule for every program. */
const char *config_path(const char *option);
const char *config_repl_mode_name(enum config_repl_mode m);

/* Read and validate path into cfg (zeroed first; defaults applied).
 * On error err names "FILE:LINE:COLUMN: problem". */
int config_load(const char *path, struct config *cfg, char *err);

/* Same, from a string; name is used in messages in place of a file. */
int config_load_string(const char *name, const char *yaml, size_t len,
    struct config *cfg, char *err);

/* Free what config_load allocated (step argv strings). */
void config_free(struct config *cfg);

#endif
