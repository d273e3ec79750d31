/*
 * check-peer.c — enumdr-check-peer: is the peer room's agent alive?
 *
 * One HTTP heartbeat per run to the peer's heartbeat_url (S0.3).  A
 * response counts when it is HTTP 200 with a heartbeat of the peer
 * protocol (lib/peerproto.c, strict: every member present and valid)
 * naming the peer's room; anything else is a miss.  The peer is declared down
 * (exit 1) after N consecutive misses (S0.3, --misses, default 3) or after
 * M failures within a window of T seconds (S4.4, --failures/--window,
 * default 3 in 10 s; the count restarts with each window), so one lost
 * probe never moves anything.  A response declares it alive again at once
 * (S0.4: the peer has recovered).
 *
 * keepalived starts the checker afresh every interval, so the counts live
 * in a small state file, STATE_DIR/checker-peer-NAME.state, replaced
 * atomically each run.  A corrupt or unreadable state file is reported on
 * stderr and the counts start fresh; it never stops the check.
 *
 * Exit codes (lib/exitcodes.h): 0 peer alive, 1 peer down, 64 usage,
 * 78 configuration error.  doc/checkers.md is the operator's manual.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "alarm.h"
#include "alarm_ids.h"
#include "checker.h"
#include "config.h"
#include "exitcodes.h"
#include "log.h"
#include "peerproto.h"
#include "transfer.h"
#include "util.h"

#define PROGNAME        "enumdr-check-peer"
#define STATE_MAGIC     "enumdr-check-peer-state 1"
#define STATE_MAX       4096            /* a state file is a few lines */
#define MISSES_DEFAULT  3               /* S0.3: n consecutive misses */
#define FAILURES_DEFAULT 3              /* S4.4: M failures ... */
#define WINDOW_DEFAULT  10              /* ... within T seconds */
#define COUNT_MAX       1000000L
#define WINDOW_MAX      86400L
#define STAMP_MAX       (1LL << 62)     /* sane bound for stored times */

struct peer_opts {
	const char *peer;             /* --peer, NULL = the first peer */
	long misses;                  /* N */
	long failures;                /* M */
	long window_s;                /* T */
	long timeout_ms;
};

/* What carries over from one run to the next. */
struct peer_state {
	long long misses;             /* consecutive misses so far */
	long long window_start;       /* epoch s when the window began; 0 none */
	long long failures;           /* misses within the current window */
	long long last_success;       /* epoch s of the last response; 0 never */
	long long last_probe;         /* epoch s of the last run; 0 never */
};

/* The state file's count lines, each exactly once. */
static const char *const state_keys[] = {
	"misses", "window_start", "failures", "last_success", "last_probe"
};
#define NKEYS (sizeof(state_keys) / sizeof(state_keys[0]))

/* The member of st that state_keys[i] names. */
static long long *
state_field(struct peer_state *st, size_t i)
{
	switch (i) {
	case 0:
		return &st->misses;
	case 1:
		return &st->window_start;
	case 2:
		return &st->failures;
	case 3:
		return &st->last_success;
	default:
		return &st->last_probe;
	}
}

static void
usage(FILE *out)
{
	fprintf(out,
"usage: " PROGNAME " [-c CONFIG] [--peer NAME] [--misses N]\n"
"                         [--failures M --window T] [--timeout MS]\n"
"\n"
"Send one heartbeat to the peer room's agent.  Exit 0 while the peer is\n"
"considered alive, 1 once it is considered down: after N consecutive\n"
"misses (S0.3) or M failures within T seconds (S4.4).  One response makes\n"
"it alive again (S0.4).  The counts live in\n"
"STATE_DIR/checker-peer-NAME.state.\n"
"\n"
"  -c, --config FILE   configuration (default $ENUMDR_CONFIG or %s)\n"
"      --peer NAME     the peer (a peers[].name; default the first peer)\n"
"      --misses N      consecutive misses that make it down (default %d)\n"
"      --failures M    failures within the window that make it down\n"
"                      (default %d)\n"
"      --window T      the window, seconds (default %d)\n"
"      --timeout MS    the heartbeat's time limit (default %d, 1..%d)\n"
"  -h, --help          this text\n"
"  -V, --version       version\n"
"\n"
"Exit codes: 0 peer alive, 1 peer down, 64 usage, 78 configuration error.\n",
	    CHECKER_DEFAULT_CONFIG, MISSES_DEFAULT, FAILURES_DEFAULT,
	    WINDOW_DEFAULT, CHECKER_TIMEOUT_MS, CHECKER_TIMEOUT_MAX_MS);
}

