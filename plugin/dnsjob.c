/*
 * dnsjob.c — keep the DNS server in step with provisioning while this room
 * is active ("start the foreground", S0.6): after a change commits, the
 * configured load steps (foreground: zone files; background: reload and
 * wait for the serial) run again.  Changes that commit while the steps run
 * are collected and applied by the next run — a group commit, as DESIGN.md
 * asks, since a DNS server reload costs in proportion to the zone, not to
 * the change.  A failed run raises DNS_UPDATE and is retried; the next
 * success clears it.  enumdr-check-service sees a DNS server that stays
 * behind the database (its --grace).
 */
#include <stdlib.h>
#include <string.h>

#include "alarm_ids.h"
#include "agent.h"
#include "load.h"
#include "log.h"
#include "util.h"

#define DNSJOB_COALESCE_MS 100    /* let a burst of changes gather */
#define DNSJOB_RETRY_S     5      /* after a failed run */

/* Deep copy of the load steps, taken under cfg_lock (SIGHUP swaps them). */
static size_t
copy_steps(struct agent *ag, struct config_step *out)
{
	size_t n, i, j;

	pthread_mutex_lock(&ag->cfg_lock);
	n = ag->cfg.nsteps;
	for (i = 0; i < n; i++) {
		out[i] = ag->cfg.steps[i];
		for (j = 0; j < out[i].argc; j++)
			out[i].argv[j] = strdup(ag->cfg.steps[i].argv[j]);
		out[i].argv[out[i].argc] = NULL;
	}
	pthread_mutex_unlock(&ag->cfg_lock);
	return n;
}

static void
free_steps(struct config_step *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < s[i].argc; j++)
			free(s[i].argv[j]);
}

/* One run of every load step; 0 when all succeeded. */
static int
run_steps(struct agent *ag)
{
	struct config_step steps[CONFIG_MAX_STEPS];
	struct load_result res;
	struct alarm_ctx actx;
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN];
	const char *fig[5];
	int64_t t0 = util_now_ms();
	size_t n, i;
	int rc = 0;

	memset(steps, 0, sizeof(steps));
	n = copy_steps(ag, steps);
	for (i = 0; i < n && !ag->stopping; i++) {
		for (size_t j = 0; j < steps[i].argc; j++) {
			if (steps[i].argv[j] == NULL) {
				errf(err, "out of memory copying load steps");
				rc = -1;
				break;
			}
		}
		if (rc == -1 || load_run_step(&steps[i], &res, err) == -1) {
			rc = -1;
			agent_alarm_ctx(ag, &actx);
			fig[0] = "step";
			fig[1] = steps[i].name;
			fig[2] = NULL;
			alarm_raise(&actx, ALARM_DNS_UPDATE, ALARM_MAJOR, err, fig,
			    aerr);
			log_warnx("DNS update: %s", err);
			break;
		}
	}
	free_steps(steps, n);
	if (rc == 0 && n > 0) {
		agent_alarm_ctx(ag, &actx);
		alarm_clear(&actx, ALARM_DNS_UPDATE, "DNS server in step again",
		    NULL, aerr);
		log_info("DNS update: %zu load steps in %lld ms", n,
		    (long long)(util_now_ms() - t0));
	}
	return rc;
}

/* The job's work (job.h), after the wakes of a burst have gathered: one
 * run of the steps; a failed run is retried in DNSJOB_RETRY_S. */
static int64_t
dnsjob_run(void *arg)
{
	struct agent *ag = arg;

	/* Only the active room feeds its DNS server; a takeover loads it in
	 * its own sequence (enumdr-notify). */
	if (ag->stopping || !ag->dns_active(ag))
		return JOB_IDLE;
	return run_steps(ag) == -1 ? DNSJOB_RETRY_S * 1000 : JOB_IDLE;
}

void
dnsjob_kick(struct agent *ag)
{
	job_wake(&ag->dns_job);
}

int
dnsjob_start(struct agent *ag, int (*active)(struct agent *), char *err)
{
	ag->dns_active = active;
	ag->dns_job.name = "DNS update job";
	ag->dns_job.run = dnsjob_run;
	ag->dns_job.arg = ag;
	ag->dns_job.coalesce_ms = DNSJOB_COALESCE_MS;
	ag->dns_job.first_ms = JOB_IDLE;
	return job_start(&ag->dns_job, err);
}

int
dnsjob_stop(struct agent *ag, int wait_ms)
{
	return job_stop(&ag->dns_job, wait_ms);
}
