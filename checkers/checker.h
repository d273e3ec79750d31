/*
 * checker.h — what the two health checkers share (S0.3, S0.4, S4.1, S4.4):
 * options common to both, the URL of the own agent's heartbeat, and one
 * bounded HTTP GET of a heartbeat parsed with jansson.
 *
 * A heartbeat is the agent's GET /v1/heartbeat answer:
 *   {"room":"A","role":"BACKUP","listener":"open|closed","journal":N,
 *    "zones":[{"origin":"6.4.e164.arpa","serial":123}],"snapshot":{...},
 *    "alarms":N,"storage":"ok|full|error","storage_error":"..."|null,
 *    "time":"..."}
 * Room, role, listener and storage matter to the checkers; the rest is
 * ignored.
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
#define CHECKER_HEARTBEAT_MAX   (1024 * 1024)   /* a heartbeat body is small */
#define CHECKER_HEARTBEAT_PATH  "/v1/heartbeat"

struct checker_heartbeat {
	long status;                  /* HTTP status of the answer */
	char room[CONFIG_NAME_MAX];   /* "room": the agent's room name */
	char role[32];                /* "role": BACKUP, MASTER, ... */
	char listener[16];            /* "listener": open | closed ("" if absent) */
	char reason[256];             /* "error" or "reason" when present, else "" */
	char storage[16];             /* "storage": ok | full | error ("" if absent) */
	char storage_error[ENUMDR_ERRLEN]; /* "storage_error" ("" if absent) */
};

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

/* GET url, the connect phase bounded by connect_ms and the whole request by
 * timeout_ms, and parse the body as a heartbeat.  0 when a heartbeat
 * arrived, whatever its HTTP status (hb->status says; an agent may answer
 * 503 with a body); -1 with err when nothing usable came back — no answer,
 * or a body that is not a heartbeat (then err gives the HTTP status). */
int checker_heartbeat_get(const char *url, long connect_ms, long timeout_ms,
    struct checker_heartbeat *hb, char *err);

/* Parse a heartbeat body: a JSON object with string members "room" and
 * "role" ("listener", "error"/"reason", "storage", "storage_error"
 * optional: an agent before "storage" existed does not send it). */
int checker_heartbeat_parse(const char *body, size_t len,
    struct checker_heartbeat *hb, char *err);

#endif
