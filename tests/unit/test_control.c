/*
 * test_control.c — the control socket's reply parser and client
 * (lib/control.c, issue 13): malformed, truncated (every prefix of a
 * valid reply), oversized and duplicate-key replies, envelope members
 * missing or mistyped, the typed accessors on missing and mistyped
 * members; and the client against a unix-socket server thread here: a
 * reply that never comes, one cut mid-line, one without its newline, a
 * server that closes at once, a reply too long — each an error naming
 * the socket path.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "util.h"
#include "tap.h"

static int parser_cases;        /* checks of the parser and accessors */

/* text must be refused with a message containing want. */
static void
refused(const char *text, size_t len, const char *want, const char *what)
{
	char err[ENUMDR_ERRLEN] = "";
	struct control_reply r;
	int rc = control_reply_parse(text, len, &r, err);

	parser_cases++;
	ok(rc == -1 && strstr(err, want) != NULL, what);
	if (rc != -1 || strstr(err, want) == NULL)
		diag("rc %d, err \"%s\", want \"%s\"", rc, err, want);
	control_reply_free(&r);
}

#define REFUSED(text, want, what) refused((text), strlen(text), (want), (what))

static void
test_envelope(void)
{
	char err[ENUMDR_ERRLEN];
	struct control_reply r;
	const char *ok_text = "{\"ok\":true,\"room\":\"A\"}";
	const char *closed = "{\"error\":\"provisioning closed in room A\","
	    "\"active_room\":\"B\",\"ok\":false,\"status\":503,\"closed\":true}";
	const char *denied = "{\"ok\":false,\"error\":\"permission denied for"
	    " uid 7\",\"denied\":true}";

	REFUSED("", "not JSON", "empty reply");
	REFUSED("nope", "not JSON", "not JSON");
	REFUSED("{\"ok\":true", "not JSON", "unterminated object");
	REFUSED("[true]", "not a JSON object (it is an array)", "an array");
	REFUSED("\"ok\"", "not JSON", "a string");
	REFUSED("{}", "control reply: member \"ok\" missing", "ok missing");
	REFUSED("{\"error\":\"x\"}", "member \"ok\" missing",
	    "ok missing, error present");
	REFUSED("{\"ok\":1}", "member \"ok\": not a boolean (it is a number)",
	    "ok a number");
	REFUSED("{\"ok\":\"true\"}", "member \"ok\": not a boolean (it is a"
	    " string)", "ok a string");
	REFUSED("{\"ok\":null}", "member \"ok\": not a boolean (it is null)",
	    "ok null");
	REFUSED("{\"ok\":false}", "without member \"error\"",
	    "failure without error");
	REFUSED("{\"ok\":false,\"status\":503}", "without member \"error\"",
	    "failure with status, without error");
	REFUSED("{\"ok\":false,\"error\":5}", "member \"error\": not a string",
	    "error a number");
	REFUSED("{\"ok\":false,\"error\":null}", "member \"error\": not a"
	    " string (it is null)", "error null");
	REFUSED("{\"ok\":true,\"error\":[]}", "member \"error\": not a string",
	    "error an array in a success");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"status\":\"503\"}",
	    "member \"status\": not an integer (it is a string)",
	    "status a string");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"status\":503.0}",
	    "member \"status\": not an integer (it is a number)",
	    "status a real");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"status\":99}",
	    "member \"status\": 99 is out of range 100..599", "status 99");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"status\":600}",
	    "out of range 100..599", "status 600");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"status\":-503}",
	    "out of range 100..599", "status negative");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"denied\":\"yes\"}",
	    "member \"denied\": not a boolean", "denied a string");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"closed\":1}",
	    "member \"closed\": not a boolean", "closed a number");
	REFUSED("{\"ok\":true,\"denied\":true}", "member \"denied\": true in a"
	    " reply that is \"ok\"", "denied in a success");
	REFUSED("{\"ok\":true,\"closed\":true}", "member \"closed\": true in a"
	    " reply that is \"ok\"", "closed in a success");
	REFUSED("{\"ok\":false,\"error\":\"x\",\"active_room\":5}",
	    "member \"active_room\": not a string or null",
	    "active_room a number");
	REFUSED("{\"ok\":true,\"ok\":false}", "duplicate", "ok twice");
	REFUSED("{\"ok\":false,\"error\":\"a\",\"error\":\"b\"}", "duplicate",
	    "error twice");
	REFUSED("{\"ok\":true,\"zones\":[{\"origin\":\"a\",\"origin\":\"b\"}]}",
	    "duplicate", "a duplicate key in a nested object");
	REFUSED("{\"ok\":true} x", "not JSON", "garbage after the object");
	REFUSED("{\"ok\":true}{\"ok\":true}", "not JSON", "two objects");
	REFUSED("{\"ok\":true}\n{\"ok\":true}", "more than one line",
	    "two lines");
	refused("{\"ok\":true}\0", 12, "not JSON", "a NUL after the object");
	refused("{\"ok\":tr\0ue}", 12, "not JSON", "a NUL inside");
	REFUSED("{\"ok\":true,\"e\":\"\\ud800\"}", "not JSON",
	    "a lone surrogate escape");
	REFUSED("{\"ok\":true,\"e\":\"\xff\"}", "not JSON", "invalid UTF-8");

	/* deeper than jansson's nesting limit */
	{
		size_t depth = 5000, i, len = 0;
		char *deep = malloc(2 * depth + 32);

		len += (size_t)sprintf(deep, "{\"ok\":true,\"a\":");
		for (i = 0; i < depth; i++)
			deep[len++] = '[';
		for (i = 0; i < depth; i++)
			deep[len++] = ']';
		deep[len++] = '}';
		refused(deep, len, "not JSON", "nesting 5000 deep");
		free(deep);
	}

	/* valid ones */
	parser_cases++;
	ok(control_reply_parse(ok_text, strlen(ok_text), &r, err) == 0 &&
	    r.ok == 1 && r.error == NULL && r.status == 0 && !r.denied &&
	    !r.closed && r.active_room == NULL, "a success parses");
	control_reply_free(&r);
	parser_cases++;
	ok(control_reply_parse(closed, strlen(closed), &r, err) == 0 &&
	    r.ok == 0 && r.status == 503 && r.closed && !r.denied &&
	    r.active_room != NULL && strcmp(r.active_room, "B") == 0 &&
	    strcmp(r.error, "provisioning closed in room A") == 0,
	    "the listener gate's refusal parses: status, closed, active_room");
	control_reply_free(&r);
	parser_cases++;
	ok(control_reply_parse(denied, strlen(denied), &r, err) == 0 &&
	    r.denied && !r.ok, "the uid refusal parses: denied");
	control_reply_free(&r);
	parser_cases++;
	ok(control_reply_parse("{\"ok\":false,\"error\":\"x\",\"active_room\":"
	    "null}", 43, &r, err) == 0 && r.active_room == NULL,
	    "active_room null");
	control_reply_free(&r);
	parser_cases++;
	ok(control_reply_parse("{\"ok\":true,\"later\":{\"x\":1}}", 27, &r,
	    err) == 0, "members the envelope does not list are kept, unjudged");
	control_reply_free(&r);
}

