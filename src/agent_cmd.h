/*
 * agent_cmd.h — `enumdr agent open|close|status|snapshot|role ROLE`: the
 * operator's (and the notify program's) way to the room agent's control
 * socket (S0.5, S0.6, S0.7).
 */
#ifndef ENUMDR_AGENT_CMD_H
#define ENUMDR_AGENT_CMD_H

#include "config.h"

/* argv[0] is the sub-action.  Returns an exit code of lib/exitcodes.h:
 * 0 done, 1 the agent answered with an error, 64 usage, 69 agent
 * unreachable, 70 unreadable reply, 77 (EX_NOPERM) refused by the agent
 * or by the control socket's file permissions. */
int agent_cmd(const struct config *cfg, int argc, char **argv, int json);

#include "control.h"

/* A request that writes the database, through the agent (its only
 * writer): line, then bodylen bytes of body when body is not NULL, the
 * reply within timeout_ms.  EXIT_OK and *reply (parsed by lib/control.c's
 * strict parser, "ok" true or false: the caller's to judge and release
 * with control_reply_free), or an exit code with the message printed and
 * nothing to release: 69 the agent is not running (or does not answer),
 * 77 refused by permissions (or by the agent: "denied"), 70 an unreadable
 * reply (cut, too long, or an envelope member missing or mistyped). */
int agent_write(const struct config *cfg, const char *what,
    const char *line, const char *body, size_t bodylen, int timeout_ms,
    struct control_reply *reply);

#endif
