/*
 * control.c — the client of enumdrd's control socket (S0.5, S0.6, S0.7)
 * and the one strict parser of its replies (issue 13): used by `enumdr
 * agent ...`, by the CLI's writing commands (provision, zone add,
 * snapshot, sync: the agent is the database's only writer) and by the
 * notify program to open and close the provisioning listener, ask for a
 * snapshot or a sync, report the VRRP role and read the agent's status.
 * Every step (connect, send, receive) is bounded by one deadline; a reply
 * is size-checked, must end in a newline, and is parsed with duplicate
 * keys refused; nothing a caller reads is defaulted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "json_util.h"
#include "control.h"
#include "util.h"

#define PATH_SHOWN 96          /* a member's path in a message, bytes */
#define READ_CHUNK 4096        /* the reply buffer grows by this at least */

/* ---- the reply envelope ------------------------------------------------ */

/* "control reply" or "control reply from PATH", for every message. */
static const char *
source(const struct control_reply *r, char *out, size_t outlen)
{
	if (r->from[0] == '\0')
		strlcpy_(out, "control reply", outlen);
	else
		snprintf(out, outlen, "control reply from %s", r->from);
	return out;
}

/* A boolean envelope member that may be absent (then 0). */
static int
envelope_boolean(const struct control_reply *r, const char *key, int *out,
    char *err)
{
	char src[CONTROL_FROM_MAX + 32];
	json_t *v = json_object_get(r->root, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		errf(err, "%s: member \"%s\": not a boolean (it is %s)",
		    source(r, src, sizeof(src)), key, json_util_type_name(v));
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* The envelope of a parsed root: ok, error, status, denied, closed,
 * active_room (see control.h). */
static int
check_envelope(struct control_reply *r, char *err)
{
	char src[CONTROL_FROM_MAX + 32];
	json_t *v;

	source(r, src, sizeof(src));
	if (!json_is_object(r->root)) {
		errf(err, "%s: not a JSON object (it is %s)", src,
		    json_util_type_name(r->root));
		return -1;
	}
	if ((v = json_object_get(r->root, "ok")) == NULL) {
		errf(err, "%s: member \"ok\" missing", src);
		return -1;
	}
	if (!json_is_boolean(v)) {
		errf(err, "%s: member \"ok\": not a boolean (it is %s)", src,
		    json_util_type_name(v));
		return -1;
	}
	r->ok = json_is_true(v);
	v = json_object_get(r->root, "error");
	if (!r->ok && v == NULL) {
		errf(err, "%s: a failure (\"ok\": false) without member"
		    " \"error\"", src);
		return -1;
	}
	if (v != NULL && !json_is_string(v)) {
		errf(err, "%s: member \"error\": not a string (it is %s)", src,
		    json_util_type_name(v));
		return -1;
	}
	r->error = r->ok ? NULL : json_string_value(v);
	if ((v = json_object_get(r->root, "status")) != NULL) {
		if (!json_is_integer(v)) {
			errf(err, "%s: member \"status\": not an integer (it"
			    " is %s)", src, json_util_type_name(v));
			return -1;
		}
		if (json_integer_value(v) < 100 || json_integer_value(v) > 599) {
			errf(err, "%s: member \"status\": %lld is out of range"
			    " 100..599", src, (long long)json_integer_value(v));
			return -1;
		}
		r->status = (int)json_integer_value(v);
	}
	if (envelope_boolean(r, "denied", &r->denied, err) == -1 ||
	    envelope_boolean(r, "closed", &r->closed, err) == -1)
		return -1;
	if (r->ok && (r->denied || r->closed)) {
		errf(err, "%s: member \"%s\": true in a reply that is \"ok\"",
		    src, r->denied ? "denied" : "closed");
		return -1;
	}
	v = json_object_get(r->root, "active_room");
	if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
		errf(err, "%s: member \"active_room\": not a string or null (it"
		    " is %s)", src, json_util_type_name(v));
		return -1;
	}
	r->active_room = json_string_value(v);
	return 0;
}

/* Parse text (len bytes; r->from already set) into r. */
static int
reply_parse(const char *text, size_t len, struct control_reply *r,
    char *err)
{
	char src[CONTROL_FROM_MAX + 32];
	json_error_t jerr;

	source(r, src, sizeof(src));
	if (len > CONTROL_REPLY_MAX) {
		errf(err, "%s: longer than %d bytes", src, CONTROL_REPLY_MAX);
		return -1;
	}
	if (memchr(text, '\n', len) != NULL) {
		errf(err, "%s: more than one line", src);
		return -1;
	}
	r->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->root == NULL) {
		errf(err, "%s: not JSON: %s at byte %d", src, jerr.text,
		    jerr.position);
		return -1;
	}
	return check_envelope(r, err);
}

