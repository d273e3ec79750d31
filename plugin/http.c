/*
 * http.c — what the two HTTP daemons of enumdrd share (S0.5 provisioning
 * listener, S0.3/S0.4 peer API): binding ADDR:PORT ourselves (so that a
 * bind failure is reported with its errno), libmicrohttpd with a thread
 * per connection (a heartbeat never queues behind a slow provisioning
 * request), JSON replies built with jansson, and the guard that keeps a
 * hostile client from taking a daemon away from the room (issue 12):
 *
 *  - the request target is checked raw, before libmicrohttpd decodes it
 *    in place (the URI log callback): printable ASCII only (0x21-0x7e),
 *    every %XX well-formed and decoding to printable ASCII, no raw NUL.
 *    Anything else is a 400 {"error","field"} and the module's handler
 *    never runs;
 *  - admission (the accept policy and the connection-started
 *    notification): at most `connections` at once, of which
 *    `local_reserve` only for this machine's own clients (the room's
 *    checker: source address == the address it connected to, or
 *    127.0.0.1 / ::1), at most `per_address` from any other address.  A
 *    client over a limit gets a short fixed 503 (JSON, Retry-After,
 *    Connection: close) the moment it connects, not a silent close; its
 *    request is still read, so that closing it 200 ms later is no reset
 *    that could destroy the answer.  Only a flood that fills even the
 *    HTTP_REFUSE_ROOM connections kept for answering 503 is closed
 *    unanswered (and counted).  libmicrohttpd does the accepting (no own
 *    accept loop with MHD_add_connection): enumdrd.c quiesces and stops
 *    the daemons with MHD_quiesce_daemon / MHD_stop_daemon, which an
 *    outside accept thread would race with;
 *  - deadlines, enforced by one watchdog thread that shuts a late
 *    connection's socket down: a request's headers within
 *    header_timeout_ms of the connection's start or of the previous
 *    request's end (answered 408 when the request had begun), its body
 *    and answer within body_timeout_ms of the headers (time spent in our
 *    own handler does not count), or, when min_rate is set, for as long
 *    as the transfer moves min_rate bytes per second over each 10 s
 *    (TCP_INFO: bytes received + bytes the client acknowledged);
 *  - refused and cut connections are logged in at most one summary line
 *    per listener per 10 s, and libmicrohttpd's own messages are
 *    rate-limited the same way: an attack cannot flood syslog.
 *
 * What this relies on in libmicrohttpd 0.9.75 (src/microhttpd/):
 *  - daemon.c new_connection_prepare_ / new_connection_process_: the
 *    accept policy, then the STARTED notification, run in the daemon's
 *    polling thread, before the connection's own thread exists (so a 503
 *    written there cannot mix with anything libmicrohttpd sends);
 *  - daemon.c MHD_cleanup_connections: the CLOSED notification comes
 *    before the socket is closed, and thread_main_handle_connection only
 *    shuts the socket down ("do not close socket here"): while a
 *    connection is in our table (under guard_lock) its fd is still its
 *    own, so a shutdown() under that lock never hits a reused descriptor;
 *  - connection.c parse_initial_message_line: the URI log callback sees
 *    the raw target, query included, before MHD_parse_arguments_ and the
 *    unescaper; it sets client_aware, so the completed notification
 *    always follows (it frees our request); the handler later gets the
 *    same pointer as url, and version just past the target's end in the
 *    same line buffer (which is how a raw NUL inside it shows);
 *  - connection.c MHD_connection_close_ / connection_reset: the completed
 *    notification of a request comes before the connection's CLOSED one;
 *  - with a thread per connection, what libmicrohttpd logs about a
 *    connection it logs from that connection's thread (thread_conn).
 *
 * guard_lock is a leaf lock: nothing else is taken while it is held, and
 * no log line is written under it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/tcp.h>	/* struct tcp_info with tcpi_bytes_acked */

#include "agent.h"
#include "log.h"
#include "util.h"

#define HTTP_CONNECTION_TIMEOUT_S 30	/* libmicrohttpd's idle timeout */
#define HTTP_SERVERS_MAX     4		/* daemons in one process */
#define HTTP_REFUSE_ROOM     128	/* connections being answered 503 at once */
#define HTTP_REFUSE_WAIT_MS  200	/* a refused client may send its request */
#define HTTP_RETRY_AFTER_S   5		/* Retry-After of a 503 */
#define HTTP_TICK_MS         200	/* the watchdog's period */
#define HTTP_RATE_WINDOW_MS  10000	/* min_rate is measured over this */
#define HTTP_LOG_PERIOD_MS   10000	/* one summary line per listener at most */
#define HTTP_MHD_LOG_BURST   5		/* libmicrohttpd lines per period */
#define HTTP_TARGET_MAX      2048	/* a longer request target is a 414 */
#define HTTP_RAW_MAX         512	/* a fixed answer the watchdog writes */
#define HTTP_BODY_MAX        256	/* its JSON body */
#define HTTP_STR_(x)         #x
#define HTTP_STR(x)          HTTP_STR_(x)

