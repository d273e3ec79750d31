/*
 * enumdrd.c — the room agent: the seed's provisioning module and
 * communication agent (S0.5), the only writer of the room's database, the
 * room's voice to its peers (S0.3, S0.4, S0.7), and the periodic snapshot
 * job (S0.1, S1.2).  See agent.h for the threads and locks, doc/enumdrd.md
 * for the operator's view.
 *
 *   enumdrd [-dnv] [-c CONFIG]
 *
 * A foreground daemon for systemd (Type=simple).  The provisioning
 * listener starts closed, whatever it was before a restart (S0.5); the
 * notify program opens it through the control socket.  Signals are taken
 * by the main thread with sigtimedwait (blocked everywhere, no handlers):
 * SIGTERM/SIGINT stop (in-flight transactions finish, nothing is torn),
 * SIGHUP re-reads the configuration and applies what needs no rebind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "exitcodes.h"
#include "log.h"
#include "transfer.h"
#include "util.h"


#define STOP_WAIT_MS 5000	/* for a push that sits in a transfer */
#define DRAIN_MS     3000	/* for provisioning answers at SIGTERM */

static int foreground;

static void
usage(FILE *out)
{
	fprintf(out,
"usage: enumdrd [-dnv] [-c CONFIG]\n"
"\n"
"  -c CONFIG   configuration (default $ENUMDR_CONFIG or %s)\n"
"  -d          stay attached: log to stderr instead of syslog\n"
"  -n          check the configuration and exit\n"
"  -v          verbose (debug messages)\n"
"\n"
"The room agent of enumdr: provisioning listener (agent.provisioning_listen,\n"
"closed until `enumdr agent open`), peer API (agent.peer_listen), control\n"
"socket (agent.control_socket), periodic snapshots (agent.snapshot_interval_s).\n"
"Exit codes: 0 stopped by SIGTERM/SIGINT, 64 usage, 69 cannot listen,\n"
"74 database error, 78 configuration error.\n",
	    CONFIG_DEFAULT_PATH);
}

/* ---- configuration ---------------------------------------------------- */

/* What SIGHUP does not apply (a rebind or a restart needs it): logged. */
static void
log_not_applied(const struct config *running, const struct config *nc)
{
	static const struct {
		const char *key;
		size_t off;
	} fixed[] = {
		{ "room", offsetof(struct config, room) },
		{ "database", offsetof(struct config, database) },
		{ "snapshot_dir", offsetof(struct config, snapshot_dir) },
		{ "incoming_dir", offsetof(struct config, incoming_dir) },
		{ "state_dir", offsetof(struct config, state_dir) },
		{ "agent.provisioning_listen",
		  offsetof(struct config, provisioning_listen) },
		{ "agent.peer_listen", offsetof(struct config, peer_listen) },
		{ "agent.control_socket",
		  offsetof(struct config, control_socket) },
	};
	/* the HTTP daemons' limits are set when they start */
	static const struct {
		const char *key;
		size_t off;
	} fixed_int[] = {
		{ "agent.header_timeout_s",
		  offsetof(struct config, header_timeout_s) },
		{ "agent.body_timeout_s",
		  offsetof(struct config, body_timeout_s) },
		{ "agent.transfer_min_bytes_per_s",
		  offsetof(struct config, transfer_min_rate) },
		{ "agent.provisioning_connections_per_address",
		  offsetof(struct config, provisioning_per_address) },
		{ "agent.peer_connections_per_address",
		  offsetof(struct config, peer_per_address) },
	};
	const char *was, *now;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		was = (const char *)running + fixed[i].off;
		now = (const char *)nc + fixed[i].off;
		if (strcmp(was, now) != 0)
			log_warnx("reload: %s changed from \"%s\" to \"%s\":"
			    " not applied, restart enumdrd for it", fixed[i].key,
			    was, now);
	}
	for (i = 0; i < sizeof(fixed_int) / sizeof(fixed_int[0]); i++) {
		int iwas = *(const int *)((const char *)running +
		    fixed_int[i].off);
		int inow = *(const int *)((const char *)nc + fixed_int[i].off);

		if (iwas != inow)
			log_warnx("reload: %s changed from %d to %d: not"
			    " applied, restart enumdrd for it",
			    fixed_int[i].key, iwas, inow);
	}
}

