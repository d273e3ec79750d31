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

#endif
