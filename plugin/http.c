/*
 * http.c — what the two HTTP daemons of enumdrd share (S0.5 provisioning
 * listener, S0.3/S0.4 peer API): binding ADDR:PORT ourselves (so that a
 * bind failure is reported with its errno), libmicrohttpd with a thread
 * per connection (a heartbeat never queues behind a slow provisioning
 * request), and JSON replies built with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "util.h"

#define HTTP_CONNECTION_TIMEOUT_S 30	/* an idle or stalled client */

static void http_log(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/* libmicrohttpd's own error messages go to our log, named by daemon. */
static void
http_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	log_warnx("%s: libmicrohttpd: %s", (const char *)cls, msg);
}

/* Bind and listen on "ADDR:PORT" or "[V6]:PORT"; the socket or -1. */
static int
http_bind(const char *listen_on, const char *what, int *is_v6, char *err)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon, *port, *h;
	size_t hl;
	int fd = -1, one = 1, rc;

	colon = strrchr(listen_on, ':');
	if (colon == NULL || colon == listen_on) {
		errf(err, "%s: \"%s\" is not ADDRESS:PORT", what, listen_on);
		return -1;
	}
	port = colon + 1;
	h = listen_on;
	hl = (size_t)(colon - listen_on);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		errf(err, "%s: address in \"%s\" too long", what, listen_on);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		errf(err, "%s: cannot resolve \"%s\": %s", what, listen_on,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, res->ai_protocol);
	if (fd == -1) {
		errf_errno(err, "%s: socket for %s", what, listen_on);
		goto fail;
	}
	/* A restart right after a crash must not fail on TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1) {
		errf_errno(err, "%s: SO_REUSEADDR on %s", what, listen_on);
		goto fail;
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		errf_errno(err, "%s: bind %s", what, listen_on);
		goto fail;
	}
	if (listen(fd, 64) == -1) {
		errf_errno(err, "%s: listen on %s", what, listen_on);
		goto fail;
	}
	*is_v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

struct MHD_Daemon *
http_start(const char *listen_on, const char *what,
    unsigned int connection_limit, MHD_AccessHandlerCallback handler,
    void *handler_cls, MHD_RequestCompletedCallback completed, char *err)
{
	struct MHD_Daemon *d;
	unsigned int flags;
	int fd, v6 = 0;

	if ((fd = http_bind(listen_on, what, &v6, err)) == -1)
		return NULL;
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* The logger first: MHD logs option problems with it. */
	d = MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
	    MHD_OPTION_EXTERNAL_LOGGER, http_log, (void *)(uintptr_t)what,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, connection_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)HTTP_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, handler_cls,
	    MHD_OPTION_END);
	if (d == NULL) {
		errf(err, "%s: libmicrohttpd could not start on %s (see the"
		    " log line before)", what, listen_on);
		close(fd);
		return NULL;
	}
	return d;
}

enum MHD_Result
http_reply_json(struct MHD_Connection *conn, unsigned int status,
    json_t *obj)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text, *body;
	size_t len;

	text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL) {
		static const char oom[] = "{\"error\":\"out of memory\"}\n";

		r = MHD_create_response_from_buffer(sizeof(oom) - 1,
		    (void *)(uintptr_t)oom, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		len = strlen(text);
		if ((body = realloc(text, len + 2)) == NULL) {
			free(text);
			return MHD_NO;
		}
		body[len++] = '\n';
		body[len] = '\0';
		r = MHD_create_response_from_buffer(len, body,
		    MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(body);
	}
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result
http_reply_error(struct MHD_Connection *conn, unsigned int status,
    const char *field, const char *fmt, ...)
{
	char msg[ENUMDR_ERRLEN + 128], *p;
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A message may quote the client's bytes or be cut inside a UTF-8
	 * sequence; jansson accepts only valid UTF-8. */
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	o = json_pack("{s:s}", "error", msg);
	if (o != NULL && field != NULL)
		json_object_set_new(o, "field", json_string(field));
	return http_reply_json(conn, status, o);
}

long long
http_content_length(struct MHD_Connection *conn)
{
	const char *v;
	char *end;
	long long n;

	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return n;
}
