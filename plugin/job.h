/*
 * job.h — a background job of the agent (job.c): one thread that runs a
 * piece of work when it is due or when it is woken, until it is stopped.
 * The snapshot job, the peer watch and the DNS update job are each one
 * of these and keep only their work; the job's lock is a leaf (nothing
 * else is taken while it is held, and the work runs without it).
 */
#ifndef ENUMDR_JOB_H
#define ENUMDR_JOB_H

#include <pthread.h>
#include <stdint.h>

#define JOB_IDLE (-1)             /* from run: not again until woken */

/* One run of a job's work, on its thread and without its lock: returns
 * the ms until the next run is due (its period), or JOB_IDLE. */
typedef int64_t job_run_fn(void *arg);

struct job {
	const char *name;             /* in messages: "snapshot job" */
	job_run_fn *run;
	void *arg;                    /* run's argument */
	int coalesce_ms;              /* before a run, let further wakes
	                               * gather this long (a group commit) */
	int64_t first_ms;             /* the first run: after this long,
	                               * or JOB_IDLE (when woken) */
	pthread_t thread;
	int started;                  /* the thread runs (until joined) */
	pthread_mutex_t lock;         /* woken and stop */
	pthread_cond_t cond;          /* on CLOCK_MONOTONIC */
	int woken;                    /* job_wake since the last run began */
	int stop;                     /* job_stop asked */
};

/* Its lock and condition: once, before any thread may use the job. */
void job_init(struct job *job);
/* Start job's thread; name, run, arg, coalesce_ms and first_ms are set.
 * 0, or -1 and err. */
int job_start(struct job *job, char *err);
/* Run the job now (or right after the run in progress). */
void job_wake(struct job *job);
/* Stop the job: a run in progress finishes, no further run starts.
 * 0 when the thread ended within wait_ms, -1 when it still runs. */
int job_stop(struct job *job, int wait_ms);

#endif
