/*
 * test_alarm.c — the alarm module (S0.6): the exact line format and its
 * escaping, raise/list/clear with a state directory, the severity a clear
 * carries, refusal of bad ids and figures.  Lines are caught by a test
 * sender (alarm_set_sender), so the unit test never writes to syslog.
 *
 * With arguments it is the driver of tests/integration/alarm-syslog.sh:
 *
 *   test_alarm --send ID ROOM [SEVERITY]
 *
 * raises alarm ID for ROOM through the real syslog(3) (ident enumdr,
 * facility local3, instance VI_TEST, state in $ALARM_STATE_DIR), clears
 * it, then clears it once more (inactive: must send nothing).  Around the
 * alarms it logs through log.c in syslog mode (ident test_alarm-log,
 * facility daemon): the two idents must not mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "alarm.h"
#include "log.h"
#include "util.h"
#include "tap.h"

/* What the test sender saw. */
static int sent;
static int sent_priority;
static char sent_line[2048];
static char sent_ident[64];
static int sent_facility;

static void
capture(const struct alarm_ctx *ctx, int priority, const char *line)
{
	sent++;
	sent_priority = priority;
	strlcpy_(sent_line, line, sizeof(sent_line));
	strlcpy_(sent_ident, ctx->ident, sizeof(sent_ident));
	sent_facility = ctx->facility;
}

