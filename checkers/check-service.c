/*
 * check-service.c — enumdr-check-service: is this room fit to hold the
 * virtual IP?  Run by keepalived's vrrp_script every second or two (S4.1:
 * watch the service, not only the machine; S4.2: an abnormal room gives
 * way to a healthy one; S0.6: a failed takeover step makes the room give
 * up the VIP).  The checks, in this order; the first that fails is named
 * in one line on stderr and the exit code is 1:
 *
 *   1. the own agent (enumdrd) answers GET /v1/heartbeat on
 *      agent.peer_listen within the timeout, for this room;
 *   2. its role is not MASTER-FAILED, and in MASTER its provisioning
 *      listener is open (S0.5); MASTER-LOADING is healthy: the takeover
 *      runs, bounded by its own step timeouts; INIT (also spelt UNKNOWN),
 *      BACKUP, FAULT and STOP are healthy, any other role is not;
 *   3. in every role, the agent does not report that it cannot write the
 *      database ("storage" other than "ok": a full disk or a write error,
 *      S0.5/S0.6 — every change would be refused).  The heartbeat is
 *      asked and parsed strictly by lib/peerproto.c: an answer that is
 *      not a heartbeat of this protocol (another HTTP status, a missing
 *      or bad member, another protocol version) is unhealthy and the
 *      line names the member;
 *   3b. outside MASTER and MASTER-LOADING, no follower of a peer's
 *      journal is "catching-up" or in a "gap" (the heartbeat's
 *      "replication", issue 14): a recovering room does not take the VIP
 *      back before it holds the other room's changes (S3.3, S4.3);
 *   4. the database is readable: a read-only open and one query over the
 *      zone table (no work that grows with the number of numbers);
 *   5. with --dns and in role MASTER, the DNS server serves every zone's
 *      database serial; an older one only within --grace seconds of the
 *      zone's last change, since the agent reloads in group commits.  A
 *      standby's DNS server is loaded by the takeover (S0.6), so what it
 *      serves before says nothing about the room's health.
 *
 * No shell, no fork; every step shares one deadline (--timeout).
 * Exit codes (lib/exitcodes.h): 0 healthy, 1 unhealthy, 64 usage,
 * 78 configuration error.  doc/checkers.md is the operator's manual.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <sqlite3.h>

#include "checker.h"
#include "config.h"
#include "dnsprobe.h"
#include "exitcodes.h"
#include "log.h"
#include "peerproto.h"
#include "rfc1982.h"
#include "store.h"
#include "transfer.h"
#include "util.h"

#define PROGNAME       "enumdr-check-service"
#define GRACE_DEFAULT  10        /* --grace default, seconds */
#define GRACE_MAX      86400
#define WHY_LEN        1024      /* the one line: room for a lib/ err */
#define ZONES_MAX      100000    /* more zones than this is not a room */

struct service_opts {
	const char *config;
	const char *dns;              /* --dns as given, NULL when absent */
	char dns_addr[128];
	int dns_port;
	long timeout_ms;
	long grace_s;
};

/* One zone as the database has it. */
struct service_zone {
	char origin[STORE_ORIGIN_MAX];
	uint32_t serial;
	char updated_at[32];          /* UTC ISO 8601, as stored */
	time_t updated;               /* (time_t)-1 when not parseable */
};

static void
usage(FILE *out)
{
	fprintf(out,
"usage: " PROGNAME " [-c CONFIG] [--dns SERVER[:PORT]] [--timeout MS]\n"
"                            [--grace S]\n"
"\n"
"Exit 0 when this room is healthy: its agent answers the heartbeat, a\n"
"takeover has not failed, in MASTER the provisioning listener is open, the\n"
"agent can write the database, the database is readable and (with --dns)\n"
"SERVER serves every zone's database serial.  Else exit 1 with one line on\n"
"stderr naming the first failure.\n"
"\n"
"  -c, --config FILE   configuration (default $ENUMDR_CONFIG or %s)\n"
"      --dns SERVER    DNS server to ask for the zones' SOA serials\n"
"                      (ADDR, ADDR:PORT or [V6]:PORT; port 53 by default)\n"
"      --timeout MS    the whole check's time limit (default %d, 1..%d)\n"
"      --grace S       seconds an older served serial is tolerated after the\n"
"                      zone changed (default %d)\n"
"  -h, --help          this text\n"
"  -V, --version       version\n"
"\n"
"Exit codes: 0 healthy, 1 unhealthy, 64 usage, 78 configuration error.\n",
	    CHECKER_DEFAULT_CONFIG, CHECKER_TIMEOUT_MS,
	    CHECKER_TIMEOUT_MAX_MS, GRACE_DEFAULT);
}

