/*
 * job.c — the plumbing every background job of the agent shares (job.h):
 * a thread, a lock and a condition on CLOCK_MONOTONIC, a wake, a period
 * (what the work returns), and a stop with a bounded join, because a run
 * may sit inside a transfer or a load step past any deadline of ours.
 *
 * The thread waits until the next run is due or it is woken, lets further
 * wakes gather for coalesce_ms, and runs the work without its lock; a wake
 * during a run makes the next one start right after it.
 */
#include <errno.h>
#include <time.h>

#include "job.h"
#include "util.h"

#define NEVER INT64_MAX

/* Wait (lock held) until due (monotonic ms, or NEVER), job_stop, or, with
 * wakes, job_wake. */
static void
wait_until(struct job *job, int64_t due, int wakes)
{
	struct timespec ts;

	while (!job->stop && !(wakes && job->woken)) {
		if (due == NEVER) {
			pthread_cond_wait(&job->cond, &job->lock);
			continue;
		}
		if (util_now_ms() >= due)
			break;
		ts.tv_sec = (time_t)(due / 1000);
		ts.tv_nsec = (long)(due % 1000) * 1000000L;
		pthread_cond_timedwait(&job->cond, &job->lock, &ts);
	}
}

static void *
job_main(void *arg)
{
	struct job *job = arg;
	int64_t due, next;

	due = job->first_ms == JOB_IDLE ? NEVER : util_now_ms() +
	    job->first_ms;
	pthread_mutex_lock(&job->lock);
	for (;;) {
		wait_until(job, due, 1);
		if (job->stop)
			break;
		if (job->coalesce_ms > 0) {
			wait_until(job, util_now_ms() + job->coalesce_ms, 0);
			if (job->stop)
				break;
		}
		job->woken = 0;
		pthread_mutex_unlock(&job->lock);
		next = job->run(job->arg);
		due = next == JOB_IDLE ? NEVER : util_now_ms() + next;
		pthread_mutex_lock(&job->lock);
	}
	pthread_mutex_unlock(&job->lock);
	return NULL;
}

void
job_init(struct job *job)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&job->cond, &ca);
	pthread_condattr_destroy(&ca);
	job->woken = job->stop = job->started = 0;
}

int
job_start(struct job *job, char *err)
{
	if ((errno = pthread_create(&job->thread, NULL, job_main, job)) != 0) {
		errf_errno(err, "%s: thread", job->name);
		return -1;
	}
	job->started = 1;
	return 0;
}

void
job_wake(struct job *job)
{
	pthread_mutex_lock(&job->lock);
	job->woken = 1;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
}

int
job_stop(struct job *job, int wait_ms)
{
	struct timespec ts;

	if (!job->started)
		return 0;
	pthread_mutex_lock(&job->lock);
	job->stop = 1;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(job->thread, NULL, &ts) != 0)
		return -1;
	job->started = 0;
	return 0;
}