static void
test_format(void)
{
	struct alarm_ctx ctx;
	char out[1024], id[80], text[1400];
	const char *p;
	size_t i;
	const char *const fig[] = { "peer", "B", "misses", "3", NULL };
	const char *const esc[] = {
		"path", "/a b", "q", "say \"hi\"", "bs", "C:\\x", "eq", "a=b",
		"empty", "", "ctl", "a\tb\n", "del", "\x7f", "utf8", "Z\xc3\xbcrich",
		"plain", "-12.5", NULL
	};
	const char *const reserved[] = { "room", "B", NULL };
	const char *const badkey[] = { "a b", "1", NULL };
	const char *const odd[] = { "peer", NULL };

	alarm_ctx_init(&ctx, "A", "VI_1", "enumdr", LOG_LOCAL3, "");
	is_int(alarm_format(&ctx, "PEER_DOWN", 1, ALARM_MAJOR,
	    "peer B missed 3 heartbeats", fig, out, sizeof(out)), 0,
	    "format a raise");
	is_str(out, "enumdr-alarm v1 id=PEER_DOWN event=raise severity=major "
	    "room=A instance=VI_1 what=\"peer B missed 3 heartbeats\" peer=B "
	    "misses=3", "raise line, figures unquoted");

	is_int(alarm_format(&ctx, "PEER_DOWN", 0, ALARM_MAJOR, "peer B answers",
	    NULL, out, sizeof(out)), 0, "format a clear");
	is_str(out, "enumdr-alarm v1 id=PEER_DOWN event=clear severity=major "
	    "room=A instance=VI_1 what=\"peer B answers\"",
	    "clear line keeps the severity it is given");

	is_int(alarm_format(&ctx, "SYNC_READ", 1, ALARM_MINOR,
	    "x \"y\" \\z", esc, out, sizeof(out)), 0, "format escapes");
	is_str(out, "enumdr-alarm v1 id=SYNC_READ event=raise severity=minor "
	    "room=A instance=VI_1 what=\"x \\\"y\\\" \\\\z\" path=\"/a b\" "
	    "q=\"say \\\"hi\\\"\" bs=\"C:\\\\x\" eq=\"a=b\" empty=\"\" "
	    "ctl=\"a\\x09b\\x0A\" del=\"\\x7F\" utf8=Z\xc3\xbcrich plain=-12.5",
	    "quoting: empty, space, quote, '=', backslash, control; "
	    "UTF-8 passes");
	ok(strchr(out, '\n') == NULL && strchr(out, '\t') == NULL,
	    "no newline or tab inside the line");

	is_int(alarm_format(&ctx, "LOAD_STEP", 1, ALARM_CRITICAL, NULL, NULL,
	    out, sizeof(out)), 0, "what NULL");
	is_str(out, "enumdr-alarm v1 id=LOAD_STEP event=raise "
	    "severity=critical room=A instance=VI_1 what=\"\"",
	    "what is always quoted, even empty");

	alarm_ctx_init(&ctx, "Room 1", NULL, NULL, 0, NULL);
	is_int(alarm_format(&ctx, "TRANSFER", 1, ALARM_WARNING, "w", NULL, out,
	    sizeof(out)), 0, "format with defaults");
	is_str(out, "enumdr-alarm v1 id=TRANSFER event=raise severity=warning "
	    "room=\"Room 1\" instance=- what=\"w\"",
	    "room with a space is quoted; no instance is -");
	is_str(ctx.ident, "enumdr", "ident defaults to enumdr");
	is_int(ctx.facility, LOG_LOCAL3, "facility 0 becomes local3");

	alarm_ctx_init(&ctx, "A", "VI_1", "enumdr", LOG_LOCAL3, "");
	is_int(alarm_format(&ctx, "peer_down", 1, ALARM_MAJOR, "w", NULL, out,
	    sizeof(out)), -1, "lower-case id refused");
	is_str(out, "", "nothing formatted for a bad id");
	is_int(alarm_format(&ctx, "", 1, ALARM_MAJOR, "w", NULL, out,
	    sizeof(out)), -1, "empty id refused");
	is_int(alarm_format(&ctx, "A-B", 1, ALARM_MAJOR, "w", NULL, out,
	    sizeof(out)), -1, "id with '-' refused");
	memset(id, 'X', 63);
	id[63] = '\0';
	is_int(alarm_format(&ctx, id, 1, ALARM_MAJOR, "w", NULL, out,
	    sizeof(out)), 0, "63-character id accepted");
	id[63] = 'X';
	id[64] = '\0';
	is_int(alarm_format(&ctx, id, 1, ALARM_MAJOR, "w", NULL, out,
	    sizeof(out)), -1, "64-character id refused");
	is_int(alarm_format(&ctx, "X", 1, ALARM_MAJOR, "w", reserved, out,
	    sizeof(out)), -1, "figure key of the fixed part (room) refused");
	is_int(alarm_format(&ctx, "X", 1, ALARM_MAJOR, "w", badkey, out,
	    sizeof(out)), -1, "figure key with a space refused");
	is_int(alarm_format(&ctx, "X", 1, ALARM_MAJOR, "w", odd, out,
	    sizeof(out)), -1, "figure without a value refused");
	is_int(alarm_format(&ctx, "X", 1, (enum alarm_severity)7, "w", NULL,
	    out, sizeof(out)), -1, "unknown severity refused");
	memset(text, 'a', 1);
	for (i = 1; i + 2 < sizeof(text); i += 2)
		memcpy(text + i, "\xc3\xbc", 2);
	text[i] = '\0';
	is_int(alarm_format(&ctx, "X", 1, ALARM_MAJOR, text, NULL, out,
	    sizeof(out)), 0, "a long UTF-8 what is cut to fit");
	ok(strlen(out) < sizeof(out), "the line fits");
	p = strstr(out, "...\"");
	ok(p != NULL && p - out >= 2 && memcmp(p - 2, "\xc3\xbc", 2) == 0,
	    "cut on a character boundary, ending in ...");
	is_int(alarm_format(&ctx, "PEER_DOWN", 1, ALARM_MAJOR, "w", NULL, out,
	    40), -1, "too small a buffer refused");
	is_str(out, "", "nothing half-written into too small a buffer");

	is_str(alarm_severity_name(ALARM_CRITICAL), "critical", "name critical");
	is_str(alarm_severity_name(ALARM_WARNING), "warning", "name warning");
	is_str(alarm_severity_name((enum alarm_severity)9), "unknown",
	    "name of a bad severity");
	is_int(alarm_severity_from_name("major"), ALARM_MAJOR, "major by name");
	is_int(alarm_severity_from_name("minor"), ALARM_MINOR, "minor by name");
	is_int(alarm_severity_from_name("fatal"), -1, "unknown name");
}

/* Read path into buf (small files). */
static int
slurp(const char *path, char *buf, size_t size)
{
	char *p;
	size_t len;

	if (util_read_file(path, size - 1, &p, &len, NULL) == -1)
		return -1;
	memcpy(buf, p, len + 1);
	free(p);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	if (util_write_file_atomic(path, text, strlen(text), 0640, NULL) == -1)
		diag("cannot write %s", path);
}