/* Every prefix of a valid reply is refused. */
static void
test_truncated(void)
{
	const char *full = "{\"ok\":false,\"error\":\"sync refused\",\"status\":"
	    "503,\"listener\":\"open\",\"step\":null,\"active_room\":\"B\"}";
	char err[ENUMDR_ERRLEN], what[64];
	struct control_reply r;
	size_t len = strlen(full), i;
	int bad = 0;

	for (i = 0; i < len; i++) {
		snprintf(what, sizeof(what), "prefix of %zu of %zu bytes refused",
		    i, len);
		parser_cases++;
		if (!ok(control_reply_parse(full, i, &r, err) == -1, what))
			bad++;
		control_reply_free(&r);
	}
	parser_cases++;
	ok(control_reply_parse(full, len, &r, err) == 0 && bad == 0,
	    "the whole reply parses");
	control_reply_free(&r);
}

/* A reply of CONTROL_REPLY_MAX bytes parses; one more byte does not. */
static void
test_oversized(void)
{
	char err[ENUMDR_ERRLEN];
	struct control_reply r;
	size_t max = CONTROL_REPLY_MAX, head, i;
	char *big = malloc(max + 2);

	head = (size_t)sprintf(big, "{\"ok\":true,\"pad\":\"");
	for (i = head; i < max - 2; i++)
		big[i] = 'x';
	big[max - 2] = '"';
	big[max - 1] = '}';
	parser_cases++;
	ok(control_reply_parse(big, max, &r, err) == 0,
	    "a reply of exactly CONTROL_REPLY_MAX bytes parses");
	control_reply_free(&r);
	big[max - 2] = 'x';
	big[max - 1] = '"';
	big[max] = '}';
	refused(big, max + 1, "longer than 1048576 bytes",
	    "a reply of CONTROL_REPLY_MAX + 1 bytes");
	free(big);
}

