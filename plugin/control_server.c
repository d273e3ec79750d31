/*
 * control_server.c — the agent's local control interface (S0.5: "tell the
 * communication agent to open the listening port"; S0.6, S0.7): a unix
 * stream socket, one request line -> one JSON reply line.
 *
 *   open | close           the provisioning listener
 *   status                 the published state (`enumdr agent status`)
 *   snapshot               export + push now; the reply comes when done
 *   role ROLE              what keepalived told enumdr-notify: MASTER,
 *                          BACKUP, FAULT, STOP, INIT, or the takeover's
 *                          steps MASTER-LOADING, MASTER-FAILED
 *
 * Only root and the agent's own user may ask (SO_PEERCRED); anyone else
 * gets {"ok":false,"error":"permission denied for uid N"} and nothing
 * changes.  The socket is mode 0660; a request line is at most 256 bytes
 * and must arrive within 2 s.  `close` takes the writer lock: when it has
 * answered, no further change commits until `open`.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "util.h"

/* Reply one line on a control client and close it. */
static void
control_reply(int fd, json_t *reply)
{
	char *text;
	size_t len, off = 0;
	ssize_t w;

	text = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	if (text == NULL)
		text = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (text != NULL) {
		len = strlen(text);
		while (off < len) {
			w = send(fd, text + off, len - off, MSG_NOSIGNAL);
			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (off == len)
			(void)send(fd, "\n", 1, MSG_NOSIGNAL);
		free(text);
	}
	close(fd);
}

static json_t *
reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
reply_error(const char *fmt, ...)
{
	char msg[512], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

/* Read one line (without its newline) within the deadline; -1 and a
 * reason in why when none came. */
static int
read_line(int fd, char *line, size_t linelen, const char **why)
{
	struct pollfd pfd;
	int64_t deadline = util_now_ms() + AGENT_CONTROL_TIMEOUT_MS, left;
	size_t len = 0;
	ssize_t r;
	char *nl;

	for (;;) {
		left = deadline - util_now_ms();
		if (left <= 0) {
			*why = "no complete request line within 2 s";
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			*why = "poll failed";
			return -1;
		}
		if (pfd.revents == 0)
			continue;
		r = read(fd, line + len, linelen - 1 - len);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == -1) {
			*why = "read failed";
			return -1;
		}
		line[len + (size_t)r] = '\0';
		if ((nl = strchr(line + len, '\n')) != NULL) {
			*nl = '\0';
			break;
		}
		len += (size_t)r;
		if (r == 0) {
			if (len == 0) {
				*why = "empty request";
				return -1;
			}
			break;		/* EOF ends the line too */
		}
		if (len >= linelen - 1) {
			*why = "request line longer than 256 bytes";
			return -1;
		}
	}
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		line[--len] = '\0';
	return 0;
}

static json_t *
set_listener(struct agent *ag, int open, uid_t uid)
{
	int was;

	pthread_mutex_lock(&ag->writer_lock);
	was = ag->open;
	ag->open = open;
	pub_set_open(&ag->pub, open);
	pthread_mutex_unlock(&ag->writer_lock);
	if (was != open)
		log_info("provisioning listener %s (control request of uid"
		    " %u)", open ? "opened" : "closed", (unsigned)uid);
	return json_pack("{s:b,s:s,s:s,s:b}", "ok", 1, "room", ag->cfg.room,
	    "listener", open ? "open" : "closed", "changed", was != open);
}

static json_t *
set_role(struct agent *ag, const char *arg, uid_t uid)
{
	/* keepalived's states, and the takeover's own steps that
	 * enumdr-notify reports and enumdr-check-service judges. */
	static const char *const roles[] = { "MASTER", "MASTER-LOADING",
	    "MASTER-FAILED", "BACKUP", "FAULT", "STOP", "INIT", NULL };
	char role[AGENT_ROLE_MAX];
	size_t i;

	for (i = 0; i < sizeof(role) - 1 && arg[i] != '\0'; i++)
		role[i] = (char)toupper((unsigned char)arg[i]);
	role[i] = '\0';
	for (i = 0; roles[i] != NULL; i++)
		if (arg[0] != '\0' && strlen(arg) < sizeof(role) &&
		    strcmp(role, roles[i]) == 0)
			break;
	if (roles[i] == NULL)
		return reply_error("role \"%.32s\" is not MASTER,"
		    " MASTER-LOADING, MASTER-FAILED, BACKUP, FAULT, STOP or"
		    " INIT", arg);
	pub_set_role(&ag->pub, role);
	log_info("role %s (control request of uid %u)", role, (unsigned)uid);
	return json_pack("{s:b,s:s,s:s}", "ok", 1, "room", ag->cfg.room,
	    "role", role);
}

/* A client's `snapshot`: the job runs it and returns the result, which
 * answer_snapshot sends (on the job's thread, the send bounded by the
 * client's SO_SNDTIMEO). */
struct snapshot_client {
	struct snapjob_request req;       /* first: done gets the client */
	int fd;
};

static void
answer_snapshot(struct snapjob_request *req)
{
	struct snapshot_client *sc = (struct snapshot_client *)req;

	control_reply(sc->fd, sc->req.result);
	free(sc);
}

static void
request_snapshot(struct agent *ag, int fd)
{
	struct snapshot_client *sc;
	const char *why;

	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		control_reply(fd, reply_error("out of memory"));
		return;
	}
	sc->fd = fd;
	sc->req.done = answer_snapshot;
	if (snapjob_request(ag, &sc->req, &why) == -1) {
		free(sc);
		control_reply(fd, reply_error("%s", why));
	}
}