/* Take what SIGHUP applies from nc into the running configuration (under
 * cfg_lock); nc gets the old load steps, for config_free. */
static void
apply_reload(struct agent *ag, struct config *nc)
{
	struct config_step steps[CONFIG_MAX_STEPS];
	size_t nsteps;

	pthread_mutex_lock(&ag->cfg_lock);
	ag->cfg.alarm_facility = nc->alarm_facility;
	strlcpy_(ag->cfg.alarm_ident, nc->alarm_ident,
	    sizeof(ag->cfg.alarm_ident));
	ag->cfg.connect_timeout_ms = nc->connect_timeout_ms;
	ag->cfg.transfer_timeout_ms = nc->transfer_timeout_ms;
	strlcpy_(ag->cfg.ssh_private_key, nc->ssh_private_key,
	    sizeof(ag->cfg.ssh_private_key));
	strlcpy_(ag->cfg.ssh_public_key, nc->ssh_public_key,
	    sizeof(ag->cfg.ssh_public_key));
	strlcpy_(ag->cfg.ssh_known_hosts, nc->ssh_known_hosts,
	    sizeof(ag->cfg.ssh_known_hosts));
	ag->cfg.on_diverged = nc->on_diverged;
	ag->cfg.snapshot_interval_s = nc->snapshot_interval_s;
	memcpy(ag->cfg.peers, nc->peers, sizeof(ag->cfg.peers));
	ag->cfg.npeers = nc->npeers;
	/* The load steps are not the agent's; swap them so that config_free
	 * releases the old ones. */
	memcpy(steps, ag->cfg.steps, sizeof(steps));
	nsteps = ag->cfg.nsteps;
	memcpy(ag->cfg.steps, nc->steps, sizeof(steps));
	ag->cfg.nsteps = nc->nsteps;
	memcpy(nc->steps, steps, sizeof(steps));
	nc->nsteps = nsteps;
	alarm_ctx_init(&ag->alarms, ag->cfg.room, "-", ag->cfg.alarm_ident,
	    ag->cfg.alarm_facility, ag->cfg.state_dir);
	pthread_mutex_unlock(&ag->cfg_lock);
}

/* SIGHUP: apply what can change without rebinding; log the rest. */
static void
reload(struct agent *ag, const char *path)
{
	struct config *nc;
	char err[ENUMDR_ERRLEN];

	if ((nc = calloc(1, sizeof(*nc))) == NULL) {
		log_warnx("reload: out of memory");
		return;
	}
	if (config_load(path, nc, err) == -1) {
		log_warnx("reload: %s; keeping the running configuration", err);
		free(nc);
		return;
	}
	log_not_applied(&ag->cfg, nc);
	apply_reload(ag, nc);
	config_free(nc);
	free(nc);
	pub_set_peers(&ag->pub, &ag->cfg);
	snapjob_wake(ag);
	peerwatch_wake(ag);
	log_info("reloaded %s: %zu peer%s, snapshot every %d s, timeouts"
	    " connect %d ms transfer %d ms", path, ag->cfg.npeers,
	    ag->cfg.npeers == 1 ? "" : "s", ag->cfg.snapshot_interval_s,
	    ag->cfg.connect_timeout_ms, ag->cfg.transfer_timeout_ms);
}

/* ---- start and stop ------------------------------------------------- */

/* The latest snapshot in snapshot_dir, for the heartbeat. */
static void
load_snapshot_info(struct agent *ag)
{
	struct serial_file sf;
	char path[PATH_MAX], err[ENUMDR_ERRLEN];

	memset(&sf, 0, sizeof(sf));
	if (util_path_join(path, sizeof(path), ag->cfg.snapshot_dir,
	    SNAPSHOT_SERIALS_NAME, err) == -1 ||
	    serial_file_read(path, &sf, err) == -1) {
		log_debug("no snapshot yet: %s", err);
		return;
	}
	pub_set_snapshot(&ag->pub, &sf);
	serial_file_free(&sf);
}