/* A client's address without its port; IPv4-mapped IPv6 as IPv4. */
struct http_host {
	int family;			/* AF_INET, AF_INET6, 0 = unknown */
	unsigned char addr[16];
};

enum http_phase {
	PHASE_HEADERS,			/* waiting for a request's headers */
	PHASE_BODY			/* headers in: body, handler, answer */
};

enum http_refusal {
	REFUSE_NONE,
	REFUSE_FULL,			/* over the connection limit */
	REFUSE_ADDRESS			/* over the per-address limit */
};

/* Why connections were refused or cut since the last summary line. */
struct http_counts {
	unsigned int full;		/* 503: over the connection limit */
	unsigned int address;		/* 503: over the per-address limit */
	unsigned int dropped;		/* closed unanswered: past every margin */
	unsigned int headers;		/* headers not complete in time */
	unsigned int body;		/* body or answer not complete in time */
	unsigned int slow;		/* a transfer slower than min_rate */
	unsigned int mhd;		/* libmicrohttpd messages not logged */
};

struct http_server;

/* One connection libmicrohttpd holds (its socket context). */
struct http_conn {
	struct http_conn *next, *prev;
	struct http_server *srv;
	int fd;				/* the connection's socket */
	struct http_host peer;
	char peer_text[INET6_ADDRSTRLEN];
	int local;			/* from this machine */
	enum http_refusal refused;
	enum http_phase phase;
	int request_begun;		/* this request's line has arrived */
	int cut;			/* shut down by the watchdog */
	int64_t accepted_ms;		/* monotonic, like every _ms here */
	int64_t phase_ms;		/* when the phase began */
	int64_t handler_ms;		/* spent in our handler in this phase */
	int64_t handler_since;		/* > 0 while a handler runs */
	int rate_known;			/* rate_bytes came from TCP_INFO */
	uint64_t rate_bytes;		/* bytes moved at the checkpoint */
	int64_t rate_ms;		/* the checkpoint */
	int64_t rate_handler_ms;	/* handler_ms at the checkpoint */
};

/* One request (libmicrohttpd's *req_cls): created by the URI log
 * callback, freed by the completed notification. */
struct http_request {
	struct http_conn *conn;		/* NULL when not tracked */
	void *module_cls;		/* the module's own *req_cls */
	const char *raw_uri;		/* the target as it arrived */
	size_t raw_len;			/* its length up to the first NUL */
	int started;			/* the handler has been called */
	int answered;			/* we answered: the module never runs */
	unsigned int status;		/* != 0: what is wrong with the target */
	char field[40];
	char msg[256];
};

/* One daemon: its limits, its module and its connections. */
struct http_server {
	int used;
	char what[64];			/* "peer API", for messages */
	struct http_limits lim;
	unsigned int mhd_limit;		/* ours + room to answer 503 */
	MHD_AccessHandlerCallback handler;
	void *handler_cls;
	MHD_RequestCompletedCallback completed;
	struct http_host listen_host;	/* family 0 for the wildcard */
	struct http_conn *conns;
	unsigned int nconns;		/* in conns */
	unsigned int served;		/* of those, not refused */
	struct http_counts counts;	/* since counts_since_ms */
	int64_t counts_since_ms;
	int64_t last_log_ms;
	char last_client[INET6_ADDRSTRLEN];
	int64_t mhd_window_ms;
	unsigned int mhd_lines;		/* in this window */
	char raw_full[HTTP_RAW_MAX];	/* the 503s, the 408: whole answers */
	char raw_address[HTTP_RAW_MAX];
	char raw_late[HTTP_RAW_MAX];
};

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_server servers[HTTP_SERVERS_MAX];
static int guard_started;
/* The connection a libmicrohttpd connection thread serves (set at its
 * first request): what it logs about a connection we refused or cut is
 * our own doing, already in the summary. */
static _Thread_local struct http_conn *thread_conn;

static void http_log(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
static void target_fail(struct http_request *, unsigned int, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));

/* ---- addresses -------------------------------------------------------- */

