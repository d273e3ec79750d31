/*
 * checker.c — what enumdr-check-service and enumdr-check-peer share: the
 * common options (-c, -h, -V) and option numbers,
 * and the own agent's heartbeat URL (S0.3, S0.4, S4.1).  The heartbeat itself is the peer protocol's
 * (lib/peerproto.c).  See checker.h.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "checker.h"
#include "exitcodes.h"
#include "log.h"
#include "peerproto.h"
#include "util.h"

int
checker_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;	/* no sign, no blanks, no empty string */
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
checker_agent_url(const char *listen, char *url, size_t urllen, char *err)
{
	const char *colon, *host;
	char addr[128];
	size_t alen;
	int n;

	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || colon[1] == '\0') {
		errf(err, "agent.peer_listen \"%s\" is not ADDRESS:PORT",
		    listen);
		return -1;
	}
	alen = (size_t)(colon - listen);
	if (alen >= sizeof(addr)) {
		errf(err, "agent.peer_listen \"%s\": address too long", listen);
		return -1;
	}
	memcpy(addr, listen, alen);
	addr[alen] = '\0';
	/* The agent listens on every address: ask it on loopback. */
	if (strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "*") == 0)
		host = "127.0.0.1";
	else if (strcmp(addr, "[::]") == 0)
		host = "[::1]";
	else
		host = addr;
	n = snprintf(url, urllen, "http://%s:%s%s", host, colon + 1,
	    PEERPROTO_HEARTBEAT_PATH);
	if (n < 0 || (size_t)n >= urllen) {
		errf(err, "agent.peer_listen \"%s\": URL too long", listen);
		return -1;
	}
	return 0;
}

int
checker_usage_error(const char *prog, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s (try '%s --help')", msg, prog);
	return EXIT_USAGE;
}

void
checker_options_begin(const struct checker_cli *cli)
{
	log_init(cli->prog, 1, LOG_DAEMON);
	opterr = 0;
}

int
checker_common_option(struct checker_cli *cli, int ch, char **argv)
{
	switch (ch) {
	case 'c':
		cli->config = optarg;
		return CHECKER_OPT_NEXT;
	case 'h':
		cli->usage(stdout);
		return EXIT_OK;
	case 'V':
		printf("%s %s\n", cli->prog, PACKAGE_VERSION);
		return EXIT_OK;
	case ':':
		return checker_usage_error(cli->prog, "%s needs a value",
		    argv[optind - 1]);
	default:
		return checker_usage_error(cli->prog, "unknown option %s",
		    argv[optind - 1]);
	}
}

int
checker_options_end(const struct checker_cli *cli, int argc, char **argv)
{
	if (optind < argc)
		return checker_usage_error(cli->prog,
		    "unexpected argument \"%s\"", argv[optind]);
	return CHECKER_OPT_NEXT;
}

int
checker_config_load(const struct checker_cli *cli, struct config *cfg)
{
	char err[ENUMDR_ERRLEN];

	if (config_load(config_path(cli->config), cfg, err) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}