#define usage_error(...) checker_usage_error(PROGNAME, __VA_ARGS__)

/* Parse a state file's text for peer into st: 0, or -1 with the problem
 * (and its line) in err.  text is modified. */
static int
state_parse(char *text, const char *peer, struct peer_state *st, char *err)
{
	unsigned seen = 0;
	char *line, *save = NULL, *val, *end;
	long long v;
	int lineno = 0;
	size_t i;

	memset(st, 0, sizeof(*st));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, STATE_MAGIC) != 0) {
				errf(err, "line 1 is not \"" STATE_MAGIC "\"");
				return -1;
			}
			continue;
		}
		if ((val = strchr(line, ' ')) == NULL) {
			errf(err, "line %d has no value", lineno);
			return -1;
		}
		*val++ = '\0';
		if (strcmp(line, "peer") == 0) {
			if (strcmp(val, peer) != 0) {
				errf(err, "line %d: kept for peer \"%s\", not"
				    " \"%s\"", lineno, val, peer);
				return -1;
			}
			continue;
		}
		for (i = 0; i < NKEYS; i++)
			if (strcmp(line, state_keys[i]) == 0)
				break;
		if (i == NKEYS) {
			errf(err, "line %d: unknown key \"%s\"", lineno, line);
			return -1;
		}
		if (seen & (1u << i)) {
			errf(err, "line %d: \"%s\" twice", lineno, line);
			return -1;
		}
		errno = 0;
		v = strtoll(val, &end, 10);
		if (*val < '0' || *val > '9' || *end != '\0' || errno != 0 ||
		    v > STAMP_MAX) {
			errf(err, "line %d: \"%s\" is not a count", lineno, val);
			return -1;
		}
		*state_field(st, i) = v;
		seen |= 1u << i;
	}
	if (lineno == 0) {
		errf(err, "empty");
		return -1;
	}
	for (i = 0; i < NKEYS; i++)
		if (!(seen & (1u << i))) {
			errf(err, "\"%s\" missing", state_keys[i]);
			return -1;
		}
	return 0;
}

/* Load the state of peer from path.  A missing file is a first run; an
 * unreadable or corrupt one is said on stderr and starts fresh. */
static void
state_load(const char *path, const char *peer, struct peer_state *st)
{
	char err[ENUMDR_ERRLEN], perr[ENUMDR_ERRLEN];
	struct stat sb;
	char *text = NULL;
	size_t len;

	memset(st, 0, sizeof(*st));
	if (stat(path, &sb) == -1 && errno == ENOENT)
		return;
	if (util_read_file(path, STATE_MAX, &text, &len, err) == -1) {
		log_warnx("cannot read state (%s): starting fresh", err);
		return;
	}
	if (strlen(text) != len || state_parse(text, peer, st, perr) == -1) {
		log_warnx("state file %s is corrupt (%s): starting fresh",
		    path, strlen(text) != len ? "a NUL byte" : perr);
		memset(st, 0, sizeof(*st));
	}
	free(text);
}

/* Replace the state file atomically; -1 with err. */
static int
state_save(const char *state_dir, const char *path, const char *peer,
    const struct peer_state *st, char *err)
{
	char buf[STATE_MAX];
	int n;

	n = snprintf(buf, sizeof(buf), STATE_MAGIC "\npeer %s\n"
	    "misses %lld\nwindow_start %lld\nfailures %lld\n"
	    "last_success %lld\nlast_probe %lld\n", peer, st->misses,
	    st->window_start, st->failures, st->last_success, st->last_probe);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errf(err, "state for %s too long", peer);
		return -1;
	}
	if (util_mkdir_p(state_dir, 0750, err) == -1)
		return -1;
	return util_write_file_atomic(path, buf, (size_t)n, 0640, err);
}

/* One heartbeat (the peer protocol's client, lib/peerproto.c): 0 when the
 * peer answered as itself, -1 with why — no answer, or an answer that is
 * not a heartbeat of this protocol (the member named), or another room. */