static void
host_of(const struct sockaddr *sa, struct http_host *h)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(h, 0, sizeof(*h));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		memcpy(&s4, sa, sizeof(s4));
		h->family = AF_INET;
		memcpy(h->addr, &s4.sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&s6, sa, sizeof(s6));
		if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
			h->family = AF_INET;
			memcpy(h->addr, s6.sin6_addr.s6_addr + 12, 4);
		} else {
			h->family = AF_INET6;
			memcpy(h->addr, s6.sin6_addr.s6_addr, 16);
		}
	}
}

static int
host_equal(const struct http_host *a, const struct http_host *b)
{
	return a->family != 0 && a->family == b->family &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* 127.0.0.1 or ::1: the loopback host (not all of 127/8). */
static int
host_loopback(const struct http_host *h)
{
	static const unsigned char v4[16] = { 127, 0, 0, 1 };
	static const unsigned char v6[16] = { [15] = 1 };

	return (h->family == AF_INET && memcmp(h->addr, v4, 16) == 0) ||
	    (h->family == AF_INET6 && memcmp(h->addr, v6, 16) == 0);
}

static int
host_any(const struct http_host *h)
{
	static const unsigned char zero[16];

	return h->family == 0 || memcmp(h->addr, zero, 16) == 0;
}

static void
host_text(const struct http_host *h, char *out, size_t len)
{
	if (h->family == 0 ||
	    inet_ntop(h->family, h->addr, out, (socklen_t)len) == NULL)
		strlcpy_(out, "?", len);
}

/* ---- libmicrohttpd's log ------------------------------------------------ */

/* libmicrohttpd's own messages go to our log, named by daemon, at most
 * HTTP_MHD_LOG_BURST per period (the rest are counted in the summary). */
static void
http_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[512];
	size_t len;
	int64_t now = util_now_ms();
	int show;

	pthread_mutex_lock(&guard_lock);
	if (thread_conn != NULL && (thread_conn->refused != REFUSE_NONE ||
	    thread_conn->cut)) {
		pthread_mutex_unlock(&guard_lock);
		return;
	}
	if (now - srv->mhd_window_ms >= HTTP_LOG_PERIOD_MS) {
		srv->mhd_window_ms = now;
		srv->mhd_lines = 0;
	}
	show = srv->mhd_lines < HTTP_MHD_LOG_BURST;
	if (show)
		srv->mhd_lines++;
	else {
		if (srv->counts_since_ms == 0)
			srv->counts_since_ms = now;
		srv->counts.mhd++;
	}
	pthread_mutex_unlock(&guard_lock);
	if (!show)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	log_warnx("%s: libmicrohttpd: %s", srv->what, msg);
}

/* ---- the request target ------------------------------------------------- */

static void
target_fail(struct http_request *rq, unsigned int status, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	if (rq->status != 0)
		return;		/* the first problem is the one named */
	rq->status = status;
	strlcpy_(rq->field, field, sizeof(rq->field));
	va_start(ap, fmt);
	vsnprintf(rq->msg, sizeof(rq->msg), fmt, ap);
	va_end(ap);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Which field a problem at t[at] is about: "path", the query parameter's
 * name when it is a plain word and the problem is in its value, else
 * "query". */
static void
target_field(const char *t, size_t at, size_t query, size_t key,
    char *out, size_t outlen)
{
	size_t i, eq = SIZE_MAX;

	if (query == SIZE_MAX || at < query) {
		strlcpy_(out, "path", outlen);
		return;
	}
	for (i = key; i < at; i++)
		if (t[i] == '=') {
			eq = i;
			break;
		}
	if (eq == SIZE_MAX || eq == key || eq - key >= outlen) {
		strlcpy_(out, "query", outlen);
		return;
	}
	for (i = key; i < eq; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' &&
		    t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
		    t[i] == '_' || t[i] == '-')) {
			strlcpy_(out, "query", outlen);
			return;
		}
	memcpy(out, t + key, eq - key);
	out[eq - key] = '\0';
}

/* The raw request target t (len bytes): printable ASCII, every %XX
 * well-formed and decoding to printable ASCII.  Fills rq when not. */
