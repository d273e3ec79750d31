/*
 * peerwatch.c — the agent's view of its peers: every 5 s it asks each
 * peer's heartbeat_url (S0.3's heartbeat, from this side) what the peer's
 * room, role and listener state are.  The provisioning listener uses it to
 * name the active room in its 503 while closed (S0.5), and `enumdr agent
 * status` shows it.  Failure detection and recovery decisions (S0.3, S0.4,
 * S4.4) belong to the checkers; this is information only.  The heartbeat
 * is asked and parsed by the peer protocol's client (lib/peerproto.c).
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "peerproto.h"
#include "util.h"

#define WATCH_TOTAL_MS  3000

/* Ask one peer through the peer protocol's client (lib/peerproto.c); fill
 * p (its name already set).  A heartbeat that answers but does not parse
 * is a failed poll like no answer: p->error names the member. */
static void
watch_one(const struct config_peer *cp, long connect_ms, struct pub_peer *p)
{
	struct peerproto_heartbeat hb;
	char err[ENUMDR_ERRLEN];

	p->polled = 1;
	p->reachable = 0;
	if (peerproto_heartbeat_get(cp->heartbeat_url, connect_ms,
	    WATCH_TOTAL_MS, &hb, NULL, err) != PEERPROTO_OK) {
		strlcpy_(p->error, err, sizeof(p->error));
		return;
	}
	p->reachable = p->seen = 1;
	p->error[0] = '\0';
	strlcpy_(p->room, hb.room, sizeof(p->room));
	strlcpy_(p->role, hb.role, sizeof(p->role));
	p->listener_open = hb.listener_open;
	util_utc_iso8601(p->last_seen, sizeof(p->last_seen));
	peerproto_heartbeat_free(&hb);
}

/* The job's work (job.h): one poll of every peer; the next in
 * AGENT_PEERWATCH_S. */
static int64_t
peerwatch_run(void *arg)
{
	struct agent *ag = arg;
	struct config_peer *peers;
	struct pub_peer p;
	size_t n, i, j;
	long connect_ms;

	if (ag->stopping)
		return JOB_IDLE;
	if ((peers = calloc(CONFIG_MAX_PEERS, sizeof(*peers))) == NULL) {
		log_warnx("peer watch: out of memory");
		return AGENT_PEERWATCH_S * 1000;
	}
	pthread_mutex_lock(&ag->cfg_lock);
	n = ag->cfg.npeers;
	memcpy(peers, ag->cfg.peers, n * sizeof(*peers));
	connect_ms = ag->cfg.connect_timeout_ms;
	pthread_mutex_unlock(&ag->cfg_lock);
	for (i = 0; i < n && !ag->stopping; i++) {
		if (peers[i].heartbeat_url[0] == '\0')
			continue;
		/* Start from what we knew: `seen` data outlives a failed
		 * poll. */
		memset(&p, 0, sizeof(p));
		pthread_mutex_lock(&ag->pub.lock);
		for (j = 0; j < ag->pub.npeers; j++)
			if (strcmp(ag->pub.peers[j].name, peers[i].name) == 0)
				p = ag->pub.peers[j];
		pthread_mutex_unlock(&ag->pub.lock);
		strlcpy_(p.name, peers[i].name, sizeof(p.name));
		watch_one(&peers[i], connect_ms, &p);
		pub_set_peer(&ag->pub, &p);
	}
	free(peers);
	return AGENT_PEERWATCH_S * 1000;
}

void
peerwatch_wake(struct agent *ag)
{
	job_wake(&ag->watch_job);
}

int
peerwatch_start(struct agent *ag, char *err)
{
	ag->watch_job.name = "peer watch";
	ag->watch_job.run = peerwatch_run;
	ag->watch_job.arg = ag;
	ag->watch_job.first_ms = 0;
	return job_start(&ag->watch_job, err);
}

int
peerwatch_stop(struct agent *ag, int wait_ms)
{
	return job_stop(&ag->watch_job, wait_ms);
}