static void
test_accessors(void)
{
	const char *text = "{\"ok\":true,\"outcome\":\"equal\",\"kept_dir\":null,"
	    "\"imported\":false,\"journal\":42,\"big\":4294967296,\"neg\":-1,"
	    "\"zones\":[{\"origin\":\"a.e164.arpa\",\"own\":7,\"peer\":null},"
	    "{\"verdict\":\"equal\"}],\"snapshot\":{\"sha256\":\"ab\"},"
	    "\"none\":null,\"word\":\"x\"}";
	char err[ENUMDR_ERRLEN];
	struct control_reply r;
	const char *s;
	long long i;
	size_t n;
	int b, isnull, present;

#define CASE(expr, want, what) do {                                         \
	err[0] = '\0';                                                      \
	parser_cases++;                                                     \
	ok((expr) == -1 && strstr(err, (want)) != NULL, (what));            \
	if (strstr(err, (want)) == NULL)                                    \
		diag("err \"%s\", want \"%s\"", err, (want));               \
} while (0)

	if (control_reply_parse(text, strlen(text), &r, err) == -1) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	parser_cases++;
	ok(control_reply_string(&r, "outcome", &s, err) == 0 &&
	    strcmp(s, "equal") == 0, "a string");
	CASE(control_reply_string(&r, "result", &s, err),
	    "control reply: member \"result\" missing", "a string missing");
	CASE(control_reply_string(&r, "journal", &s, err),
	    "member \"journal\": not a string (it is a number)",
	    "a string that is a number");
	CASE(control_reply_string(&r, "kept_dir", &s, err),
	    "member \"kept_dir\": not a string (it is null)",
	    "a string that is null");
	parser_cases++;
	ok(control_reply_string_or_null(&r, "kept_dir", &s, err) == 0 &&
	    s == NULL, "a string or null: null");
	parser_cases++;
	ok(control_reply_string_or_null(&r, "outcome", &s, err) == 0 &&
	    s != NULL, "a string or null: a string");
	CASE(control_reply_string_or_null(&r, "dir", &s, err),
	    "member \"dir\" missing", "a string or null: missing");
	CASE(control_reply_string_or_null(&r, "imported", &s, err),
	    "member \"imported\": not a string or null (it is a boolean)",
	    "a string or null: a boolean");
	parser_cases++;
	ok(control_reply_integer(&r, "journal", 0, INT64_MAX, &i, err) == 0 &&
	    i == 42, "an integer");
	CASE(control_reply_integer(&r, "nimported", 0, 10, &i, err),
	    "member \"nimported\" missing", "an integer missing");
	CASE(control_reply_integer(&r, "outcome", 0, 10, &i, err),
	    "member \"outcome\": not an integer (it is a string)",
	    "an integer that is a string");
	CASE(control_reply_integer(&r, "big", 0, 4294967295LL, &i, err),
	    "member \"big\": 4294967296 is out of range 0..4294967295",
	    "an integer out of range");
	CASE(control_reply_integer(&r, "neg", 0, 10, &i, err),
	    "-1 is out of range 0..10", "a negative integer");
	parser_cases++;
	ok(control_reply_integer_or_null(&r, "zones[0].peer", 0, 10, &i,
	    &isnull, err) == 0 && isnull, "an integer or null: null");
	parser_cases++;
	ok(control_reply_integer_or_null(&r, "zones[0].own", 0, 10, &i,
	    &isnull, err) == 0 && !isnull && i == 7,
	    "an integer or null: an integer");
	CASE(control_reply_integer_or_null(&r, "zones[1].own", 0, 10, &i,
	    &isnull, err), "member \"zones[1].own\" missing",
	    "an integer or null: missing");
	parser_cases++;
	ok(control_reply_boolean(&r, "imported", &b, err) == 0 && b == 0,
	    "a boolean");
	CASE(control_reply_boolean(&r, "changed", &b, err),
	    "member \"changed\" missing", "a boolean missing");
	CASE(control_reply_boolean(&r, "journal", &b, err),
	    "member \"journal\": not a boolean (it is a number)",
	    "a boolean that is a number");
	parser_cases++;
	ok(control_reply_array(&r, "zones", &n, err) == 0 && n == 2,
	    "an array and its size");
	CASE(control_reply_array(&r, "peers", &n, err),
	    "member \"peers\" missing", "an array missing");
	CASE(control_reply_array(&r, "snapshot", &n, err),
	    "member \"snapshot\": not an array (it is an object)",
	    "an array that is an object");
	parser_cases++;
	ok(control_reply_string(&r, "zones[0].origin", &s, err) == 0 &&
	    strcmp(s, "a.e164.arpa") == 0, "a nested member by its path");
	CASE(control_reply_string(&r, "zones[1].origin", &s, err),
	    "control reply: member \"zones[1].origin\" missing",
	    "a nested member missing: named by its path");
	CASE(control_reply_string(&r, "zones[2].origin", &s, err),
	    "member \"zones[2]\" missing", "an index past the end");
	CASE(control_reply_string(&r, "outcome[0]", &s, err),
	    "member \"outcome\": not an array (it is a string)",
	    "an index into a string");
	CASE(control_reply_string(&r, "word.x", &s, err),
	    "member \"word\": not an object (it is a string)",
	    "a member of a string");
	CASE(control_reply_string(&r, "snapshot.created", &s, err),
	    "member \"snapshot.created\" missing", "a member of an object missing");
	CASE(control_reply_string(&r, "zones[x]", &s, err),
	    "\"zones[x]\" is not a member path", "a bad path");
	parser_cases++;
	ok(control_reply_object_or_null(&r, "snapshot", &present, err) == 0 &&
	    present, "an object or null: an object");
	parser_cases++;
	ok(control_reply_object_or_null(&r, "none", &present, err) == 0 &&
	    !present, "an object or null: null");
	CASE(control_reply_object_or_null(&r, "zones", &present, err),
	    "member \"zones\": not an object or null (it is an array)",
	    "an object or null: an array");
	parser_cases++;
	ok(control_reply_has(&r, "outcome") && !control_reply_has(&r, "none") &&
	    !control_reply_has(&r, "step") &&
	    control_reply_has(&r, "zones[1].verdict") &&
	    !control_reply_has(&r, "zones[1].origin"),
	    "has: present and not null");
	control_reply_free(&r);