static void
target_check(struct http_request *rq, const char *t, size_t len)
{
	static const char rule[] = "a request path and query must be"
	    " printable ASCII (0x21-0x7e), raw or %-escaped";
	char field[40];
	size_t i, query = SIZE_MAX, key = 0;
	unsigned char c;
	int hi, lo, v;

	if (len == 0) {
		target_fail(rq, MHD_HTTP_BAD_REQUEST, "path",
		    "path: the request has no target");
		return;
	}
	if (len > HTTP_TARGET_MAX) {
		target_fail(rq, MHD_HTTP_URI_TOO_LONG, "path",
		    "path: the request target is %zu bytes long, more than"
		    " the %d allowed", len, HTTP_TARGET_MAX);
		return;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)t[i];
		if (c == '?' && query == SIZE_MAX) {
			query = key = i + 1;
			continue;
		}
		if (c == '&' && query != SIZE_MAX) {
			key = i + 1;
			continue;
		}
		if (c < 0x21 || c > 0x7e) {
			target_field(t, i, query, key, field, sizeof(field));
			target_fail(rq, MHD_HTTP_BAD_REQUEST, field,
			    "%s: raw byte 0x%02x at byte %zu of the target; %s",
			    field, c, i, rule);
			return;
		}
		if (c != '%')
			continue;
		hi = i + 1 < len ? hexval((unsigned char)t[i + 1]) : -1;
		lo = i + 2 < len ? hexval((unsigned char)t[i + 2]) : -1;
		target_field(t, i, query, key, field, sizeof(field));
		if (hi == -1 || lo == -1) {
			target_fail(rq, MHD_HTTP_BAD_REQUEST, field,
			    "%s: \"%.3s\" at byte %zu of the target is not a"
			    " percent-escape (%% and two hex digits)", field,
			    t + i, i);
			return;
		}
		v = hi * 16 + lo;
		if (v == 0) {
			target_fail(rq, MHD_HTTP_BAD_REQUEST, field,
			    "%s: \"%.3s\" at byte %zu of the target decodes to"
			    " a NUL byte; %s", field, t + i, i, rule);
			return;
		}
		if (v < 0x21 || v > 0x7e) {
			target_fail(rq, MHD_HTTP_BAD_REQUEST, field,
			    "%s: \"%.3s\" at byte %zu of the target decodes to"
			    " the %s byte 0x%02x; %s", field, t + i, i,
			    v < 0x20 || v == 0x7f ? "control" : "non-printable",
			    v, rule);
			return;
		}
		i += 2;
	}
}

/* A raw NUL inside the target ends the string the URI log callback saw
 * early: the handler's version then does not follow it. */
static void
target_check_nul(struct http_request *rq, const char *url,
    const char *version)
{
	uintptr_t u = (uintptr_t)url, v = (uintptr_t)version;

	if (rq->raw_uri == NULL || url != rq->raw_uri || version == NULL ||
	    v <= u || v - u > HTTP_TARGET_MAX + 1 ||
	    strncmp(version, "HTTP/", 5) != 0)
		return;
	if (v - u - 1 != rq->raw_len)
		target_fail(rq, MHD_HTTP_BAD_REQUEST, "path",
		    "path: raw NUL byte at byte %zu of the target; a request"
		    " path and query must be printable ASCII (0x21-0x7e), raw"
		    " or %%-escaped", rq->raw_len);
}

/* ---- the watchdog ------------------------------------------------------- */

/* Bytes the connection has received and had acknowledged; -1 when the
 * kernel does not say. */
static int
tcp_moved(int fd, uint64_t *bytes)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) +
	    sizeof(ti.tcpi_bytes_received))
		return -1;
	*bytes = ti.tcpi_bytes_acked + ti.tcpi_bytes_received;
	return 0;
}