static int
open_stores(struct agent *ag)
{
	char err[ENUMDR_ERRLEN];
	const char *dirs[] = { ag->cfg.snapshot_dir, ag->cfg.incoming_dir,
	    ag->cfg.state_dir };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (util_mkdir_p(dirs[i], 0750, err) == -1) {
			log_warnx("%s", err);
			return EXIT_IOERR;
		}
	}
	if (access(ag->cfg.database, F_OK) == -1) {
		log_warnx("database %s does not exist: create it with"
		    " `enumdr init` first", ag->cfg.database);
		return EXIT_IOERR;
	}
	if (store_open(ag->cfg.database, 0, &ag->writer, err) != STORE_OK ||
	    store_open(ag->cfg.database, STORE_READONLY, &ag->reader, err) !=
	    STORE_OK) {
		log_warnx("%s", err);
		return EXIT_IOERR;
	}
	/* Every change this room makes carries its name (issue 14). */
	store_set_room(ag->writer, ag->cfg.room);
	return EXIT_OK;
}

/* Stop everything that runs; returns 0 when every thread ended. */
static int
stop_all(struct agent *ag)
{
	MHD_socket s;
	int64_t deadline;
	int clean = 1;

	/* Stop accepting, refuse what has not reached the store yet, and let
	 * what is inside store_apply commit and send its answer. */
	if (ag->prov_daemon != NULL &&
	    (s = MHD_quiesce_daemon(ag->prov_daemon)) != MHD_INVALID_SOCKET)
		close(s);
	ag->stopping = 1;
	repl_wake(ag);		/* the long-polls of our journal answer now */
	deadline = util_now_ms() + DRAIN_MS;
	while (atomic_load(&ag->prov_inflight) > 0 &&
	    util_now_ms() < deadline)
		usleep(10000);
	if (atomic_load(&ag->prov_inflight) > 0)
		log_warnx("%d provisioning request%s still open after %d ms;"
		    " closing %s", atomic_load(&ag->prov_inflight),
		    atomic_load(&ag->prov_inflight) == 1 ? "" : "s", DRAIN_MS,
		    atomic_load(&ag->prov_inflight) == 1 ? "it" : "them");
	/* MHD joins its connection threads: a request still inside
	 * store_apply finishes its transaction first. */
	if (ag->prov_daemon != NULL)
		MHD_stop_daemon(ag->prov_daemon);
	if (ag->peer_daemon != NULL)
		MHD_stop_daemon(ag->peer_daemon);
	ag->prov_daemon = ag->peer_daemon = NULL;
	/* The followers' polls end within a second of stopping. */
	replica_stop(ag);
	control_server_stop(ag);
	if (snapjob_stop(ag, STOP_WAIT_MS) == -1) {
		log_warnx("the snapshot job is still inside a transfer;"
		    " not waiting for it");
		clean = 0;
	}
	if (dnsjob_stop(ag, STOP_WAIT_MS) == -1) {
		log_warnx("the DNS update job is still inside a load step;"
		    " not waiting for it");
		clean = 0;
	}
	if (quorum_stop(ag, STOP_WAIT_MS) == -1) {
		log_warnx("the quorum job is still inside a request; not"
		    " waiting for it");
		clean = 0;
	}
	if (peerwatch_stop(ag, STOP_WAIT_MS) == -1) {
		log_warnx("the peer watch is still inside a heartbeat"
		    " request; not waiting for it");
		clean = 0;
	}
	/* The reader first: the last connection to close checkpoints the
	 * WAL into the database file, and that must be the writer's. */
	pthread_mutex_lock(&ag->reader_lock);
	store_close(ag->reader);
	ag->reader = NULL;
	pthread_mutex_unlock(&ag->reader_lock);
	pthread_mutex_lock(&ag->writer_lock);
	store_close(ag->writer);
	ag->writer = NULL;
	pthread_mutex_unlock(&ag->writer_lock);
	return clean ? 0 : -1;
}

static void
remove_stale_temps(struct agent *ag)
{
	char err[ENUMDR_ERRLEN], fetched[PATH_MAX], alarms[PATH_MAX];
	const char *dirs[] = { ag->cfg.incoming_dir, ag->cfg.snapshot_dir,
	    fetched, alarms };
	size_t i, n;

	if (util_path_join(fetched, sizeof(fetched), ag->cfg.state_dir,
	    "fetched", err) == -1 ||
	    util_path_join(alarms, sizeof(alarms), ag->cfg.state_dir,
	    "alarms", err) == -1) {
		log_warnx("%s", err);
		return;
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (util_remove_stale_temps(dirs[i], i == 0, &n, err) == -1)
			log_warnx("%s", err);
		else if (n > 0)
			log_info("%s: removed %zu temporary files left by a"
			    " crash", dirs[i], n);
	}
}

