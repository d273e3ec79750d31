/*
 * control.h — the client side of enumdrd's control socket (S0.5: the
 * notify side tells the communication agent to open or close the
 * provisioning listener; S0.6, S0.7).  One request line, one JSON reply
 * line; the server side is plugin/control_server.c, the requests are
 * documented in doc/enumdrd.md:
 *
 *   open | close | status | snapshot | role MASTER|BACKUP|FAULT|STOP
 *   provision LEN (+ LEN bytes of JSON) | zone ORIGIN [SERIAL]
 *   export [DIR] | import DIR | sync DIR [dry-run]
 */
#ifndef ENUMDR_CONTROL_H
#define ENUMDR_CONTROL_H

#include <stddef.h>

/* Enough for every reply but a status of many zones (about 45 bytes a
 * zone): `enumdr agent status` uses a larger buffer. */
#define CONTROL_REPLY_MAX (64 * 1024)

/* Send line (no newline) to the agent at socket_path and read its reply
 * line (without the newline) into reply (replylen bytes), the whole
 * exchange bounded by timeout_ms.  0 when a reply came (the agent's own
 * refusal is a reply: {"ok":false,...}); -1 and err when the agent could
 * not be reached, did not answer in time or the reply did not fit.  On -1
 * errno is EACCES when the socket's file permissions refused us. */
int control_request(const char *socket_path, const char *line, char *reply,
    size_t replylen, int timeout_ms, char *err);

/* The same with a body: line ("provision LEN"), its newline, then bodylen
 * bytes of body (the agent reads at most 1 MiB within 5 s). */
int control_request_body(const char *socket_path, const char *line,
    const char *body, size_t bodylen, char *reply, size_t replylen,
    int timeout_ms, char *err);

/* The reply timeout for a request that imports or exports a whole
 * database (sync, import, export of a million numbers takes seconds):
 * 60 s plus twice the configured transfer timeout, at most 1 hour. */
#define CONTROL_LONG_TIMEOUT_MAX_MS (3600 * 1000)
int control_long_timeout_ms(int transfer_timeout_ms);

#endif