/* A fixed answer, written without waiting (guard_lock held). */
static void
raw_send(int fd, const char *text)
{
	(void)send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Shut the socket down: libmicrohttpd's thread sees the end and closes
 * the connection (guard_lock held, so fd is still the connection's). */
static void
cut(struct http_conn *c)
{
	(void)shutdown(c->fd, SHUT_RDWR);
	c->cut = 1;
}

static void
note_client(struct http_server *srv, const struct http_conn *c,
    int64_t now)
{
	if (srv->counts_since_ms == 0)
		srv->counts_since_ms = now;
	strlcpy_(srv->last_client, c->peer_text, sizeof(srv->last_client));
}

/* One connection at one tick (guard_lock held). */
static void
guard_conn(struct http_server *srv, struct http_conn *c, int64_t now)
{
	const struct http_limits *lim = &srv->lim;
	int64_t client_ms, window_ms;
	uint64_t bytes = 0;
	int known;

	if (c->cut || c->handler_since != 0)
		return;
	if (c->refused != REFUSE_NONE) {
		/* Answered 503 when it came; it had time to send its request
		 * (libmicrohttpd reads it, so that the close is not a reset). */
		if (now - c->accepted_ms >= HTTP_REFUSE_WAIT_MS)
			cut(c);
		return;
	}
	if (c->phase == PHASE_HEADERS) {
		if (now - c->phase_ms < lim->header_timeout_ms)
			return;
		if (c->request_begun)
			raw_send(c->fd, srv->raw_late);
		cut(c);
		srv->counts.headers++;
		note_client(srv, c, now);
		return;
	}
	client_ms = now - c->phase_ms - c->handler_ms;
	if (client_ms < lim->body_timeout_ms)
		return;
	if (lim->min_rate == 0) {
		cut(c);
		srv->counts.body++;
		note_client(srv, c, now);
		return;
	}
	window_ms = now - c->rate_ms - (c->handler_ms - c->rate_handler_ms);
	if (window_ms < HTTP_RATE_WINDOW_MS)
		return;
	known = tcp_moved(c->fd, &bytes) == 0;
	if (known && c->rate_known && bytes >= c->rate_bytes &&
	    (bytes - c->rate_bytes) * 1000 <
	    (uint64_t)lim->min_rate * (uint64_t)window_ms) {
		cut(c);
		srv->counts.slow++;
		note_client(srv, c, now);
		return;
	}
	c->rate_known = known;
	c->rate_bytes = bytes;
	c->rate_ms = now;
	c->rate_handler_ms = c->handler_ms;
}

static int
counts_zero(const struct http_counts *n)
{
	return n->full == 0 && n->address == 0 && n->dropped == 0 &&
	    n->headers == 0 && n->body == 0 && n->slow == 0 && n->mhd == 0;
}

static void
append(char *buf, size_t len, unsigned int n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "; N what" onto buf when N > 0. */
static void
append(char *buf, size_t len, unsigned int n, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (n == 0 || used + 2 >= len)
		return;
	snprintf(buf + used, len - used, "%s%u ", used > 0 ? "; " : "", n);
	used = strlen(buf);
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* The summary line of one listener (no lock held). */
static void
log_summary(const char *what, const struct http_limits *lim,
    const struct http_counts *n, int64_t seconds, const char *client)
{
	char text[768] = "";

	append(text, sizeof(text), n->full, "refused with 503, over the"
	    " connection limit (%u for other hosts, %u more kept for this"
	    " machine)", lim->connections - lim->local_reserve,
	    lim->local_reserve);
	append(text, sizeof(text), n->address, "refused with 503, over the"
	    " per-address limit (%u at once)", lim->per_address);
	append(text, sizeof(text), n->dropped, "closed unanswered, a flood"
	    " past the %d connections kept for answering 503",
	    HTTP_REFUSE_ROOM);
	append(text, sizeof(text), n->headers, "closed, headers not complete"
	    " within %d s", lim->header_timeout_ms / 1000);
	append(text, sizeof(text), n->body, "closed, body and answer not"
	    " complete within %d s", lim->body_timeout_ms / 1000);
	append(text, sizeof(text), n->slow, "closed, transfer slower than"
	    " %u bytes/s", lim->min_rate);
	append(text, sizeof(text), n->mhd, "libmicrohttpd messages not"
	    " logged");
	log_warnx("%s: in the last %lld s: %s (latest client %s)", what,
	    (long long)seconds, text, client[0] != '\0' ? client : "-");
}

/* One tick: every connection of every daemon, then the summary lines. */
static void
guard_tick(void)
{
	struct {
		char what[64];
		struct http_limits lim;
		struct http_counts counts;
		int64_t seconds;
		char client[INET6_ADDRSTRLEN];
	} out[HTTP_SERVERS_MAX];
	struct http_server *srv;
	struct http_conn *c;
	size_t i, n = 0;
	int64_t now;

	pthread_mutex_lock(&guard_lock);
	now = util_now_ms();
	for (i = 0; i < HTTP_SERVERS_MAX; i++) {
		srv = &servers[i];
		if (!srv->used)
			continue;
		for (c = srv->conns; c != NULL; c = c->next)
			guard_conn(srv, c, now);
		if (counts_zero(&srv->counts) || (srv->last_log_ms != 0 &&
		    now - srv->last_log_ms < HTTP_LOG_PERIOD_MS))
			continue;
		strlcpy_(out[n].what, srv->what, sizeof(out[n].what));
		out[n].lim = srv->lim;
		out[n].counts = srv->counts;
		out[n].seconds = (now - srv->counts_since_ms + 999) / 1000;
		if (out[n].seconds < 1)
			out[n].seconds = 1;
		strlcpy_(out[n].client, srv->last_client,
		    sizeof(out[n].client));
		n++;
		memset(&srv->counts, 0, sizeof(srv->counts));
		srv->counts_since_ms = 0;
		srv->last_log_ms = now;
		srv->last_client[0] = '\0';
	}
	pthread_mutex_unlock(&guard_lock);
	for (i = 0; i < n; i++)
		log_summary(out[i].what, &out[i].lim, &out[i].counts,
		    out[i].seconds, out[i].client);
}

/* The watchdog: it lives as long as the process (the daemons give no
 * notice of their stop) and owns nothing but its stack. */
static void *
guard_main(void *arg)
{
	struct timespec tick = { 0, HTTP_TICK_MS * 1000000L };

	(void)arg;
	for (;;) {
		nanosleep(&tick, NULL);
		guard_tick();
	}
	return NULL;
}

/* Start the watchdog once (guard_lock held). */
static int
guard_start(char *err)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (guard_started)
		return 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, guard_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errf(err, "HTTP watchdog thread: %s", strerror(rc));
		return -1;
	}
	guard_started = 1;
	return 0;
}

/* ---- admission ------------------------------------------------------------ */

/* Local by what the address alone says: loopback, or the listener's
 * own address. */
static int
host_local_cheap(const struct http_server *srv, const struct http_host *h)
{
	return host_loopback(h) || (!host_any(&srv->listen_host) &&
	    host_equal(h, &srv->listen_host));
}

/* Before libmicrohttpd takes a connection on: refuse it unanswered only
 * when even the room kept for 503 answers is used up, and never when it
 * may be this machine's own. */
static enum MHD_Result
http_accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct http_server *srv = cls;
	struct http_host h;
	int allow = 1;

	(void)len;
	host_of(addr, &h);
	pthread_mutex_lock(&guard_lock);
	if (!host_local_cheap(srv, &h) &&
	    srv->nconns + srv->lim.local_reserve >= srv->mhd_limit) {
		allow = 0;
		if (srv->counts_since_ms == 0)
			srv->counts_since_ms = util_now_ms();
		srv->counts.dropped++;
		host_text(&h, srv->last_client, sizeof(srv->last_client));
	}
	pthread_mutex_unlock(&guard_lock);
	return allow ? MHD_YES : MHD_NO;
}

/* Serve c or refuse it (guard_lock held). */
static void
admit(struct http_server *srv, struct http_conn *c, int64_t now)
{
	const struct http_limits *lim = &srv->lim;
	const struct http_conn *o;
	unsigned int same = 0;

	if (c->local) {
		if (srv->served >= lim->connections)
			c->refused = REFUSE_FULL;
	} else {
		for (o = srv->conns; o != NULL; o = o->next)
			if (o->refused == REFUSE_NONE && !o->local &&
			    host_equal(&o->peer, &c->peer))
				same++;
		if (same >= lim->per_address)
			c->refused = REFUSE_ADDRESS;
		else if (srv->served + lim->local_reserve >= lim->connections)
			c->refused = REFUSE_FULL;
	}
	if (c->refused == REFUSE_FULL)
		srv->counts.full++;
	else if (c->refused == REFUSE_ADDRESS)
		srv->counts.address++;
	if (c->refused != REFUSE_NONE)
		note_client(srv, c, now);
}

static void
conn_started(struct http_server *srv, struct MHD_Connection *conn,
    void **socket_context)
{
	const union MHD_ConnectionInfo *fdi, *ai;
	struct sockaddr_storage ss;
	struct http_host self;
	socklen_t sl = sizeof(ss);
	struct http_conn *c;
	int64_t now = util_now_ms();

	*socket_context = NULL;
	fdi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (fdi == NULL)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL || ai == NULL) {
		/* Not tracked means not guarded: do not serve it. */
		free(c);
		(void)shutdown(fdi->connect_fd, SHUT_RDWR);
		return;
	}
	c->srv = srv;
	c->fd = fdi->connect_fd;
	host_of(ai->client_addr, &c->peer);
	host_text(&c->peer, c->peer_text, sizeof(c->peer_text));
	memset(&self, 0, sizeof(self));
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
		host_of((struct sockaddr *)&ss, &self);
	c->local = host_loopback(&c->peer) || host_equal(&c->peer, &self);
	c->phase = PHASE_HEADERS;
	c->accepted_ms = c->phase_ms = now;
	pthread_mutex_lock(&guard_lock);
	admit(srv, c, now);
	if (c->refused != REFUSE_NONE) {
		/* libmicrohttpd has not sent anything, and its thread for
		 * this connection does not exist yet: answer now, then let it
		 * read the request and see the end. */
		raw_send(c->fd, c->refused == REFUSE_ADDRESS ?
		    srv->raw_address : srv->raw_full);
		(void)shutdown(c->fd, SHUT_WR);
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	if (c->refused == REFUSE_NONE)
		srv->served++;
	pthread_mutex_unlock(&guard_lock);
	*socket_context = c;
}

static void
conn_closed(struct http_server *srv, void **socket_context)
{
	struct http_conn *c = *socket_context;

	if (c == NULL)
		return;
	pthread_mutex_lock(&guard_lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	if (c->refused == REFUSE_NONE)
		srv->served--;
	pthread_mutex_unlock(&guard_lock);
	free(c);
	*socket_context = NULL;
}

static void
http_notify_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		conn_started(cls, conn, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		conn_closed(cls, socket_context);
}

/* ---- requests ------------------------------------------------------------- */

/* A request line arrived: check its target before anything decodes it. */
static void *
http_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	struct http_request *rq;

	(void)cls;
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	rq->conn = ci != NULL ? ci->socket_context : NULL;
	thread_conn = rq->conn;
	rq->raw_uri = uri;
	rq->raw_len = uri != NULL ? strlen(uri) : 0;
	target_check(rq, uri != NULL ? uri : "", rq->raw_len);
	if (rq->conn != NULL) {
		pthread_mutex_lock(&guard_lock);
		rq->conn->request_begun = 1;
		pthread_mutex_unlock(&guard_lock);
	}
	return rq;
}

/* The headers are in: the body's deadline starts.  Returns the refusal. */
static enum http_refusal
request_headers_done(struct http_conn *c)
{
	enum http_refusal r;
	uint64_t bytes = 0;
	int known;

	if (c == NULL)
		return REFUSE_NONE;
	/* The connection's own thread: its fd cannot go away meanwhile. */
	known = tcp_moved(c->fd, &bytes) == 0;
	pthread_mutex_lock(&guard_lock);
	c->phase = PHASE_BODY;
	c->phase_ms = c->rate_ms = util_now_ms();
	c->handler_ms = c->rate_handler_ms = 0;
	c->rate_known = known;
	c->rate_bytes = bytes;
	r = c->refused;
	pthread_mutex_unlock(&guard_lock);
	return r;
}

static void
handler_mark(struct http_conn *c, int entering)
{
	int64_t now;

	if (c == NULL)
		return;
	pthread_mutex_lock(&guard_lock);
	now = util_now_ms();
	if (entering)
		c->handler_since = now > 0 ? now : 1;
	else if (c->handler_since != 0) {
		c->handler_ms += now - c->handler_since;
		c->handler_since = 0;
	}
	pthread_mutex_unlock(&guard_lock);
}

/* Every handler call: refuse, reject a bad target, or pass on to the
 * module with its own *req_cls. */
static enum MHD_Result
http_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct http_request *rq = *req_cls;
	enum http_refusal refused;
	enum MHD_Result ret;

	if (rq == NULL)
		return MHD_NO;	/* the URI log callback found no memory */
	if (!rq->started) {
		rq->started = 1;
		refused = request_headers_done(rq->conn);
		if (refused != REFUSE_NONE)
			return MHD_NO;	/* answered 503 at its start */
		target_check_nul(rq, url, version);
		if (rq->status != 0) {
			rq->answered = 1;
			return http_reply_error(conn, rq->status, rq->field,
			    "%s", rq->msg);
		}
	}
	if (rq->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	handler_mark(rq->conn, 1);
	ret = srv->handler(srv->handler_cls, conn, url, method, version,
	    upload_data, upload_data_size, &rq->module_cls);
	handler_mark(rq->conn, 0);
	return ret;
}

/* The request is over (answered or not): the module's completion, then
 * the next request's header deadline starts. */
static void
http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *rq = *req_cls;

	if (rq == NULL)
		return;
	if (srv->completed != NULL)
		srv->completed(srv->handler_cls, conn, &rq->module_cls, toe);
	if (rq->conn != NULL) {
		pthread_mutex_lock(&guard_lock);
		rq->conn->phase = PHASE_HEADERS;
		rq->conn->phase_ms = util_now_ms();
		rq->conn->request_begun = 0;
		rq->conn->handler_ms = rq->conn->handler_since = 0;
		pthread_mutex_unlock(&guard_lock);
	}
	free(rq);
	*req_cls = NULL;
}

