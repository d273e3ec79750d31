/*
 * checker.h — what the two health checkers share (S0.3, S0.4, S4.1, S4.4):
 * options common to both and the URL of the own agent's heartbeat.
 *
 * The heartbeat is asked and parsed by the peer protocol's client
 * (lib/peerproto.h, doc/peer-protocol.md): one strict parser for every
 * program.
 *
 * Like lib/, nothing here prints or exits: functions return 0 or -1 and
 * fill a caller's err buffer (ENUMDR_ERRLEN bytes) naming the URL.
 */
#ifndef ENUMDR_CHECKER_H
#define ENUMDR_CHECKER_H

#include <stddef.h>

#include "config.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CHECKER_DEFAULT_CONFIG  SYSCONFDIR "/enumdr/enumdr.yaml"
#define CHECKER_TIMEOUT_MS      1000            /* --timeout default */
#define CHECKER_TIMEOUT_MAX_MS  60000           /* --timeout upper bound */

/* The configuration file: -c FILE when given, else $ENUMDR_CONFIG, else
 * CHECKER_DEFAULT_CONFIG (the admin command's rule). */
const char *checker_config_path(const char *option);

/* Log a usage error of program prog (with a pointer to --help) and return
 * EXIT_USAGE. */
int checker_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse a whole decimal string into [min, max]; -1 when it is not one. */
int checker_parse_long(const char *s, long min, long max, long *out);

/* The own agent's heartbeat URL from agent.peer_listen ("ADDR:PORT" or
 * "[V6]:PORT"); a wildcard address becomes loopback (0.0.0.0 -> 127.0.0.1,
 * [::] -> [::1]). */
int checker_agent_url(const char *listen, char *url, size_t urllen,
    char *err);


#endif
