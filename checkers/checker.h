/*
 * checker.h — what the two health checkers share (S0.3, S0.4, S4.1, S4.4):
 * the options common to both (-c, -h, -V: one parser), the configuration
 * and the URL of the own agent's heartbeat.
 *
 * The heartbeat is asked and parsed by the peer protocol's client
 * (lib/peerproto.h, doc/peer-protocol.md): one strict parser for every
 * program.
 *
 * Like lib/, nothing here exits: functions return 0 or -1 and fill a
 * caller's err buffer (ENUMDR_ERRLEN bytes) naming the URL; only the
 * command-line helpers (options, usage errors, the configuration) log,
 * and hand the program its exit code.
 */
#ifndef ENUMDR_CHECKER_H
#define ENUMDR_CHECKER_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

#define CHECKER_DEFAULT_CONFIG  CONFIG_DEFAULT_PATH     /* for usage() */
#define CHECKER_TIMEOUT_MS      1000            /* --timeout default */
#define CHECKER_TIMEOUT_MAX_MS  60000           /* --timeout upper bound */

/* Log a usage error of program prog (with a pointer to --help) and return
 * EXIT_USAGE. */
int checker_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse a whole decimal string into [min, max]; -1 when it is not one. */
int checker_parse_long(const char *s, long min, long max, long *out);

/* The options every checker has, last in its longopts table, and their
 * getopt string (':' first: a missing value is reported as ours). */
#define CHECKER_LONGOPTS_COMMON \
	{ "config", required_argument, NULL, 'c' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ NULL, 0, NULL, 0 }
#define CHECKER_OPTSTRING ":c:hV"
#define CHECKER_OPT_NEXT (-1)	/* an option handled: parse on */

/* A checker's command line, as far as the checkers share it. */
struct checker_cli {
	const char *prog;		/* its name, for messages and -V */
	void (*usage)(FILE *);		/* prints its synopsis */
	const char *config;		/* -c FILE, NULL when absent */
};

/* Start parsing argv: getopt's own messages off (one line of ours
 * instead), messages to stderr. */
void checker_options_begin(const struct checker_cli *cli);

/* Handle ch, an option getopt_long returned that is not the checker's
 * own: -c FILE, -h, -V, a missing value (':') or an unknown option.
 * CHECKER_OPT_NEXT to parse on, else the exit code (-h and -V print and
 * give EXIT_OK; an error is logged and gives EXIT_USAGE). */
int checker_common_option(struct checker_cli *cli, int ch, char **argv);

/* After the options: a checker takes no operands.  CHECKER_OPT_NEXT, or
 * EXIT_USAGE (logged). */
int checker_options_end(const struct checker_cli *cli, int argc, char **argv);

/* Load the configuration (config_path(cli->config), lib/config.h) into cfg; 0,
 * or -1 with the error logged (the checker exits EXIT_CONFIG). */
int checker_config_load(const struct checker_cli *cli, struct config *cfg);

/* The own agent's heartbeat URL from agent.peer_listen ("ADDR:PORT" or
 * "[V6]:PORT"); a wildcard address becomes loopback (0.0.0.0 -> 127.0.0.1,
 * [::] -> [::1]). */
int checker_agent_url(const char *listen, char *url, size_t urllen,
    char *err);


#endif
