/*
 * replica.c — continuous replication (issue 14, doc/replication.md).
 *
 * What the peer API's long-poll of our journal needs: our journal
 * position (moved after every commit and import) with a condition to wait
 * on, and what each peer's polls tell us — a peer asks for after=N only
 * once it has durably applied our journal up to N, so its N is its
 * acknowledgement.
 *
 * repl_lock is a leaf (agent.h): nothing else is taken while it is held,
 * so repl_committed may be called under the writer lock, which keeps the
 * positions it is given in commit order.  repl_cond is broadcast whenever
 * our journal moves, a peer acknowledges, or the agent stops; it keeps
 * the default clock, CLOCK_REALTIME, which every timed wait on it uses
 * for its deadline (follower.c's too).  A wait here ends by the monotonic
 * clock, so a step of the wall clock lengthens one timed wait at most.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "util.h"

void
repl_init(struct agent *ag)
{
	size_t i;

	pthread_mutex_init(&ag->repl_lock, NULL);
	pthread_cond_init(&ag->repl_cond, NULL);
	ag->repl_journal = 0;
	ag->nrepl = 0;
	for (i = 0; i < ag->cfg.npeers && i < CONFIG_MAX_PEERS; i++) {
		memset(&ag->repl[i], 0, sizeof(ag->repl[i]));
		strlcpy_(ag->repl[i].name, ag->cfg.peers[i].name,
		    sizeof(ag->repl[i].name));
		strlcpy_(ag->repl[i].state, ag->cfg.repl_mode == REPL_OFF ?
		    "off" : "connecting", sizeof(ag->repl[i].state));
		ag->nrepl++;
	}
}

void
repl_wake(struct agent *ag)
{
	pthread_mutex_lock(&ag->repl_lock);
	pthread_cond_broadcast(&ag->repl_cond);
	pthread_mutex_unlock(&ag->repl_lock);
}

void
repl_committed(struct agent *ag, int64_t pos)
{
	pthread_mutex_lock(&ag->repl_lock);
	if (pos != ag->repl_journal) {
		ag->repl_journal = pos;
		pthread_cond_broadcast(&ag->repl_cond);
	}
	pthread_mutex_unlock(&ag->repl_lock);
}

int64_t
repl_wait_beyond(struct agent *ag, int64_t after, int wait_ms)
{
	struct timespec ts;
	int64_t due, left, pos;

	due = util_now_ms() + (wait_ms > 0 ? wait_ms : 0);
	pthread_mutex_lock(&ag->repl_lock);
	while (ag->repl_journal <= after && !atomic_load(&ag->stopping) &&
	    (left = due - util_now_ms()) > 0) {
		/* the deadline on repl_cond's clock, from what is left */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ag->repl_cond, &ag->repl_lock, &ts);
	}
	pos = ag->repl_journal;
	pthread_mutex_unlock(&ag->repl_lock);
	return pos;
}

/* The peer's entry by name; a peer added by SIGHUP gets one while there
 * is room.  NULL: none.  repl_lock held. */
static struct repl_peer *
peer_entry(struct agent *ag, const char *room)
{
	struct repl_peer *p;
	size_t i;

	for (i = 0; i < ag->nrepl; i++)
		if (strcmp(ag->repl[i].name, room) == 0)
			return &ag->repl[i];
	if (ag->nrepl >= CONFIG_MAX_PEERS)
		return NULL;
	p = &ag->repl[ag->nrepl++];
	memset(p, 0, sizeof(*p));
	strlcpy_(p->name, room, sizeof(p->name));
	strlcpy_(p->state, "connecting", sizeof(p->state));
	return p;
}

void
repl_note_ack(struct agent *ag, const char *room, int64_t seq)
{
	struct repl_peer *p;

	pthread_mutex_lock(&ag->repl_lock);
	if ((p = peer_entry(ag, room)) != NULL) {
		/* A peer that restored an older copy asks from further back:
		 * what it says now is what it holds. */
		p->acked = seq;
		p->acked_ms = util_now_ms();
		pthread_cond_broadcast(&ag->repl_cond);
	}
	pthread_mutex_unlock(&ag->repl_lock);
}