/* Does this room feed its DNS server after a commit?  The active room
 * (listener open), and a standby that follows its peers (hot standby,
 * S1.5, issue 14): when it takes over, its DNS server already serves
 * what replication brought.  Not during a takeover's own load. */
static int
dns_feed(struct agent *ag)
{
	char role[AGENT_ROLE_MAX];

	if (provision_listener_open(ag))
		return 1;
	if (ag->cfg.repl_mode == REPL_OFF)
		return 0;
	pthread_mutex_lock(&ag->pub.lock);
	strlcpy_(role, ag->pub.role, sizeof(role));
	pthread_mutex_unlock(&ag->pub.lock);
	return strcmp(role, "BACKUP") == 0;
}

/* Keep the newest replication.journal_keep journal rows (every 5 s; a
 * no-op while the journal is within the bound):
 * a follower further behind heals from a snapshot (doc/replication.md). */
static void
journal_trim(struct agent *ag)
{
	char err[ENUMDR_ERRLEN];
	int64_t removed = 0;
	enum store_status s = STORE_OK;

	pthread_mutex_lock(&ag->writer_lock);
	if (ag->writer != NULL)
		s = store_journal_trim(ag->writer, ag->cfg.repl_journal_keep,
		    &removed, err);
	pthread_mutex_unlock(&ag->writer_lock);
	if (s != STORE_OK)
		log_warnx("journal trim: %s", err);
	else if (removed > 0)
		log_info("journal: %lld old rows removed (replication."
		    "journal_keep %d)", (long long)removed,
		    ag->cfg.repl_journal_keep);
}