#undef CASE
}

/* ---- the client against a server thread -------------------------------- */

enum serve_mode {
	SERVE_GOOD,          /* read the request, reply one good line */
	SERVE_BAD_ENVELOPE,  /* a line without "ok" */
	SERVE_SILENT,        /* read the request, never reply */
	SERVE_CUT,           /* half a reply, then close */
	SERVE_NO_NEWLINE,    /* a whole reply without its newline, close */
	SERVE_CLOSE,         /* accept and close at once */
	SERVE_FLOOD          /* more than CONTROL_REPLY_MAX, no newline */
};

struct server {
	int lfd;
	enum serve_mode mode;
	char got[256];       /* the request bytes received */
	size_t gotlen;
	size_t want;         /* bytes of request to read (line + body) */
};

static void
send_text(int fd, const char *s, size_t len)
{
	ssize_t w;

	while (len > 0 && (w = send(fd, s, len, MSG_NOSIGNAL)) > 0) {
		s += w;
		len -= (size_t)w;
	}
}

static void *
serve_one(void *arg)
{
	struct server *sv = arg;
	char buf[4096];
	ssize_t n;
	size_t i;
	int fd;

	if ((fd = accept(sv->lfd, NULL, NULL)) == -1)
		return NULL;
	if (sv->mode == SERVE_CLOSE) {
		close(fd);
		return NULL;
	}
	while (sv->gotlen < sv->want && (n = read(fd, sv->got + sv->gotlen,
	    sv->want - sv->gotlen)) > 0)
		sv->gotlen += (size_t)n;
	sv->got[sv->gotlen] = '\0';
	switch (sv->mode) {
	case SERVE_GOOD:
		send_text(fd, "{\"ok\":true,\"room\":\"A\"}\n", 23);
		break;
	case SERVE_BAD_ENVELOPE:
		send_text(fd, "{\"room\":\"A\"}\n", 13);
		break;
	case SERVE_SILENT:
		while (read(fd, buf, sizeof(buf)) > 0)	/* until the client goes */
			;
		break;
	case SERVE_CUT:
		send_text(fd, "{\"ok\":tr", 8);
		break;
	case SERVE_NO_NEWLINE:
		send_text(fd, "{\"ok\":true}", 11);
		break;
	case SERVE_FLOOD:
		memset(buf, ' ', sizeof(buf));
		for (i = 0; i <= CONTROL_REPLY_MAX / sizeof(buf) + 1; i++)
			send_text(fd, buf, sizeof(buf));
		break;
	default:
		break;
	}
	close(fd);
	return NULL;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy_(sun.sun_path, path, sizeof(sun.sun_path));
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 4) == -1) {
		printf("Bail out! cannot listen on %s\n", path);
		exit(1);
	}
	return fd;
}

