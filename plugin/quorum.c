/*
 * quorum.c — against two writers (issue 15, doc/witness.md).  With
 * quorum.mode majority this room counts, once a second, the votes it
 * reaches: its own, each peer whose heartbeat answers, and the witness
 * (quorum.witness_url, enumdr-witness) when one is configured.  Without a
 * strict majority of all votes:
 *   - the listener may not open (the takeover's open step is refused, so
 *     the takeover fails: MASTER-FAILED, and the checker lowers this
 *     room's keepalived priority);
 *   - an open listener is closed once the majority has been missing for
 *     quorum.stand_down_ms, the role becomes MASTER-FAILED;
 * and ISOLATED (critical) says which votes were missing.  It clears when
 * the majority is back; keepalived's next transition (this room BACKUP
 * under the room that kept the majority) brings the role back.
 *
 * So a cut between two rooms makes one writer when a witness sees one of
 * them, and with three rooms a majority does it without a witness.  What
 * it costs: a room that loses its peers and the witness stops accepting
 * changes although it may be the only one left (the trade-off of Patroni's
 * DCS, corosync-qdevice and repmgr's witness).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "alarm_ids.h"
#include "log.h"
#include "peerproto.h"
#include "util.h"

#define QUORUM_PERIOD_MS 1000

static void
quorum_alarm(struct agent *ag, int raise, const char *what,
    const char *const *fig)
{
	struct alarm_ctx actx;
	char aerr[ENUMDR_ERRLEN];

	agent_alarm_ctx(ag, &actx);
	if ((raise ? alarm_raise(&actx, ALARM_ISOLATED, ALARM_CRITICAL, what,
	    fig, aerr) : alarm_clear(&actx, ALARM_ISOLATED, what, fig,
	    aerr)) == -1)
		log_warnx("alarm %s: %s", ALARM_ISOLATED, aerr);
}

static int64_t
quorum_run(void *arg)
{
	struct agent *ag = arg;
	struct config_peer *peers;
	struct peerproto_heartbeat hb;
	struct peerproto_witness w;
	char err[ENUMDR_ERRLEN], witness[CONFIG_URL_MAX], room[CONFIG_NAME_MAX];
	char missing[512], what[768], have_s[16], total_s[16];
	const char *fig[] = { "votes", have_s, "of", total_s, "missing",
	    missing, NULL };
	size_t n, i;
	int have = 1, total, majority, connect_ms, stand_down_ms, open;
	int64_t now;

	if (ag->stopping)
		return JOB_IDLE;
	if ((peers = calloc(CONFIG_MAX_PEERS, sizeof(*peers))) == NULL)
		return QUORUM_PERIOD_MS;
	pthread_mutex_lock(&ag->cfg_lock);
	n = ag->cfg.npeers;
	memcpy(peers, ag->cfg.peers, n * sizeof(*peers));
	strlcpy_(witness, ag->cfg.witness_url, sizeof(witness));
	strlcpy_(room, ag->cfg.room, sizeof(room));
	connect_ms = ag->cfg.connect_timeout_ms;
	stand_down_ms = ag->cfg.quorum_stand_down_ms;
	pthread_mutex_unlock(&ag->cfg_lock);
	/* a vote counts when it answered within this round */
	if (connect_ms > QUORUM_PERIOD_MS)
		connect_ms = QUORUM_PERIOD_MS;
	missing[0] = '\0';
	for (i = 0; i < n && !ag->stopping; i++) {
		if (peerproto_heartbeat_get(peers[i].heartbeat_url, connect_ms,
		    2L * connect_ms, &hb, NULL, err) == PEERPROTO_OK)
			have++;
		else
			snprintf(missing + strlen(missing), sizeof(missing) -
			    strlen(missing), "%sroom %s", missing[0] ? ", " :
			    "", peers[i].name);
		peerproto_heartbeat_free(&hb);
	}
	total = (int)n + 1;
	if (witness[0] != '\0') {
		total++;
		if (peerproto_witness_get(witness, room, connect_ms, &w, err) ==
		    PEERPROTO_OK)
			have++;
		else
			snprintf(missing + strlen(missing), sizeof(missing) -
			    strlen(missing), "%sthe witness (%.200s)",
			    missing[0] ? ", " : "", err);
	}
	free(peers);
	majority = have * 2 > total;
	now = util_now_ms();
	snprintf(have_s, sizeof(have_s), "%d", have);
	snprintf(total_s, sizeof(total_s), "%d", total);
	atomic_store(&ag->quorum_ok, majority);
	if (majority) {
		ag->quorum_lost_ms = 0;
		if (ag->quorum_alarm) {
			snprintf(what, sizeof(what), "room %s reaches %d of %d"
			    " votes again", room, have, total);
			quorum_alarm(ag, 0, what, fig);
			log_info("quorum: %s", what);
			ag->quorum_alarm = 0;
		}
		return QUORUM_PERIOD_MS;
	}
	if (ag->quorum_lost_ms == 0)
		ag->quorum_lost_ms = now;
	if (now - ag->quorum_lost_ms < stand_down_ms)
		return QUORUM_PERIOD_MS;
	pthread_mutex_lock(&ag->writer_lock);
	open = ag->open;
	if (open) {
		ag->open = 0;
		pub_set_open(&ag->pub, 0);
		pub_set_role(&ag->pub, "MASTER-FAILED");
	}
	pthread_mutex_unlock(&ag->writer_lock);
	if (open || !ag->quorum_alarm) {
		snprintf(what, sizeof(what), "room %s reaches only %d of %d"
		    " votes (missing: %s) for %lld ms: %s so that a cut cannot"
		    " make two writers", room, have, total, missing,
		    (long long)(now - ag->quorum_lost_ms), open ? "it stopped"
		    " accepting changes (listener closed, role MASTER-FAILED)" :
		    "it does not accept changes");
		log_warnx("quorum: %s", what);
		quorum_alarm(ag, 1, what, fig);
		ag->quorum_alarm = 1;
	}
	return QUORUM_PERIOD_MS;
}

/* The listener may open: 1, or 0 with why (quorum.mode majority and no
 * majority in the last round). */
int
quorum_allows_open(struct agent *ag, char *why, size_t whylen)
{
	if (!ag->cfg.quorum_majority || atomic_load(&ag->quorum_ok))
		return 1;
	snprintf(why, whylen, "room %s does not reach a majority of its votes"
	    " (its peers and the witness; see the ISOLATED alarm): it does not"
	    " accept changes", ag->cfg.room);
	return 0;
}

int
quorum_start(struct agent *ag, char *err)
{
	if (!ag->cfg.quorum_majority) {
		atomic_store(&ag->quorum_ok, 1);
		return 0;
	}
	ag->quorum_job.name = "quorum";
	ag->quorum_job.run = quorum_run;
	ag->quorum_job.arg = ag;
	ag->quorum_job.first_ms = 0;
	return job_start(&ag->quorum_job, err);
}

int
quorum_stop(struct agent *ag, int wait_ms)
{
	if (!ag->cfg.quorum_majority)
		return 0;
	return job_stop(&ag->quorum_job, wait_ms);
}