int
control_reply_parse(const char *text, size_t len, struct control_reply *r,
    char *err)
{
	memset(r, 0, sizeof(*r));
	return reply_parse(text, len, r, err);
}

void
control_reply_free(struct control_reply *r)
{
	json_decref(r->root);
	free(r->text);
	r->root = NULL;
	r->text = NULL;
	r->len = 0;
	r->error = r->active_room = NULL;
}

/* ---- typed accessors --------------------------------------------------- */

/*
 * The value path names: "key", "key.key", "key[N]" and combinations of
 * them.  NULL with err when a step is missing, or is not the object or
 * array the path expects.  A null value is returned as json null.
 */
static json_t *
lookup(const struct control_reply *r, const char *path, char *err)
{
	char src[CONTROL_FROM_MAX + 32], key[64], shown[PATH_SHOWN];
	const char *p = path;
	json_t *v = r->root;
	size_t klen, idx;
	char *end;

	source(r, src, sizeof(src));
	while (*p != '\0') {
		snprintf(shown, sizeof(shown), "%.*s", (int)(p - path), path);
		if (*p == '[') {
			if (!json_is_array(v)) {
				errf(err, "%s: member \"%s\": not an array (it"
				    " is %s)", src, shown, json_util_type_name(v));
				return NULL;
			}
			idx = strtoul(p + 1, &end, 10);
			if (end == p + 1 || *end != ']')
				goto bad;
			p = end + 1;
			v = json_array_get(v, idx);
		} else {
			if (*p == '.')
				p++;
			klen = strcspn(p, ".[");
			if (klen == 0 || klen >= sizeof(key))
				goto bad;
			if (v != r->root && !json_is_object(v)) {
				errf(err, "%s: member \"%s\": not an object (it"
				    " is %s)", src, shown, json_util_type_name(v));
				return NULL;
			}
			memcpy(key, p, klen);
			key[klen] = '\0';
			p += klen;
			v = json_object_get(v, key);
		}
		if (v == NULL) {
			errf(err, "%s: member \"%.*s\" missing", src,
			    (int)(p - path), path);
			return NULL;
		}
	}
	if (v == r->root)
		goto bad;
	return v;
bad:
	errf(err, "%s: \"%s\" is not a member path", src, path);
	return NULL;
}

/* A message that the value at path is not what the caller needs. */
static int
mistyped(const struct control_reply *r, const char *path, const char *want,
    const json_t *v, char *err)
{
	char src[CONTROL_FROM_MAX + 32];

	errf(err, "%s: member \"%s\": not %s (it is %s)", source(r, src,
	    sizeof(src)), path, want, json_util_type_name(v));
	return -1;
}

int
control_reply_string(const struct control_reply *r, const char *path,
    const char **out, char *err)
{
	json_t *v;

	*out = NULL;
	if ((v = lookup(r, path, err)) == NULL)
		return -1;
	if (!json_is_string(v))
		return mistyped(r, path, "a string", v, err);
	*out = json_string_value(v);
	return 0;
}

int
control_reply_string_or_null(const struct control_reply *r,
    const char *path, const char **out, char *err)
{
	json_t *v;

	*out = NULL;
	if ((v = lookup(r, path, err)) == NULL)
		return -1;
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return mistyped(r, path, "a string or null", v, err);
	*out = json_string_value(v);
	return 0;
}