/* One client: credentials, request line, reply. */
static void
serve(struct agent *ag, int fd)
{
	char line[AGENT_CONTROL_LINE_MAX + 1];
	struct ucred cred;
	struct timeval tv;
	socklen_t clen = sizeof(cred);
	const char *why = NULL, *arg;
	uid_t uid;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	uid = cred.uid;
	/* A client that does not read its reply must not hold us. */
	tv.tv_sec = AGENT_CONTROL_TIMEOUT_MS / 1000;
	tv.tv_usec = (AGENT_CONTROL_TIMEOUT_MS % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		log_warn("control: SO_SNDTIMEO");
	if (read_line(fd, line, sizeof(line), &why) == -1) {
		log_warnx("control: uid %u: %s", (unsigned)uid, why);
		control_reply(fd, reply_error("%s", why));
		return;
	}
	if (uid != 0 && uid != geteuid()) {
		log_warnx("control: request \"%.32s\" of uid %u (pid %ld)"
		    " refused", line, (unsigned)uid, (long)cred.pid);
		snprintf(line, sizeof(line), "permission denied for uid %u",
		    (unsigned)uid);
		control_reply(fd, json_pack("{s:b,s:s,s:b}", "ok", 0, "error",
		    line, "denied", 1));
		return;
	}
	arg = strchr(line, ' ');
	if (arg != NULL) {
		while (*arg == ' ')
			arg++;
	}
	if (strcmp(line, "open") == 0)
		control_reply(fd, set_listener(ag, 1, uid));
	else if (strcmp(line, "close") == 0)
		control_reply(fd, set_listener(ag, 0, uid));
	else if (strcmp(line, "status") == 0)
		control_reply(fd, pub_status_json(&ag->pub, ag->cfg.room));
	else if (strcmp(line, "snapshot") == 0)
		request_snapshot(ag, fd);	/* answered when run */
	else if (strncmp(line, "role ", 5) == 0 && arg != NULL)
		control_reply(fd, set_role(ag, arg, uid));
	else
		control_reply(fd, reply_error("unknown request \"%.64s\""
		    " (open, close, status, snapshot, role ROLE)", line));
}

static void *
control_main(void *arg)
{
	struct agent *ag = arg;
	struct pollfd pfd[2];
	int fd;

	for (;;) {
		pfd[0].fd = ag->ctl_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ag->ctl_wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("control: poll");
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		fd = accept4(ag->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED)
				log_warn("control: accept");
			continue;
		}
		serve(ag, fd);
	}
	return NULL;
}

/* Is something answering on the socket at path? */
static int
socket_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, live;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy_(sun.sun_path, path, sizeof(sun.sun_path));
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

int
control_server_start(struct agent *ag, char *err)
{
	const char *path = ag->cfg.control_socket;
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int fd = -1;

	ag->ctl_fd = ag->ctl_wake[0] = ag->ctl_wake[1] = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errf(err, "control socket path %s is too long", path);
		return -1;
	}
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			errf(err, "control socket %s exists and is not a"
			    " socket; not removing it", path);
			return -1;
		}
		if (socket_live(path)) {
			errf(err, "control socket %s is in use: another"
			    " enumdrd runs for this room", path);
			return -1;
		}
		if (unlink(path) == -1) {
			errf_errno(err, "remove stale control socket %s", path);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		errf_errno(err, "control socket");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy_(sun.sun_path, path, sizeof(sun.sun_path));
	/* Never world-accessible, not even between bind and chmod. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		errf_errno(err, "bind control socket %s", path);
		goto fail;
	}
	umask(old);
	if (chmod(path, 0660) == -1) {
		errf_errno(err, "chmod 0660 %s", path);
		goto fail;
	}
	if (listen(fd, 16) == -1) {
		errf_errno(err, "listen on control socket %s", path);
		goto fail;
	}
	if (pipe2(ag->ctl_wake, O_CLOEXEC) == -1) {
		errf_errno(err, "control: pipe");
		goto fail;
	}
	ag->ctl_fd = fd;
	if ((errno = pthread_create(&ag->ctl_thread, NULL, control_main,
	    ag)) != 0) {
		errf_errno(err, "control: thread");
		ag->ctl_fd = -1;
		goto fail;
	}
	ag->ctl_started = 1;
	return 0;
fail:
	close(fd);
	unlink(path);
	if (ag->ctl_wake[0] != -1) {
		close(ag->ctl_wake[0]);
		close(ag->ctl_wake[1]);
		ag->ctl_wake[0] = ag->ctl_wake[1] = -1;
	}
	return -1;
}

void
control_server_stop(struct agent *ag)
{
	if (ag->ctl_started) {
		if (write(ag->ctl_wake[1], "x", 1) == -1)
			log_warn("control: wake");
		pthread_join(ag->ctl_thread, NULL);
		ag->ctl_started = 0;
	}
	if (ag->ctl_fd != -1) {
		close(ag->ctl_fd);
		unlink(ag->cfg.control_socket);
		ag->ctl_fd = -1;
	}
	if (ag->ctl_wake[0] != -1) {
		close(ag->ctl_wake[0]);
		close(ag->ctl_wake[1]);
		ag->ctl_wake[0] = ag->ctl_wake[1] = -1;
	}
}