static int
start_all(struct agent *ag)
{
	char err[ENUMDR_ERRLEN];

	if (control_server_start(ag, err) == -1) {
		log_warnx("%s", err);
		return EXIT_UNAVAILABLE;
	}
	/* The only agent of this room now runs (it holds the control
	 * socket): what a crash of an earlier run, or of a program it ran,
	 * left half-written is removed, uploads' part files included. */
	remove_stale_temps(ag);
	if ((ag->peer_daemon = peerapi_start(ag, ag->cfg.peer_listen,
	    err)) == NULL ||
	    (ag->prov_daemon = provision_start(ag, ag->cfg.provisioning_listen,
	    err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_UNAVAILABLE;
	}
	if (snapjob_start(ag, err) == -1 || peerwatch_start(ag, err) == -1 ||
	    quorum_start(ag, err) == -1 ||
	    dnsjob_start(ag, dns_feed, err) == -1 ||
	    replica_start(ag, err) == -1) {
		log_warnx("%s", err);
		return EXIT_SOFTWARE;
	}
	/* Conflicts a previous run left open keep their alarm raised. */
	repl_conflicts_alarm(ag);
	/* A stand-down a killed switchover left behind ends now. */
	if (agent_standdown_set(ag, 0, err) == -1)
		log_warnx("%s", err);
	return EXIT_OK;
}

static void
main_loop(struct agent *ag, const char *config)
{
	struct timespec tick = { 1, 0 };
	sigset_t set;
	int sig, ticks = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == -1) {
			if (errno != EAGAIN)
				continue;
			/* Once a second: the storage probe and the alarm
			 * count.  The zones and the journal are not re-read:
			 * the agent is the only writer, its commits and
			 * imports publish their own figures. */
			agent_storage_tick(ag);
			agent_standdown_tick(ag);
			agent_refresh_alarms(ag);
			if (++ticks % 5 == 0)
				journal_trim(ag);
			continue;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading %s", config);
			reload(ag, config);
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

/* The options: -1 to go on, or the exit code (-h, -V, a usage error). */
static int
parse_options(int argc, char **argv, const char **config, int *check,
    int *verbose)
{
	int ch;

	while ((ch = getopt(argc, argv, "c:dhnvV")) != -1) {
		switch (ch) {
		case 'c':
			*config = optarg;
			break;
		case 'd':
			foreground = 1;
			agent_alarm_foreground(1);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'n':
			*check = 1;
			break;
		case 'v':
			*verbose = 1;
			break;
		case 'V':
			printf("enumdrd %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* A daemon's log and output: syslog unless -d, and stdout to /dev/null. */
static void
daemon_output(void)
{
	int fd;

	if (!foreground)
		log_init("enumdrd", 0, LOG_DAEMON);
	/* A daemon has no stdout: nothing a library prints there (libcurl
	 * writes an upload's response body to stdout by default) may end up
	 * in a journal or a test's output. */
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) != -1) {
		fflush(stdout);
		if (dup2(fd, STDOUT_FILENO) == -1)
			log_warn("stdout to /dev/null");
		close(fd);
	}
}

/* The signal mask, the locks (the jobs' too) and the published state:
 * before any thread starts. */
static void
agent_setup(struct agent *ag)
{
	sigset_t set;

	/* Every thread inherits this mask; only sigtimedwait takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_init(&ag->cfg_lock, NULL);
	pthread_mutex_init(&ag->writer_lock, NULL);
	pthread_mutex_init(&ag->snapfiles_lock, NULL);
	pthread_mutex_init(&ag->reader_lock, NULL);
	pthread_mutex_init(&ag->snap_lock, NULL);
	job_init(&ag->snap_job);
	job_init(&ag->watch_job);
	job_init(&ag->quorum_job);
	job_init(&ag->dns_job);
	ag->ctl_fd = ag->ctl_wake[0] = ag->ctl_wake[1] = -1;
	alarm_ctx_init(&ag->alarms, ag->cfg.room, "-", ag->cfg.alarm_ident,
	    ag->cfg.alarm_facility, ag->cfg.state_dir);
	alarm_set_sender(agent_alarm_sender);
	pub_init(&ag->pub);
	pub_set_peers(&ag->pub, &ag->cfg);
	repl_init(ag);
	agent_storage_init(ag);
}

/* Open the database, start everything, serve until SIGTERM or SIGINT and
 * stop: the exit code. */
static int
serve(struct agent *ag, const char *config)
{
	char err[ENUMDR_ERRLEN];
	int rc;

	if ((rc = open_stores(ag)) != EXIT_OK)
		goto done;
	if (agent_refresh(ag, err) == -1) {
		log_warnx("%s", err);
		rc = EXIT_IOERR;
		goto done;
	}
	load_snapshot_info(ag);
	agent_refresh_alarms(ag);
	if ((rc = start_all(ag)) != EXIT_OK)
		goto done;
	log_info("room %s: agent started (pid %ld); provisioning %s closed"
	    " until told, peer API %s, control %s, snapshot every %d s, %zu"
	    " peer%s", ag->cfg.room, (long)getpid(),
	    ag->cfg.provisioning_listen, ag->cfg.peer_listen,
	    ag->cfg.control_socket, ag->cfg.snapshot_interval_s,
	    ag->cfg.npeers, ag->cfg.npeers == 1 ? "" : "s");
	main_loop(ag, config);
	rc = EXIT_OK;
done:
	if (stop_all(ag) == -1) {
		/* A thread still runs a transfer: no library teardown under
		 * its feet.  The database is closed; nothing is torn. */
		log_info("room %s: agent stopped", ag->cfg.room);
		fflush(NULL);
		_exit(rc);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *config = config_path(NULL);
	char err[ENUMDR_ERRLEN];
	struct agent *ag;
	int check = 0, verbose = 0, rc;

	if ((rc = parse_options(argc, argv, &config, &check, &verbose)) != -1)
		return rc;
	log_init("enumdrd", 1, LOG_DAEMON);
	log_set_verbose(verbose);
	if ((ag = calloc(1, sizeof(*ag))) == NULL)
		fatalx("out of memory");
	if (config_load(config, &ag->cfg, err) == -1) {
		log_warnx("%s", err);
		free(ag);
		return EXIT_CONFIG;
	}
	if (check) {
		printf("configuration OK: %s (room %s, provisioning %s, peer"
		    " API %s, control %s, %zu peers)\n", config, ag->cfg.room,
		    ag->cfg.provisioning_listen, ag->cfg.peer_listen,
		    ag->cfg.control_socket, ag->cfg.npeers);
		config_free(&ag->cfg);
		free(ag);
		return EXIT_OK;
	}
	daemon_output();
	agent_setup(ag);
	if (transfer_global_init(err) == -1) {
		log_warnx("%s", err);
		return EXIT_SOFTWARE;
	}
	rc = serve(ag, config);
	transfer_global_cleanup();
	pub_free(&ag->pub);
	log_info("room %s: agent stopped", ag->cfg.room);
	config_free(&ag->cfg);
	free(ag);
	return rc;
}
