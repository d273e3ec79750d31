/*
 * switchover_cmd.h — `enumdr switchover [--to ROOM] [--timeout MS]`, the
 * negotiated switchover (issue 15, doc/switchover.md).
 */
#ifndef ENUMDR_SWITCHOVER_CMD_H
#define ENUMDR_SWITCHOVER_CMD_H

#include <sysexits.h>

#include "alarm.h"
#include "config.h"

/* Refused (by the target, or this room is not the active one) or timed
 * out: the active room stays active. */
#define EXIT_REFUSED_SW EX_TEMPFAIL

/* argv: the command's arguments.  0 done; 64 usage; 69 a room did not
 * answer; 75 refused or timed out; 1 a step failed here. */
int switchover_cmd(const struct config *cfg, struct alarm_ctx *alarms,
    int argc, char **argv);

#endif
