/*
 * control.h — the client side of enumdrd's control socket (S0.5: the
 * notify side tells the communication agent to open or close the
 * provisioning listener; S0.6, S0.7).  One request line, one JSON reply
 * line; the server side is plugin/control_server.c, the requests are
 * documented in doc/enumdrd.md:
 *
 *   open | close | status | snapshot | role MASTER|BACKUP|FAULT|STOP
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

#endif
