/*
 * load.h — run a configured load step (S0.6: "notify the foreground to
 * load", "notify the background to load") as an argv list without a shell,
 * bounded by its timeout: SIGTERM at the timeout, SIGKILL 2 s later.  The
 * step's last line of stderr/stdout is kept for the alarm and the log.
 */
#ifndef ENUMDR_LOAD_H
#define ENUMDR_LOAD_H

#include <stdint.h>

#include "config.h"

struct load_result {
	int exit_code;        /* -1 when killed by a signal or the timeout */
	int timed_out;
	int64_t duration_ms;
	char output[512];     /* the step's last output line */
};

/* Run step; 0 when it exited 0 within its timeout, else -1 and err. */
int load_run_step(const struct config_step *step, struct load_result *res,
    char *err);

#endif