#define usage_error(...) checker_usage_error(PROGNAME, __VA_ARGS__)

static void setwhy(char *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fill why (WHY_LEN bytes): the one line the checker prints. */
static void
setwhy(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, WHY_LEN, fmt, ap);
	va_end(ap);
}

/* 1 when s is an IPv4 or IPv6 address literal (no name lookups here). */
static int
is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* Milliseconds left before deadline (may be <= 0). */
static int64_t
left_ms(int64_t deadline)
{
	return deadline - util_now_ms();
}

/* "2026-11-29T15:34:26Z" -> seconds since the epoch; -1 when malformed. */
static time_t
parse_utc(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return (time_t)-1;
	return timegm(&tm);
}

/* Checks 1 to 3: the agent's heartbeat (the peer protocol's client and
 * strict parser, lib/peerproto.c), the role it reports and whether it can
 * write the database.  *dns is set to 0 when the role makes the DNS
 * comparison meaningless. */
static int
check_agent(const struct config *cfg, int64_t deadline, int *dns, char *why)
{
	struct peerproto_heartbeat hb;
	char url[CONFIG_URL_MAX + 32], err[ENUMDR_ERRLEN];
	int64_t left;
	int rc, ret = -1;

	*dns = 1;
	if (checker_agent_url(cfg->peer_listen, url, sizeof(url), err) == -1) {
		setwhy(why, "%s", err);
		return -1;
	}
	left = left_ms(deadline);
	rc = peerproto_heartbeat_get(url, cfg->connect_timeout_ms, (long)left,
	    &hb, NULL, err);
	if (rc == PEERPROTO_EUNREACHABLE) {
		setwhy(why, "agent down: %s", err);
		return -1;
	}
	if (rc != PEERPROTO_OK) {
		/* It answered, but not with a heartbeat of this protocol:
		 * err names the status, the version or the member. */
		setwhy(why, "agent unusable: %s", err);
		return -1;
	}
	if (strcmp(hb.room, cfg->room) != 0) {
		setwhy(why, "agent at %s is room \"%s\", not this"
		    " room \"%s\" (check agent.peer_listen)", url, hb.room,
		    cfg->room);
		goto done;
	}
	if (strcmp(hb.role, "MASTER-FAILED") == 0) {
		setwhy(why, "takeover failed: the agent reports role"
		    " MASTER-FAILED; this room must give up the VIP");
		goto done;
	}
	if (strcmp(hb.role, "MASTER") == 0) {
		if (!hb.listener_open) {
			setwhy(why, "role MASTER but the provisioning"
			    " listener is closed");
			goto done;
		}
	} else if (strcmp(hb.role, "MASTER-LOADING") != 0 &&
	    strcmp(hb.role, "BACKUP") != 0 &&
	    strcmp(hb.role, "INIT") != 0 && strcmp(hb.role, "UNKNOWN") != 0 &&
	    strcmp(hb.role, "FAULT") != 0 && strcmp(hb.role, "STOP") != 0) {
		setwhy(why, "agent at %s reports an unknown role"
		    " \"%s\"", url, hb.role);
		goto done;
	}
	/* Only a finished MASTER must serve the database's serials: the
	 * takeover loads the DNS server (MASTER-LOADING), a standby's is
	 * loaded at its takeover (S0.6). */
	*dns = strcmp(hb.role, "MASTER") == 0;
	/* A room whose agent cannot write its database refuses every change
	 * (507): it is not fit to hold the VIP, in any role.  "storage" is a
	 * required member of the heartbeat (doc/peer-protocol.md). */
	if (hb.storage != PEERPROTO_STORAGE_OK) {
		setwhy(why, "unhealthy: cannot write the database (the agent"
		    " reports storage \"%s\": %s)",
		    peerproto_storage_name(hb.storage), hb.storage_error);
		goto done;
	}
	/* Failback gating (S3.3, S4.3, issue 14): a room that is not the
	 * active one and is still catching up with a peer that answers (or
	 * cannot follow it: a gap) is not fit to take the VIP: it would
	 * serve without that room's changes.  A peer that does not answer
	 * leaves the state "connecting": that is no reason to hold back. */
	if (strcmp(hb.role, "MASTER") != 0 &&
	    strcmp(hb.role, "MASTER-LOADING") != 0) {
		size_t i;

		for (i = 0; i < hb.nrepl; i++) {
			if (strcmp(hb.repl[i].state, "catching-up") == 0 ||
			    strcmp(hb.repl[i].state, "gap") == 0) {
				setwhy(why, "not ready for the VIP: replication"
				    " from room %s is %s (%lld changes"
				    " behind)", hb.repl[i].peer,
				    hb.repl[i].state,
				    (long long)hb.repl[i].behind);
				goto done;
			}
		}
	}
	ret = 0;
done:
	peerproto_heartbeat_free(&hb);
	return ret;
}