/* One request against a server in mode; the client's result and err. */
static int
exchange(const char *path, enum serve_mode mode, const char *body,
    int timeout_ms, struct server *sv, struct control_reply *r, char *err)
{
	pthread_t t;
	int rc;

	memset(sv, 0, sizeof(*sv));
	sv->lfd = listen_on(path);
	sv->mode = mode;
	sv->want = strlen("status\n") + (body != NULL ? strlen(body) : 0);
	if (pthread_create(&t, NULL, serve_one, sv) != 0) {
		printf("Bail out! pthread_create\n");
		exit(1);
	}
	err[0] = '\0';
	rc = body != NULL ? control_request_body(path, "status", body,
	    strlen(body), timeout_ms, r, err) : control_request(path, "status",
	    timeout_ms, r, err);
	pthread_join(t, NULL);
	close(sv->lfd);
	unlink(path);
	return rc;
}

static void
test_client(const char *dir)
{
	char path[PATH_MAX], err[ENUMDR_ERRLEN];
	struct control_reply r;
	struct server sv;
	int64_t t0;
	int rc;

	snprintf(path, sizeof(path), "%s/control.sock", dir);

	rc = exchange(path, SERVE_GOOD, NULL, 2000, &sv, &r, err);
	ok(rc == CONTROL_OK && r.ok && strcmp(sv.got, "status\n") == 0 &&
	    strcmp(r.text, "{\"ok\":true,\"room\":\"A\"}") == 0 &&
	    strcmp(r.from, path) == 0, "a good reply: parsed, the line kept");
	control_reply_free(&r);

	rc = exchange(path, SERVE_GOOD, "{\"changes\":[]}", 2000, &sv, &r, err);
	ok(rc == CONTROL_OK && strcmp(sv.got, "status\n{\"changes\":[]}") == 0,
	    "a request with a body: line, newline, body");
	control_reply_free(&r);

	rc = exchange(path, SERVE_BAD_ENVELOPE, NULL, 2000, &sv, &r, err);
	ok(rc == CONTROL_EPROTO, "a reply without \"ok\": CONTROL_EPROTO");
	like(err, "control reply from ", "... naming where it came from");
	like(err, path, "... the socket path");
	like(err, "member \"ok\" missing", "... and the member");
	control_reply_free(&r);

	t0 = util_now_ms();
	rc = exchange(path, SERVE_SILENT, NULL, 300, &sv, &r, err);
	ok(rc == CONTROL_EUNREACHABLE && util_now_ms() - t0 < 2000,
	    "a reply that never comes: CONTROL_EUNREACHABLE after the timeout");
	like(err, "no reply from the agent at ", "... no reply");
	like(err, path, "... naming the socket path");
	like(err, "within 300 ms", "... and the timeout");
	control_reply_free(&r);

	rc = exchange(path, SERVE_CUT, NULL, 2000, &sv, &r, err);
	ok(rc == CONTROL_EPROTO, "a reply cut mid-line: CONTROL_EPROTO");
	like(err, path, "... naming the socket path");
	like(err, "closed the connection after 8 bytes, before the end of its"
	    " reply line", "... and where it was cut");
	control_reply_free(&r);

	rc = exchange(path, SERVE_NO_NEWLINE, NULL, 2000, &sv, &r, err);
	ok(rc == CONTROL_EPROTO, "a whole reply without its newline:"
	    " CONTROL_EPROTO");
	like(err, path, "... naming the socket path");
	like(err, "after 11 bytes, before the end of its reply line",
	    "... the line is unfinished");
	control_reply_free(&r);

	rc = exchange(path, SERVE_CLOSE, NULL, 2000, &sv, &r, err);
	ok(rc == CONTROL_EUNREACHABLE, "a server that closes at once:"
	    " CONTROL_EUNREACHABLE");
	like(err, path, "... naming the socket path");
	control_reply_free(&r);

	rc = exchange(path, SERVE_FLOOD, NULL, 5000, &sv, &r, err);
	ok(rc == CONTROL_EPROTO, "a reply over CONTROL_REPLY_MAX:"
	    " CONTROL_EPROTO");
	like(err, "longer than 1048576 bytes", "... saying so");
	like(err, path, "... naming the socket path");
	control_reply_free(&r);

	rc = control_request(path, "status", 1000, &r, err);
	ok(rc == CONTROL_EUNREACHABLE && errno == ECONNREFUSED,
	    "no socket: CONTROL_EUNREACHABLE, errno ECONNREFUSED");
	like(err, "cannot reach the agent at ", "... cannot reach");
	like(err, path, "... naming the socket path");
	control_reply_free(&r);

	rc = control_request(path, "two\nlines", 1000, &r, err);
	ok(rc == CONTROL_EUNREACHABLE, "a request of two lines is refused");
	control_reply_free(&r);
}

int
main(void)
{
	char dir[] = "/tmp/test_control.XXXXXX";

	test_envelope();
	test_truncated();
	test_oversized();
	test_accessors();
	diag("%d parser and accessor cases", parser_cases);
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_client(dir);
	rmdir(dir);
	return tap_done();
}
