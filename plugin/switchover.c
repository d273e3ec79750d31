/*
 * switchover.c — the target's side of a negotiated switchover (issue 15;
 * S3.2, S3.3, S1.5; doc/switchover.md), and the room's preference file.
 *
 * The active room's `enumdr switchover` drives the negotiation; this room,
 * the target, answers each step on the peer API (POST /v1/switchover):
 *
 *   request-switch   agree-switch when this room can take over at once
 *                    (BACKUP, listener closed, storage sound, following
 *                    the asker's journal), refused (with why) otherwise;
 *   going-to-switch  the asker's listener is closed at journal position P:
 *                    delay (S3.3) until this room has applied the asker's
 *                    journal up to P (at most wait_ms), then set this
 *                    room's preference, so that keepalived gives it the
 *                    VIP: switching; refused when not caught up in time;
 *   abort            drop the preference again: aborted.
 *
 * The preference is a file, state_dir/preferred, holding 1 or 0, that
 * keepalived tracks (track_file enumdr_preferred, weight 100 in the shipped
 * keepalived.conf): a preferred room's priority is 100 above its own, more
 * than the gap between any two rooms' priorities, so it wins the election
 * while it is healthy (its checker's weight -100 takes that back).  It
 * stays until the next switchover moves it, across restarts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "peerproto.h"
#include "util.h"

#define PREFERRED_NAME "preferred"
#define STANDDOWN_NAME "standdown"

/* Write 1 or 0 into state_dir/name (atomically: keepalived reads it). */
static int
flag_file_set(struct agent *ag, const char *name, int on, char *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	const char *text = on ? "1\n" : "0\n";
	int fd, saved;

	if (util_path_join(path, sizeof(path), ag->cfg.state_dir, name,
	    err) == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		errf_errno(err, "write %s", tmp);
		return -1;
	}
	if (write(fd, text, 2) != 2 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		errf_errno(err, "write %s", tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		errf_errno(err, "rename %s to %s", tmp, path);
		return -1;
	}
	return 0;
}

int
agent_preferred_set(struct agent *ag, int on, char *err)
{
	char path[PATH_MAX];

	if (flag_file_set(ag, PREFERRED_NAME, on, err) == -1)
		return -1;
	(void)util_path_join(path, sizeof(path), ag->cfg.state_dir,
	    PREFERRED_NAME, NULL);
	log_info("switchover: this room's preference is now %d (%s, tracked"
	    " by keepalived)", on, path);
	return 0;
}

/*
 * The stand-down file (track_file enumdr_standdown, weight 0): 1 puts this
 * room's VRRP instance in FAULT, and a MASTER that enters FAULT sends a
 * priority-0 advert, so that the target takes the VIP after its skew time
 * instead of its master-down timer.  Set for at most ms: the main loop
 * clears it then whatever happened to the command that set it
 * (agent_standdown_tick), and the agent's start clears a stale one.
 */
int
agent_standdown_set(struct agent *ag, int ms, char *err)
{
	if (flag_file_set(ag, STANDDOWN_NAME, ms > 0, err) == -1)
		return -1;
	atomic_store(&ag->standdown_until, ms > 0 ? util_now_ms() + ms : 0);
	log_info("switchover: %s", ms > 0 ? "this room stands down from VRRP"
	    " (FAULT) for the switchover" : "this room's stand-down ended");
	return 0;
}

void
agent_standdown_tick(struct agent *ag)
{
	char err[ENUMDR_ERRLEN];
	int64_t until = atomic_load(&ag->standdown_until);

	if (until != 0 && util_now_ms() >= until &&
	    agent_standdown_set(ag, 0, err) == -1)
		log_warnx("switchover: %s", err);
}

int
agent_preferred_get(struct agent *ag)
{
	char path[PATH_MAX], buf[8], err[ENUMDR_ERRLEN];
	ssize_t n;
	int fd;

	if (util_path_join(path, sizeof(path), ag->cfg.state_dir,
	    PREFERRED_NAME, err) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && buf[0] == '1';
}

/* Can this room take over from room `from` now?  0, or -1 with why. */
static int
can_take_over(struct agent *ag, const char *from, char *why, size_t whylen)
{
	char role[AGENT_ROLE_MAX], state[16], ferr[256];
	size_t i;
	int open, found = 0;

	pthread_mutex_lock(&ag->pub.lock);
	strlcpy_(role, ag->pub.role, sizeof(role));
	open = ag->pub.listener_open;
	pthread_mutex_unlock(&ag->pub.lock);
	if (strcmp(role, "BACKUP") != 0) {
		snprintf(why, whylen, "room %s is %s, not BACKUP", ag->cfg.room,
		    role);
		return -1;
	}
	if (open) {
		snprintf(why, whylen, "room %s has its listener open",
		    ag->cfg.room);
		return -1;
	}
	if (atomic_load(&ag->storage) != AGENT_STORAGE_OK) {
		snprintf(why, whylen, "room %s cannot write its database"
		    " (STORAGE alarm)", ag->cfg.room);
		return -1;
	}
	if (ag->cfg.repl_mode == REPL_OFF) {
		snprintf(why, whylen, "room %s does not follow journals"
		    " (replication.mode off): it could not catch up first",
		    ag->cfg.room);
		return -1;
	}
	pthread_mutex_lock(&ag->repl_lock);
	for (i = 0; i < ag->nrepl; i++)
		if (strcmp(ag->repl[i].name, from) == 0) {
			found = 1;
			strlcpy_(state, ag->repl[i].state, sizeof(state));
			strlcpy_(ferr, ag->repl[i].error, sizeof(ferr));
		}
	pthread_mutex_unlock(&ag->repl_lock);
	if (!found) {
		snprintf(why, whylen, "room %s is not a peer of room %s", from,
		    ag->cfg.room);
		return -1;
	}
	if (strcmp(state, "following") != 0 &&
	    strcmp(state, "catching-up") != 0) {
		snprintf(why, whylen, "room %s is not following room %s's"
		    " journal (state %s%s%s)", ag->cfg.room, from, state,
		    ferr[0] ? ": " : "", ferr);
		return -1;
	}
	return 0;
}

/* Our cursor in room from's journal (0 when not followed). */
static int64_t
cursor_of(struct agent *ag, const char *from)
{
	int64_t c = 0;
	size_t i;

	pthread_mutex_lock(&ag->repl_lock);
	for (i = 0; i < ag->nrepl; i++)
		if (strcmp(ag->repl[i].name, from) == 0)
			c = ag->repl[i].cursor;
	pthread_mutex_unlock(&ag->repl_lock);
	return c;
}

enum MHD_Result
switchover_handle(struct agent *ag, struct MHD_Connection *conn,
    const char *from, const char *state, long long position,
    long long wait_ms)
{
	struct peerproto_switchover sw;
	enum peerproto_sw_request req;
	char why[PEERPROTO_TEXT_MAX - 64], err[ENUMDR_ERRLEN];

	memset(&sw, 0, sizeof(sw));
	strlcpy_(sw.room, ag->cfg.room, sizeof(sw.room));
	if (peerproto_sw_request_from_name(state, &req) == -1)
		return http_reply_error(conn, MHD_HTTP_BAD_REQUEST, "state",
		    "state \"%.32s\" is not a switchover request"
		    " (request-switch, going-to-switch, abort)", state);
	switch (req) {
	case PEERPROTO_SW_REQUEST:
		if (can_take_over(ag, from, why, sizeof(why)) == -1) {
			sw.answer = PEERPROTO_SW_REFUSED;
			snprintf(sw.error, sizeof(sw.error), "%s", why);
		} else
			sw.answer = PEERPROTO_SW_AGREE;
		break;
	case PEERPROTO_SW_GOING:
		/* S3.3: delay until the asker's journal is applied up to
		 * where its listener closed */
		if (can_take_over(ag, from, why, sizeof(why)) == -1 ||
		    repl_catchup(ag, from, position, (int)wait_ms, why,
		    sizeof(why)) == -1) {
			sw.answer = PEERPROTO_SW_REFUSED;
			snprintf(sw.error, sizeof(sw.error), "%s", why);
		} else if (agent_preferred_set(ag, 1, err) == -1) {
			sw.answer = PEERPROTO_SW_REFUSED;
			snprintf(sw.error, sizeof(sw.error), "room %s cannot"
			    " take the preference: %.300s", ag->cfg.room, err);
		} else
			sw.answer = PEERPROTO_SW_SWITCHING;
		break;
	case PEERPROTO_SW_ABORT:
		if (agent_preferred_get(ag) && agent_preferred_set(ag, 0,
		    err) == -1) {
			sw.answer = PEERPROTO_SW_REFUSED;
			snprintf(sw.error, sizeof(sw.error), "%.400s", err);
		} else
			sw.answer = PEERPROTO_SW_ABORTED;
		break;
	}
	sw.position = cursor_of(ag, from);
	if (sw.answer == PEERPROTO_SW_REFUSED)
		log_warnx("switchover: room %s asks %s (position %lld): refused:"
		    " %s", from, state, position, sw.error);
	else
		log_info("switchover: room %s asks %s (position %lld): %s",
		    from, state, position,
		    peerproto_sw_answer_name(sw.answer));
	return http_reply_json(conn, MHD_HTTP_OK,
	    peerproto_switchover_json(&sw));
}