/* Check 4: open the database read-only and read the zone table (origin,
 * serial, updated_at) — without the number count, a scan per zone. */
static int
read_zones(const char *database, int64_t deadline,
    struct service_zone **zonesp, size_t *np, char *why)
{
	struct service_zone *zones = NULL;
	struct zone_info *zi = NULL;
	struct store *st = NULL;
	char err[ENUMDR_ERRLEN];
	size_t n = 0, i;
	int64_t left;
	int ret = -1;

	*zonesp = NULL;
	*np = 0;
	if (store_open(database, STORE_READONLY, &st, err) != STORE_OK) {
		setwhy(why, "database unreadable: %s", err);
		goto done;
	}
	left = left_ms(deadline);
	store_busy_timeout(st, left > 0 ? (int)left : 1);
	if (store_zones(st, 0, ZONES_MAX, &zi, &n, NULL, err) != STORE_OK) {
		setwhy(why, "database unreadable: read zones of %s: %s",
		    database, err);
		goto done;
	}
	if (n > 0 && (zones = calloc(n, sizeof(*zones))) == NULL) {
		setwhy(why, "out of memory reading zones of %s", database);
		goto done;
	}
	for (i = 0; i < n; i++) {
		strlcpy_(zones[i].origin, zi[i].origin,
		    sizeof(zones[i].origin));
		zones[i].serial = zi[i].serial;
		strlcpy_(zones[i].updated_at, zi[i].updated_at,
		    sizeof(zones[i].updated_at));
		zones[i].updated = parse_utc(zones[i].updated_at);
	}
	*zonesp = zones;
	*np = n;
	zones = NULL;
	ret = 0;
done:
	if (st != NULL)
		store_close(st);
	free(zi);
	free(zones);
	return ret;
}

/* 1 when zone z changed less than grace_s seconds ago (either way, so
 * that a clock step cannot make the grace last). */
static int
within_grace(const struct service_zone *z, long grace_s)
{
	long long age;

	if (z->updated == (time_t)-1)
		return 0;	/* updated_at unreadable: no grace */
	age = (long long)(time(NULL) - z->updated);
	return age < grace_s && -age < grace_s;
}

/* Check 5: every zone's SOA serial as served equals the database's; an
 * older one is tolerated for grace_s seconds after the zone changed. */
static int
check_dns(const struct service_opts *o, const struct service_zone *zones,
    size_t n, int64_t deadline, char *why)
{
	char err[ENUMDR_ERRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct service_zone *z = &zones[i];
		enum rfc1982_order order;
		uint32_t served;
		int64_t left;

		if ((left = left_ms(deadline)) <= 0) {
			setwhy(why, "timeout: no time left (%ld ms)"
			    " to ask DNS server %s for zone %s", o->timeout_ms,
			    o->dns, z->origin);
			return -1;
		}
		if (dnsprobe_soa_serial(o->dns_addr, o->dns_port, z->origin,
		    (int)left, &served, err) == -1) {
			setwhy(why, "DNS server %s: %s", o->dns, err);
			return -1;
		}
		order = rfc1982_cmp(served, z->serial);
		if (order == RFC1982_EQUAL)
			continue;
		if (order == RFC1982_LESS && within_grace(z, o->grace_s))
			continue;	/* the reload is on its way */
		if (order == RFC1982_LESS)
			setwhy(why, "DNS server %s serves zone %s"
			    " serial %u, the database has %u (changed %s,"
			    " grace %ld s)", o->dns, z->origin, served,
			    z->serial, z->updated_at, o->grace_s);
		else
			setwhy(why, "DNS server %s serves zone %s"
			    " serial %u, the database has %u (%s)", o->dns,
			    z->origin, served, z->serial,
			    order == RFC1982_GREATER ? "served is newer" :
			    "RFC 1982 comparison undefined");
		return -1;
	}
	return 0;
}