static void
test_state(const char *tmp)
{
	struct alarm_ctx ctx;
	struct alarm_active *list = NULL;
	char err[ENUMDR_ERRLEN], path[PATH_MAX], buf[4096], raise_line[1024];
	char want[2048], longwhat[1500], keys[60][8];
	const char *const fig[] = { "peer", "B", NULL };
	const char *many[121];
	size_t n = 0, i;

	alarm_set_sender(capture);
	snprintf(path, sizeof(path), "%s/state", tmp);
	alarm_ctx_init(&ctx, "A", "VI_1", "enumdr-test", LOG_LOCAL5, path);

	is_int(alarm_list(&ctx, &list, &n, err), 0,
	    "list before any alarm (no alarms/ directory yet)");
	is_int((int)n, 0, "no active alarm");
	free(list);

	sent = 0;
	is_int(alarm_raise(&ctx, "PEER_DOWN", ALARM_MAJOR,
	    "peer B missed 3 heartbeats", fig, err), 0, "raise PEER_DOWN");
	is_int(sent, 1, "raise sends one line");
	is_int(sent_priority, LOG_ERR, "major goes out as LOG_ERR");
	is_str(sent_ident, "enumdr-test", "with the context's ident");
	is_int(sent_facility, LOG_LOCAL5, "and the context's facility");
	is_str(sent_line, "enumdr-alarm v1 id=PEER_DOWN event=raise "
	    "severity=major room=A instance=VI_1 what=\"peer B missed 3 "
	    "heartbeats\" peer=B", "the raise line");
	strlcpy_(raise_line, sent_line, sizeof(raise_line));

	snprintf(path, sizeof(path), "%s/state/alarms/PEER_DOWN", tmp);
	ok(slurp(path, buf, sizeof(buf)) == 0, "state file written");
	ok(strncmp(buf, "major\n", 6) == 0, "state file: severity first");
	ok(strlen(buf) > 28 && buf[6 + 4] == '-' && buf[6 + 19] == 'Z' &&
	    buf[6 + 20] == '\n', "state file: raised_at in ISO 8601 UTC");
	snprintf(want, sizeof(want), "%s\n", raise_line);
	is_str(buf + 27, want, "state file: the line as sent");

	is_int(alarm_raise(&ctx, "SYNC_DIVERGED", ALARM_CRITICAL,
	    "both rooms have newer zones", NULL, err), 0, "raise SYNC_DIVERGED");
	is_int(sent_priority, LOG_CRIT, "critical goes out as LOG_CRIT");
	is_int(alarm_raise(&ctx, "JOURNAL_POSITION", ALARM_MINOR, "no answer",
	    NULL, err), 0, "raise JOURNAL_POSITION");
	is_int(sent_priority, LOG_WARNING, "minor goes out as LOG_WARNING");
	is_int(alarm_raise(&ctx, "TRANSFER", ALARM_WARNING, "slow", NULL, err),
	    0, "raise TRANSFER");
	is_int(sent_priority, LOG_NOTICE, "warning goes out as LOG_NOTICE");

	/* Litter that alarm_list must pass over. */
	snprintf(path, sizeof(path), "%s/state/alarms/PEER_DOWN.tmp.123", tmp);
	write_file(path, "garbage");
	snprintf(path, sizeof(path), "%s/state/alarms/.hidden", tmp);
	write_file(path, "garbage");
	snprintf(path, sizeof(path), "%s/state/alarms/lower", tmp);
	write_file(path, "garbage");

	is_int(alarm_list(&ctx, &list, &n, err), 0, "list");
	is_int((int)n, 4, "four active alarms (temporaries ignored)");
	if (n == 4) {
		is_str(list[0].id, "JOURNAL_POSITION", "sorted by id [0]");
		is_str(list[1].id, "PEER_DOWN", "sorted by id [1]");
		is_str(list[2].id, "SYNC_DIVERGED", "sorted by id [2]");
		is_str(list[3].id, "TRANSFER", "sorted by id [3]");
		is_int(list[1].severity, ALARM_MAJOR, "listed severity");
		is_str(list[1].line, raise_line, "listed line is the raise line");
		is_int((int)strlen(list[1].raised_at), 20, "listed raised_at");
		is_int(list[2].severity, ALARM_CRITICAL, "listed critical");
	}
	free(list);
	list = NULL;

	/* A raise of an active alarm sends again and keeps raised_at. */
	snprintf(path, sizeof(path), "%s/state/alarms/PEER_DOWN", tmp);
	snprintf(buf, sizeof(buf), "major\n2000-01-01T00:00:00Z\n%s\n",
	    raise_line);
	write_file(path, buf);
	sent = 0;
	is_int(alarm_raise(&ctx, "PEER_DOWN", ALARM_CRITICAL, "peer B gone",
	    NULL, err), 0, "raise PEER_DOWN again, now critical");
	is_int(sent, 1, "the repeated raise is sent");
	ok(slurp(path, buf, sizeof(buf)) == 0 &&
	    strncmp(buf, "critical\n2000-01-01T00:00:00Z\n", 30) == 0,
	    "new severity recorded, first raised_at kept");

	sent = 0;
	is_int(alarm_clear(&ctx, "PEER_DOWN", "peer B answers", fig, err), 1,
	    "clear an active alarm returns 1");
	is_int(sent, 1, "clear sends one line");
	is_int(sent_priority, LOG_NOTICE, "a clear goes out as LOG_NOTICE");
	is_str(sent_line, "enumdr-alarm v1 id=PEER_DOWN event=clear "
	    "severity=critical room=A instance=VI_1 what=\"peer B answers\" "
	    "peer=B", "the clear carries the raised severity");
	ok(access(path, F_OK) == -1 && errno == ENOENT, "state file removed");

	sent = 0;
	is_int(alarm_clear(&ctx, "PEER_DOWN", "again", NULL, err), 0,
	    "clear an inactive alarm returns 0");
	is_int(sent, 0, "and sends nothing");
	is_int(alarm_clear(&ctx, "NEVER_RAISED", "x", NULL, err), 0,
	    "clear of a never raised alarm returns 0");
	is_int(sent, 0, "and sends nothing");

	is_int(alarm_raise(&ctx, "bad id", ALARM_MAJOR, "x", NULL, err), -1,
	    "raise with an invalid id fails");
	like(err, "invalid alarm id \"bad id\"", "error names the id");
	is_int(alarm_clear(&ctx, "../etc", "x", NULL, err), -1,
	    "clear with an invalid id fails");
	is_int(sent, 0, "nothing sent for invalid ids");

	memset(longwhat, 'w', sizeof(longwhat) - 1);
	longwhat[sizeof(longwhat) - 1] = '\0';
	is_int(alarm_raise(&ctx, "SNAPSHOT_PUSH", ALARM_MAJOR, longwhat, fig,
	    err), 0, "a raise whose what is 1499 bytes");
	is_int(sent, 1, "is sent");
	ok(strlen(sent_line) <= 1023, "in at most 1023 bytes");
	like(sent_line, "wwww...\" peer=B", "what cut short, ending in ...");
	is_int(alarm_clear(&ctx, "SNAPSHOT_PUSH", "ok", NULL, err), 1,
	    "clear SNAPSHOT_PUSH");

	for (i = 0; i < 120; i += 2) {
		snprintf(keys[i / 2], sizeof(keys[0]), "key%02zu", i / 2);
		many[i] = keys[i / 2];
		many[i + 1] = longwhat;
	}
	many[120] = NULL;
	sent = 0;
	is_int(alarm_raise(&ctx, "SNAPSHOT_PUSH", ALARM_MAJOR, "x", many, err),
	    -1, "60 long figures cannot fit even cut short");
	like(err, "does not fit in 1023 bytes", "and says so");
	is_int(sent, 0, "nothing sent for a line that cannot fit");
	snprintf(path, sizeof(path), "%s/state/alarms/SNAPSHOT_PUSH", tmp);
	ok(access(path, F_OK) == -1, "nor recorded");

	/* A damaged state file: listing names it, a clear still clears. */
	snprintf(path, sizeof(path), "%s/state/alarms/SYNC_DIVERGED", tmp);
	write_file(path, "bogus\n");
	is_int(alarm_list(&ctx, &list, &n, err), -1,
	    "list fails on a damaged state file");
	like(err, "SYNC_DIVERGED: not an alarm state file",
	    "the error names the file");
	ok(list == NULL && n == 0, "nothing returned on error");
	sent = 0;
	is_int(alarm_clear(&ctx, "SYNC_DIVERGED", "gone", NULL, err), 1,
	    "clear of a damaged alarm clears it");
	like(sent_line, "event=clear severity=warning",
	    "with severity warning");
	ok(access(path, F_OK) == -1, "damaged file removed");

	is_int(alarm_clear(&ctx, "JOURNAL_POSITION", "ok", NULL, err), 1,
	    "clear JOURNAL_POSITION");
	is_int(alarm_clear(&ctx, "TRANSFER", "ok", NULL, err), 1,
	    "clear TRANSFER");
	is_int(alarm_list(&ctx, &list, &n, err), 0, "list after clears");
	is_int((int)n, 0, "no active alarm left");
	free(list);

	/* Something else than a file under the alarm's name is an error. */
	snprintf(path, sizeof(path), "%s/state/alarms/LOAD_STEP", tmp);
	if (mkdir(path, 0700) == -1)
		diag("mkdir %s: %s", path, strerror(errno));
	sent = 0;
	is_int(alarm_clear(&ctx, "LOAD_STEP", "x", NULL, err), -1,
	    "clear fails when the state is a directory");
	like(err, "LOAD_STEP is not a regular file", "and names it");
	is_int(sent, 0, "nothing sent");
	is_int(alarm_list(&ctx, &list, &n, err), -1, "list fails too");
	rmdir(path);

	/* A state dir that cannot be created: the line still goes out. */
	snprintf(path, sizeof(path), "%s/file", tmp);
	write_file(path, "x");
	alarm_ctx_init(&ctx, "A", "VI_1", "enumdr", LOG_LOCAL3, path);
	sent = 0;
	is_int(alarm_raise(&ctx, "PEER_DOWN", ALARM_MAJOR, "x", NULL, err), -1,
	    "raise with an unusable state dir fails");
	is_int(sent, 1, "but the alarm line is sent");
	like(err, "alarms", "error names the alarms directory");
	unlink(path);

	/* No state kept: clear always sends. */
	alarm_ctx_init(&ctx, "A", "VI_1", "enumdr", LOG_LOCAL3, "");
	sent = 0;
	is_int(alarm_raise(&ctx, "PEER_DOWN", ALARM_MAJOR, "x", NULL, err), 0,
	    "raise without state");
	is_int(alarm_list(&ctx, &list, &n, err), 0, "list without state");
	ok(list == NULL && n == 0, "nothing listed without state");
	is_int(alarm_clear(&ctx, "PEER_DOWN", "y", NULL, err), 1,
	    "clear without state returns 1");
	is_int(sent, 2, "and sends");
	like(sent_line, "event=clear severity=warning",
	    "severity unknown without state: warning");

	alarm_set_sender(NULL);
}