static int
probe(const struct config *cfg, const struct config_peer *peer,
    long timeout_ms, char *why)
{
	struct peerproto_heartbeat hb;
	char err[ENUMDR_ERRLEN], shown[CONFIG_URL_MAX];
	int ret = -1;

	transfer_url_show(peer->heartbeat_url, shown, sizeof(shown));
	if (transfer_global_init(err) == -1) {
		errf(why, "%s", err);
		return -1;
	}
	if (peerproto_heartbeat_get(peer->heartbeat_url,
	    cfg->connect_timeout_ms, timeout_ms, &hb, NULL, err) !=
	    PEERPROTO_OK)
		errf(why, "%s", err);
	else if (strcmp(hb.room, peer->name) != 0)
		errf(why, "%s answers for room \"%s\", not \"%s\"", shown,
		    hb.room, peer->name);
	else
		ret = 0;
	peerproto_heartbeat_free(&hb);
	transfer_global_cleanup();
	return ret;
}

/* Count this run into st and decide: 1 when the peer is down.  answered:
 * the probe got a response; why: what the miss was.  Says on stderr what
 * a miss did to the counts. */
static int
verdict(struct peer_state *st, const struct peer_opts *o, const char *peer,
    int answered, const char *why, long long now)
{
	/* S4.4: the failure count restarts with every window (and after a
	 * clock step backwards). */
	if (st->window_start == 0 || now < st->window_start ||
	    now - st->window_start >= o->window_s) {
		st->window_start = now;
		st->failures = 0;
	}
	st->last_probe = now;
	if (answered) {
		st->misses = 0;		/* S0.4: it answered: alive */
		st->last_success = now;
		return 0;
	}
	if (st->misses < COUNT_MAX)
		st->misses++;
	if (st->failures < COUNT_MAX)
		st->failures++;
	if (st->misses >= o->misses) {		/* S0.3 */
		log_warnx("peer %s down: %lld consecutive misses (limit %ld):"
		    " %s", peer, st->misses, o->misses, why);
		return 1;
	}
	if (st->failures >= o->failures) {	/* S4.4 */
		log_warnx("peer %s down: %lld failures within %ld s (limit"
		    " %ld): %s", peer, st->failures, o->window_s, o->failures,
		    why);
		return 1;
	}
	log_warnx("peer %s: miss %lld of %ld consecutive, %lld of %ld in %ld s,"
	    " still alive: %s", peer, st->misses, o->misses, st->failures,
	    o->failures, o->window_s, why);
	return 0;
}

/* Is alarm id active in ctx's room? */
static int
alarm_active(const struct alarm_ctx *ctx, const char *id)
{
	struct alarm_active *list = NULL;
	char err[ENUMDR_ERRLEN];
	size_t n = 0, i;
	int found = 0;

	if (alarm_list(ctx, &list, &n, err) == -1)
		return 0;
	for (i = 0; i < n && !found; i++)
		found = strcmp(list[i].id, id) == 0;
	free(list);
	return found;
}

/*
 * PEER_DOWN (doc/alarms.md; S0.3, S0.4, S4.4): raised once when this run
 * declares the peer down (not again every interval while it stays down:
 * keepalived runs the checker every second), cleared when it answers.
 */
static void
peer_alarm(const struct config *cfg, const char *peer,
    const struct peer_state *st, int down, int answered, const char *why)
{
	struct alarm_ctx ctx;
	char err[ENUMDR_ERRLEN], misses[32], failures[32], what[256];
	const char *fig[] = { "peer", peer, "misses", misses, "failures",
	    failures, "error", why, NULL };
	const char *cfig[] = { "peer", peer, NULL };

	alarm_ctx_init(&ctx, cfg->room, "-", cfg->alarm_ident,
	    cfg->alarm_facility, cfg->state_dir);
	if (down && !alarm_active(&ctx, ALARM_PEER_DOWN)) {
		snprintf(misses, sizeof(misses), "%lld", st->misses);
		snprintf(failures, sizeof(failures), "%lld", st->failures);
		snprintf(what, sizeof(what), "peer %s missed its heartbeats:"
		    " declared down", peer);
		if (alarm_raise(&ctx, ALARM_PEER_DOWN, ALARM_MAJOR, what, fig,
		    err) == -1)
			log_warnx("alarm %s: %s", ALARM_PEER_DOWN, err);
	} else if (answered) {
		snprintf(what, sizeof(what), "peer %s answers its heartbeat"
		    " again", peer);
		if (alarm_clear(&ctx, ALARM_PEER_DOWN, what, cfig, err) == -1)
			log_warnx("alarm %s: %s", ALARM_PEER_DOWN, err);
	}
}