/* ---- starting a daemon ------------------------------------------------------ */

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

/* A fixed answer: status line, JSON error body, Connection: close. */
static void
fixed_answer(char *raw, size_t rawlen, unsigned int status,
    const char *reason, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	char body[HTTP_BODY_MAX];

	json_decref(o);
	snprintf(body, sizeof(body), "%s\n", text != NULL ? text :
	    "{\"error\":\"refused\"}");
	free(text);
	snprintf(raw, rawlen, "HTTP/1.1 %u %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n\r\n%s", status, reason, strlen(body),
	    status == MHD_HTTP_SERVICE_UNAVAILABLE ? "Retry-After: "
	    HTTP_STR(HTTP_RETRY_AFTER_S) "\r\n" : "", body);
}

/* A free slot of servers[] set up for one daemon (guard_lock held). */
static struct http_server *
server_new(const char *what, const struct http_limits *lim,
    MHD_AccessHandlerCallback handler, void *handler_cls,
    MHD_RequestCompletedCallback completed, int fd)
{
	struct http_server *srv = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char msg[200];
	size_t i;

	for (i = 0; i < HTTP_SERVERS_MAX && srv == NULL; i++)
		if (!servers[i].used)
			srv = &servers[i];
	if (srv == NULL)
		return NULL;
	memset(srv, 0, sizeof(*srv));
	srv->used = 1;
	strlcpy_(srv->what, what, sizeof(srv->what));
	srv->lim = *lim;
	/* Room to answer 503 to a burst of clients. */
	srv->mhd_limit = lim->connections + HTTP_REFUSE_ROOM;
	srv->handler = handler;
	srv->handler_cls = handler_cls;
	srv->completed = completed;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		host_of((struct sockaddr *)&ss, &srv->listen_host);
	snprintf(msg, sizeof(msg), "the %s is at its connection limit (%u"
	    " clients at once); retry later", what, lim->connections -
	    lim->local_reserve);
	fixed_answer(srv->raw_full, sizeof(srv->raw_full),
	    MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable", msg);
	snprintf(msg, sizeof(msg), "too many connections from one address to"
	    " the %s (at most %u at once); retry later", what,
	    lim->per_address);
	fixed_answer(srv->raw_address, sizeof(srv->raw_address),
	    MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable", msg);
	snprintf(msg, sizeof(msg), "request headers not complete within %d s",
	    lim->header_timeout_ms / 1000);
	fixed_answer(srv->raw_late, sizeof(srv->raw_late),
	    MHD_HTTP_REQUEST_TIMEOUT, "Request Timeout", msg);
	return srv;
}

struct MHD_Daemon *
http_start(const char *listen_on, const char *what,
    const struct http_limits *lim, MHD_AccessHandlerCallback handler,
    void *handler_cls, MHD_RequestCompletedCallback completed, char *err)
{
	struct http_server *srv;
	struct MHD_Daemon *d;
	unsigned int flags;
	int fd, v6 = 0;

	if (lim->connections == 0 || lim->local_reserve >= lim->connections ||
	    lim->per_address == 0 || lim->header_timeout_ms < 1000 ||
	    lim->body_timeout_ms < 1000) {
		errf(err, "%s: invalid connection limits or deadlines", what);
		return NULL;
	}
	if ((fd = http_bind(listen_on, what, &v6, err)) == -1)
		return NULL;
	pthread_mutex_lock(&guard_lock);
	srv = server_new(what, lim, handler, handler_cls, completed, fd);
	if (srv == NULL)
		errf(err, "%s: more than %d HTTP daemons", what,
		    HTTP_SERVERS_MAX);
	else if (guard_start(err) == -1) {
		srv->used = 0;
		srv = NULL;
	}
	pthread_mutex_unlock(&guard_lock);
	if (srv == NULL) {
		close(fd);
		return NULL;
	}
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* The logger first: MHD logs option problems with it. */
	d = MHD_start_daemon(flags, 0, http_accept_policy, srv, http_dispatch,
	    srv, MHD_OPTION_EXTERNAL_LOGGER, http_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, srv->mhd_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)HTTP_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, srv,
	    MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, srv,
	    MHD_OPTION_END);
	if (d == NULL) {
		errf(err, "%s: libmicrohttpd could not start on %s (see the"
		    " log line before)", what, listen_on);
		close(fd);
		pthread_mutex_lock(&guard_lock);
		srv->used = 0;
		pthread_mutex_unlock(&guard_lock);
		return NULL;
	}
	return d;
}

/* ---- replies -------------------------------------------------------------- */

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