/* All checks; 0 healthy, -1 with why. */
static int
check_service(const struct config *cfg, const struct service_opts *o,
    char *why)
{
	struct service_zone *zones = NULL;
	char err[ENUMDR_ERRLEN];
	int64_t deadline;
	size_t n = 0;
	int dns, ret = -1;

	deadline = util_now_ms() + o->timeout_ms;
	if (transfer_global_init(err) == -1) {
		setwhy(why, "%s", err);
		return -1;
	}
	if (check_agent(cfg, deadline, &dns, why) == -1)
		goto fail;
	if (read_zones(cfg->database, deadline, &zones, &n, why) == -1)
		goto fail;
	if (o->dns != NULL && dns &&
	    check_dns(o, zones, n, deadline, why) == -1)
		goto fail;
	ret = 0;
fail:
	free(zones);
	transfer_global_cleanup();
	return ret;
}

/* The options into o and cli; CHECKER_OPT_NEXT to go on, else the exit
 * code. */
static int
parse_options(int argc, char *argv[], struct service_opts *o,
    struct checker_cli *cli)
{
	static const struct option longopts[] = {
		{ "dns", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "grace", required_argument, NULL, 'g' },
		CHECKER_LONGOPTS_COMMON
	};
	char err[ENUMDR_ERRLEN];
	int ch, rc;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = CHECKER_TIMEOUT_MS;
	o->grace_s = GRACE_DEFAULT;
	checker_options_begin(cli);
	while ((ch = getopt_long(argc, argv, CHECKER_OPTSTRING, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->dns = optarg;
			break;
		case 't':
			if (checker_parse_long(optarg, 1, CHECKER_TIMEOUT_MAX_MS,
			    &o->timeout_ms) == -1)
				return usage_error("--timeout: want 1..%d ms,"
				    " not \"%s\"", CHECKER_TIMEOUT_MAX_MS,
				    optarg);
			break;
		case 'g':
			if (checker_parse_long(optarg, 0, GRACE_MAX,
			    &o->grace_s) == -1)
				return usage_error("--grace: want 0..%d s, not"
				    " \"%s\"", GRACE_MAX, optarg);
			break;
		default:
			if ((rc = checker_common_option(cli, ch, argv)) !=
			    CHECKER_OPT_NEXT)
				return rc;
		}
	}
	if ((rc = checker_options_end(cli, argc, argv)) != CHECKER_OPT_NEXT)
		return rc;
	if (o->dns != NULL && dnsprobe_parse_server(o->dns, o->dns_addr,
	    sizeof(o->dns_addr), &o->dns_port, err) == -1)
		return usage_error("--dns: %s", err);
	if (o->dns != NULL && !is_ip_literal(o->dns_addr))
		return usage_error("--dns: \"%s\" is not an IP address",
		    o->dns_addr);
	o->config = config_path(cli->config);
	return CHECKER_OPT_NEXT;
}

int
main(int argc, char *argv[])
{
	struct checker_cli cli = { PROGNAME, usage, NULL };
	struct service_opts o;
	struct config cfg;
	char why[WHY_LEN];
	int rc;

	if ((rc = parse_options(argc, argv, &o, &cli)) != CHECKER_OPT_NEXT)
		return rc;
	if (checker_config_load(&cli, &cfg) == -1)
		return EXIT_CONFIG;
	rc = check_service(&cfg, &o, why) == 0 ? EXIT_OK : EXIT_FAILED;
	if (rc != EXIT_OK)
		log_warnx("%s", why);
	config_free(&cfg);
	return rc;
}