/* The options into o and cli; CHECKER_OPT_NEXT to go on, else the exit
 * code. */
static int
parse_options(int argc, char *argv[], struct peer_opts *o,
    struct checker_cli *cli)
{
	static const struct option longopts[] = {
		{ "peer", required_argument, NULL, 'p' },
		{ "misses", required_argument, NULL, 'n' },
		{ "failures", required_argument, NULL, 'm' },
		{ "window", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		CHECKER_LONGOPTS_COMMON
	};
	const char *what = NULL;
	long *target;
	long max;
	int ch, rc;

	memset(o, 0, sizeof(*o));
	o->misses = MISSES_DEFAULT;
	o->failures = FAILURES_DEFAULT;
	o->window_s = WINDOW_DEFAULT;
	o->timeout_ms = CHECKER_TIMEOUT_MS;
	checker_options_begin(cli);
	while ((ch = getopt_long(argc, argv, CHECKER_OPTSTRING, longopts,
	    NULL)) != -1) {
		target = NULL;
		max = COUNT_MAX;
		switch (ch) {
		case 'p':
			o->peer = optarg;
			break;
		case 'n':
			target = &o->misses;
			what = "--misses";
			break;
		case 'm':
			target = &o->failures;
			what = "--failures";
			break;
		case 'w':
			target = &o->window_s;
			what = "--window";
			max = WINDOW_MAX;
			break;
		case 't':
			target = &o->timeout_ms;
			what = "--timeout";
			max = CHECKER_TIMEOUT_MAX_MS;
			break;
		default:
			if ((rc = checker_common_option(cli, ch, argv)) !=
			    CHECKER_OPT_NEXT)
				return rc;
		}
		if (target != NULL && checker_parse_long(optarg, 1, max,
		    target) == -1)
			return usage_error("%s: want 1..%ld, not \"%s\"",
			    what, max, optarg);
	}
	return checker_options_end(cli, argc, argv);
}

/* The peer --peer names, or the first; NULL (logged) when there is none. */
static const struct config_peer *
find_peer(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->npeers; i++)
		if (name == NULL || strcmp(cfg->peers[i].name, name) == 0)
			return &cfg->peers[i];
	if (name == NULL)
		log_warnx("%s: no peers configured", cfg->path);
	else
		log_warnx("%s: no peer named \"%s\"", cfg->path, name);
	return NULL;
}

/* One run: probe the peer, count, save the counts, raise or clear the
 * alarm; the exit code. */
static int
check_peer(const struct config *cfg, const struct config_peer *peer,
    const struct peer_opts *o)
{
	char err[ENUMDR_ERRLEN], why[ENUMDR_ERRLEN], path[PATH_MAX];
	char name[CONFIG_NAME_MAX + 32];
	struct peer_state st;
	long long now;
	int answered, down;

	snprintf(name, sizeof(name), "checker-peer-%s.state", peer->name);
	if (util_path_join(path, sizeof(path), cfg->state_dir, name,
	    err) == -1) {
		log_warnx("%s", err);
		return EXIT_CONFIG;
	}
	state_load(path, peer->name, &st);
	now = (long long)time(NULL);
	answered = probe(cfg, peer, o->timeout_ms, why) == 0;
	down = verdict(&st, o, peer->name, answered, why, now);
	if (state_save(cfg->state_dir, path, peer->name, &st, err) == -1)
		log_warnx("cannot save state (this run is not counted): %s",
		    err);
	peer_alarm(cfg, peer->name, &st, down, answered, why);
	return down ? EXIT_FAILED : EXIT_OK;
}

int
main(int argc, char *argv[])
{
	struct checker_cli cli = { PROGNAME, usage, NULL };
	const struct config_peer *peer;
	struct peer_opts o;
	struct config cfg;
	int rc;

	if ((rc = parse_options(argc, argv, &o, &cli)) != CHECKER_OPT_NEXT)
		return rc;
	if (checker_config_load(&cli, &cfg) == -1)
		return EXIT_CONFIG;
	if ((peer = find_peer(&cfg, o.peer)) == NULL)
		rc = EXIT_CONFIG;
	else
		rc = check_peer(&cfg, peer, &o);
	config_free(&cfg);
	return rc;
}