/* The integer v (at path) within min..max into *out. */
static int
take_integer(const struct control_reply *r, const char *path, json_t *v,
    long long min, long long max, long long *out, char *err)
{
	char src[CONTROL_FROM_MAX + 32];
	long long i;

	if (!json_is_integer(v))
		return mistyped(r, path, "an integer", v, err);
	i = (long long)json_integer_value(v);
	if (i < min || i > max) {
		errf(err, "%s: member \"%s\": %lld is out of range %lld..%lld",
		    source(r, src, sizeof(src)), path, i, min, max);
		return -1;
	}
	*out = i;
	return 0;
}

int
control_reply_integer(const struct control_reply *r, const char *path,
    long long min, long long max, long long *out, char *err)
{
	json_t *v;

	*out = 0;
	if ((v = lookup(r, path, err)) == NULL)
		return -1;
	return take_integer(r, path, v, min, max, out, err);
}

int
control_reply_integer_or_null(const struct control_reply *r,
    const char *path, long long min, long long max, long long *out,
    int *isnull, char *err)
{
	json_t *v;

	*out = 0;
	*isnull = 0;
	if ((v = lookup(r, path, err)) == NULL)
		return -1;
	if (json_is_null(v)) {
		*isnull = 1;
		return 0;
	}
	return take_integer(r, path, v, min, max, out, err);
}

int
control_reply_boolean(const struct control_reply *r, const char *path,
    int *out, char *err)
{
	json_t *v;

	*out = 0;
	if ((v = lookup(r, path, err)) == NULL)
		return -1;
	if (!json_is_boolean(v))
		return mistyped(r, path, "a boolean", v, err);
	*out = json_is_true(v);
	return 0;
}

int
control_reply_array(const struct control_reply *r, const char *path,
    size_t *n, char *err)
{
	json_t *v;

	*n = 0;
	if ((v = lookup(r, path, err)) == NULL)
		return -1;
	if (!json_is_array(v))
		return mistyped(r, path, "an array", v, err);
	*n = json_array_size(v);
	return 0;
}

int
control_reply_object_or_null(const struct control_reply *r,
    const char *path, int *present, char *err)
{
	json_t *v;

	*present = 0;
	if ((v = lookup(r, path, err)) == NULL)
		return -1;
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return mistyped(r, path, "an object or null", v, err);
	*present = 1;
	return 0;
}

int
control_reply_has(const struct control_reply *r, const char *path)
{
	char err[ENUMDR_ERRLEN];
	json_t *v = r->root != NULL ? lookup(r, path, err) : NULL;

	return v != NULL && !json_is_null(v);
}

/* ---- the client -------------------------------------------------------- */

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

/* A non-blocking socket connected to socket_path in *fd; -1 and err
 * (*denied when the file permissions refused us). */
