/*
 * control.c — the client of enumdrd's control socket (S0.5, S0.6, S0.7):
 * used by `enumdr agent ...`, by the CLI's writing commands (provision,
 * zone add, snapshot, sync: the agent is the database's only writer) and
 * by the notify program to open and close the provisioning listener, ask
 * for a snapshot or a sync, report the VRRP role and read the agent's
 * status.  Every step (connect, send, receive) is bounded by one deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "util.h"

/* Wait for events on fd until the deadline; 0 ready, -1 (errno) else. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int rc;

	for (;;) {
		left = deadline - util_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		rc = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc > 0)
			return 0;
	}
}

int
control_request(const char *socket_path, const char *line, char *reply,
    size_t replylen, int timeout_ms, char *err)
{
	return control_request_body(socket_path, line, NULL, 0, reply,
	    replylen, timeout_ms, err);
}

int
control_long_timeout_ms(int transfer_timeout_ms)
{
	long long ms = 60000LL + 2LL * (transfer_timeout_ms > 0 ?
	    transfer_timeout_ms : 0);

	return ms > CONTROL_LONG_TIMEOUT_MAX_MS ? CONTROL_LONG_TIMEOUT_MAX_MS :
	    (int)ms;
}

int
control_request_body(const char *socket_path, const char *line,
    const char *body, size_t bodylen, char *reply, size_t replylen,
    int timeout_ms, char *err)
{
	struct sockaddr_un sun;
	int64_t deadline = util_now_ms() + timeout_ms;
	size_t len = 0, off = 0, linelen, total;
	struct timeval tv;
	ssize_t n;
	char *nl;
	int fd, ret = -1, denied = 0;

	if (replylen < 2) {
		errf(err, "control: reply buffer too small");
		errno = EINVAL;
		return -1;
	}
	reply[0] = '\0';
	linelen = strlen(line);
	if (strchr(line, '\n') != NULL) {
		errf(err, "control: a request is one line");
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_(sun.sun_path, socket_path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errf(err, "control socket path %s is too long", socket_path);
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		errf_errno(err, "control: socket");
		return -1;
	}
	/* A unix connect blocks only while the agent's backlog is full;
	 * SO_SNDTIMEO bounds that wait.  Then non-blocking, under poll. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		errf_errno(err, "control: SO_SNDTIMEO");
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		denied = errno == EACCES || errno == EPERM;
		errf_errno(err, "cannot reach the agent at %s", socket_path);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		errf_errno(err, "control: O_NONBLOCK");
		goto fail;
	}
	/* The request, its newline, then the body (if any). */
	total = linelen + 1 + (body != NULL ? bodylen : 0);
	while (off < total) {
		const char *p = off < linelen ? line + off :
		    off == linelen ? "\n" : body + (off - linelen - 1);
		size_t want = off < linelen ? linelen - off :
		    off == linelen ? 1 : total - off;

		n = send(fd, p, want, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) == -1) {
				errf_errno(err, "control: send to %s",
				    socket_path);
				goto fail;
			}
			continue;
		}
		if (n <= 0) {
			errf_errno(err, "control: send to %s", socket_path);
			goto fail;
		}
		off += (size_t)n;
	}
	/* The reply: one line. */
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) == -1) {
			errf_errno(err, "control: no reply from the agent at %s"
			    " within %d ms", socket_path, timeout_ms);
			goto fail;
		}
		n = read(fd, reply + len, replylen - 1 - len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			errf_errno(err, "control: read from %s", socket_path);
			goto fail;
		}
		reply[len + (size_t)n] = '\0';
		if ((nl = strchr(reply + len, '\n')) != NULL) {
			*nl = '\0';
			break;
		}
		len += (size_t)n;
		if (n == 0) {
			if (len == 0) {
				errf(err, "control: the agent at %s closed the"
				    " connection without a reply", socket_path);
				goto fail;
			}
			break;
		}
		if (len >= replylen - 1) {
			errf(err, "control: reply from %s longer than %zu"
			    " bytes", socket_path, replylen - 1);
			goto fail;
		}
	}
	ret = 0;
fail:
	close(fd);
	/* The one distinction a caller needs: refused by permissions. */
	errno = ret == 0 ? 0 : denied ? EACCES : ECONNREFUSED;
	return ret;
}