/* Remove tmp/state/alarms, tmp/state and tmp. */
static void
cleanup(const char *tmp)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/state/alarms/PEER_DOWN.tmp.123", tmp);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state/alarms/.hidden", tmp);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state/alarms/lower", tmp);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state/alarms", tmp);
	if (rmdir(path) == -1)
		diag("rmdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/state", tmp);
	rmdir(path);
	if (rmdir(tmp) == -1)
		diag("rmdir %s: %s", tmp, strerror(errno));
}

/* The integration test's driver: raise, clear, clear again via syslog. */
static int
send_mode(const char *id, const char *room, const char *sevname)
{
	struct alarm_ctx ctx;
	char err[ENUMDR_ERRLEN];
	const char *dir = getenv("ALARM_STATE_DIR");
	const char *const fig[] = { "peer", "B", "detail", "a=b", NULL };
	int sev, r;

	if ((sev = alarm_severity_from_name(sevname)) == -1) {
		fprintf(stderr, "test_alarm: unknown severity %s\n", sevname);
		return 64;
	}
	alarm_ctx_init(&ctx, room, "VI_TEST", "enumdr", LOG_LOCAL3,
	    dir != NULL ? dir : "");
	printf("pid %ld\n", (long)getpid());
	log_init("test_alarm-log", 0, LOG_DAEMON);
	log_info("before alarm %s", id);
	if (alarm_raise(&ctx, id, (enum alarm_severity)sev,
	    "alarm-syslog test: \"quoted\" and \\ kept", fig, err) == -1) {
		fprintf(stderr, "test_alarm: raise: %s\n", err);
		return 1;
	}
	if ((r = alarm_clear(&ctx, id, "alarm-syslog test: condition gone",
	    NULL, err)) != 1) {
		fprintf(stderr, "test_alarm: clear returned %d: %s\n", r,
		    r == -1 ? err : "not active");
		return 1;
	}
	if ((r = alarm_clear(&ctx, id, "must not be sent", NULL, err)) != 0) {
		fprintf(stderr, "test_alarm: second clear returned %d\n", r);
		return 1;
	}
	log_warnx("after alarm %s", id);
	return 0;
}

int
main(int argc, char **argv)
{
	char tmp[] = "/tmp/test_alarm.XXXXXX";

	if (argc >= 4 && strcmp(argv[1], "--send") == 0)
		return send_mode(argv[2], argv[3], argc >= 5 ? argv[4] : "major");
	if (argc > 1) {
		fprintf(stderr, "usage: test_alarm [--send ID ROOM [SEVERITY]]\n");
		return 64;
	}

	test_format();
	if (mkdtemp(tmp) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_state(tmp);
	cleanup(tmp);
	return tap_done();
}