static int
connect_agent(const char *socket_path, int timeout_ms, int *fdp,
    int *denied, char *err)
{
	struct sockaddr_un sun;
	struct timeval tv;
	int fd;

	*fdp = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_(sun.sun_path, socket_path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errf(err, "control socket path %s is too long", socket_path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
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
		*denied = errno == EACCES || errno == EPERM;
		errf_errno(err, "cannot reach the agent at %s", socket_path);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		errf_errno(err, "control: O_NONBLOCK");
		goto fail;
	}
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

/* len bytes of p, all of them before the deadline. */
static int
send_all(int fd, const char *p, size_t len, int64_t deadline,
    const char *socket_path, char *err)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) == -1) {
				errf_errno(err, "control: send to %s",
				    socket_path);
				return -1;
			}
			continue;
		}
		if (n <= 0) {
			errf_errno(err, "control: send to %s", socket_path);
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * The reply line into *text (malloc'd, NUL-terminated, without its
 * newline) and *len.  CONTROL_EUNREACHABLE when nothing came in time (or
 * the agent closed without a byte), CONTROL_EPROTO when the line was cut
 * (closed before its newline) or is longer than CONTROL_REPLY_MAX.
 */
static int
read_reply(int fd, int64_t deadline, int timeout_ms, const char *socket_path,
    char **textp, size_t *lenp, char *err)
{
	size_t len = 0, size = 0;
	char *buf = NULL, *nl, *grown;
	ssize_t n;
	int ret = CONTROL_EUNREACHABLE;

	for (;;) {
		if (len + 1 >= size) {
			size = size == 0 ? READ_CHUNK : size * 2;
			if (size > (size_t)CONTROL_REPLY_MAX + 2)
				size = (size_t)CONTROL_REPLY_MAX + 2;
			if ((grown = realloc(buf, size)) == NULL) {
				errf(err, "control: out of memory");
				goto fail;
			}
			buf = grown;
		}
		if (wait_fd(fd, POLLIN, deadline) == -1) {
			errf_errno(err, "control: no %sreply from the agent at"
			    " %s within %d ms", len > 0 ? "complete " : "",
			    socket_path, timeout_ms);
			goto fail;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			errf_errno(err, "control: read from %s", socket_path);
			goto fail;
		}
		if (n == 0 && len == 0) {
			errf(err, "control: the agent at %s closed the"
			    " connection without a reply", socket_path);
			goto fail;
		}
		if (n == 0) {
			errf(err, "control: the agent at %s closed the"
			    " connection after %zu bytes, before the end of"
			    " its reply line", socket_path, len);
			ret = CONTROL_EPROTO;
			goto fail;
		}
		buf[len + (size_t)n] = '\0';
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			len = (size_t)(nl - buf);
			break;
		}
		if (len > CONTROL_REPLY_MAX) {
			errf(err, "control: reply from %s longer than %d bytes",
			    socket_path, CONTROL_REPLY_MAX);
			ret = CONTROL_EPROTO;
			goto fail;
		}
	}
	if (len > CONTROL_REPLY_MAX) {
		errf(err, "control: reply from %s longer than %d bytes",
		    socket_path, CONTROL_REPLY_MAX);
		ret = CONTROL_EPROTO;
		goto fail;
	}
	*textp = buf;
	*lenp = len;
	return CONTROL_OK;
fail:
	free(buf);
	return ret;
}

int
control_request(const char *socket_path, const char *line, int timeout_ms,
    struct control_reply *r, char *err)
{
	return control_request_body(socket_path, line, NULL, 0, timeout_ms,
	    r, err);
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
    const char *body, size_t bodylen, int timeout_ms,
    struct control_reply *r, char *err)
{
	int64_t deadline = util_now_ms() + timeout_ms;
	int fd = -1, ret = CONTROL_EUNREACHABLE, denied = 0;

	memset(r, 0, sizeof(*r));
	strlcpy_(r->from, socket_path, sizeof(r->from));
	if (strchr(line, '\n') != NULL) {
		errf(err, "control: a request is one line");
		goto done;
	}
	if (connect_agent(socket_path, timeout_ms, &fd, &denied, err) == -1)
		goto done;
	/* The request, its newline, then the body (if any). */
	if (send_all(fd, line, strlen(line), deadline, socket_path, err) ==
	    -1 || send_all(fd, "\n", 1, deadline, socket_path, err) == -1 ||
	    (body != NULL && send_all(fd, body, bodylen, deadline,
	    socket_path, err) == -1))
		goto done;
	if ((ret = read_reply(fd, deadline, timeout_ms, socket_path, &r->text,
	    &r->len, err)) != CONTROL_OK)
		goto done;
	ret = reply_parse(r->text, r->len, r, err) == 0 ? CONTROL_OK :
	    CONTROL_EPROTO;
done:
	if (fd != -1)
		close(fd);
	/* The one distinction a caller needs: refused by permissions. */
	errno = ret == CONTROL_OK ? 0 : denied ? EACCES : ECONNREFUSED;
	return ret;
}
