/*
 * alarm.c — alarm lines through syslog, the seed's "alarm module" (S0.6:
 * any failed takeover step sends an alarm; S0.7: a failed sequence-number
 * request raises one and the failback goes on).  The line format is fixed
 * and documented in doc/alarms.md:
 *
 *   enumdr-alarm v1 id=ID event=raise|clear severity=SEV room=ROOM
 *     instance=INST what="TEXT" key=value ...
 *
 * Every raised alarm is kept as STATE_DIR/alarms/ID ("severity\n
 * raised_at\nline\n", written atomically) so that `enumdr alarms` can list
 * it and so that a clear is sent only for an active alarm, carrying the
 * severity it was raised with.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "alarm.h"
#include "log.h"
#include "util.h"

#define ALARM_LINE_MAX  sizeof(((struct alarm_active *)0)->line)
#define ALARM_ID_MAX    63
#define ALARM_FILE_MAX  4096	/* a state file is three short lines */

static const struct {
	const char *name;
	int priority;
} alarm_severities[] = {
	[ALARM_CRITICAL] = { "critical", LOG_CRIT },
	[ALARM_MAJOR] = { "major", LOG_ERR },
	[ALARM_MINOR] = { "minor", LOG_WARNING },
	[ALARM_WARNING] = { "warning", LOG_NOTICE },
};
#define ALARM_NSEVERITIES \
	(sizeof(alarm_severities) / sizeof(alarm_severities[0]))

/* Keys of the fixed part of the line; a figure may not reuse them. */
static const char *const alarm_reserved[] = {
	"id", "event", "severity", "room", "instance", "what", NULL
};

/* A line being built into a fixed buffer; full once it did not fit. */
struct linebuf {
	char *out;
	size_t len;
	size_t size;
	int full;
};

static void syslog_sender(const struct alarm_ctx *, int, const char *);

static alarm_sender_fn *alarm_sender = syslog_sender;

/* The default sender: syslog(3) under the alarm's own ident and facility,
 * under log.c's lock (syslog's ident is process-wide).  closelog() drops
 * glibc's pointer to ctx->ident; log.c re-opens syslog with the program's
 * ident before each of its messages. */
static void
syslog_sender(const struct alarm_ctx *ctx, int priority, const char *line)
{
	log_syslog_lock();
	openlog(ctx->ident[0] != '\0' ? ctx->ident : "enumdr",
	    LOG_PID | LOG_NDELAY, ctx->facility);
	syslog(LOG_MAKEPRI(ctx->facility, priority), "%s", line);
	closelog();
	log_syslog_unlock();
}

void
alarm_set_sender(alarm_sender_fn *fn)
{
	alarm_sender = fn != NULL ? fn : syslog_sender;
}

const char *
alarm_severity_name(enum alarm_severity sev)
{
	if ((size_t)sev >= ALARM_NSEVERITIES)
		return "unknown";
	return alarm_severities[sev].name;
}

int
alarm_severity_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < ALARM_NSEVERITIES; i++)
		if (strcmp(name, alarm_severities[i].name) == 0)
			return (int)i;
	return -1;
}

void
alarm_ctx_init(struct alarm_ctx *ctx, const char *room,
    const char *instance, const char *ident, int facility,
    const char *state_dir)
{
	memset(ctx, 0, sizeof(*ctx));
	strlcpy_(ctx->room, room != NULL ? room : "", sizeof(ctx->room));
	strlcpy_(ctx->instance, instance != NULL && instance[0] != '\0' ?
	    instance : "-", sizeof(ctx->instance));
	strlcpy_(ctx->ident, ident != NULL && ident[0] != '\0' ? ident :
	    "enumdr", sizeof(ctx->ident));
	/* 0 is LOG_KERN, which a user process cannot send: use the default. */
	ctx->facility = facility > 0 ? facility : LOG_LOCAL3;
	strlcpy_(ctx->state_dir, state_dir != NULL ? state_dir : "",
	    sizeof(ctx->state_dir));
}

/* [A-Z0-9_]{1,63}: safe as a file name and in the line without quotes. */
static int
valid_id(const char *id)
{
	size_t n;

	for (n = 0; id[n] != '\0'; n++)
		if (!((id[n] >= 'A' && id[n] <= 'Z') ||
		    (id[n] >= '0' && id[n] <= '9') || id[n] == '_'))
			return 0;
	return n >= 1 && n <= ALARM_ID_MAX;
}

/* A figure's key: [A-Za-z0-9_.-]{1,63} and not a key of the fixed part. */
static int
valid_key(const char *key)
{
	size_t n, i;

	for (n = 0; key[n] != '\0'; n++)
		if (!((key[n] >= 'A' && key[n] <= 'Z') ||
		    (key[n] >= 'a' && key[n] <= 'z') ||
		    (key[n] >= '0' && key[n] <= '9') ||
		    key[n] == '_' || key[n] == '.' || key[n] == '-'))
			return 0;
	if (n < 1 || n > 63)
		return 0;
	for (i = 0; alarm_reserved[i] != NULL; i++)
		if (strcmp(key, alarm_reserved[i]) == 0)
			return 0;
	return 1;
}

/* Check id and the figure pairs; err (may be NULL) says what is wrong. */
static int
check_args(const char *id, const char *const *figures, char *err)
{
	size_t i;

	if (id == NULL || !valid_id(id)) {
		errf(err, "invalid alarm id \"%s\": want [A-Z0-9_]{1,63}",
		    id != NULL ? id : "(null)");
		return -1;
	}
	for (i = 0; figures != NULL && figures[i] != NULL; i += 2) {
		if (!valid_key(figures[i])) {
			errf(err, "alarm %s: invalid figure key \"%s\"", id,
			    figures[i]);
			return -1;
		}
		if (figures[i + 1] == NULL) {
			errf(err, "alarm %s: figure %s has no value", id,
			    figures[i]);
			return -1;
		}
	}
	return 0;
}

static void
put(struct linebuf *b, const char *s, size_t n)
{
	if (b->full || n >= b->size - b->len) {
		b->full = 1;
		return;
	}
	memcpy(b->out + b->len, s, n);
	b->len += n;
	b->out[b->len] = '\0';
}

static void
put_str(struct linebuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static int
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* A value goes in quotes when it is empty or holds a space, '"', '=',
 * '\\' or a control character (doc/alarms.md). */
static int
needs_quotes(const char *v, size_t len)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t i;

	if (len == 0)
		return 1;
	for (i = 0; i < len; i++)
		if (p[i] == ' ' || p[i] == '"' || p[i] == '=' || p[i] == '\\' ||
		    is_control(p[i]))
			return 1;
	return 0;
}

/*
 * " key=value", the value quoted and escaped when needed (or always).  A
 * value longer than cap bytes is cut (on a UTF-8 character boundary) and
 * ends in "...".
 */
static void
put_field(struct linebuf *b, const char *key, const char *v, int quote,
    size_t cap)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t len = strlen(v), i;
	int cut = 0;
	char hex[5];

	if (len > cap) {
		len = cap;
		while (len > 0 && (p[len] & 0xc0) == 0x80)
			len--;
		cut = 1;
	}
	put_str(b, " ");
	put_str(b, key);
	put_str(b, "=");
	quote = quote || needs_quotes(v, len);
	if (quote)
		put_str(b, "\"");
	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			hex[0] = '\\';
			hex[1] = (char)p[i];
			put(b, hex, 2);
		} else if (is_control(p[i])) {
			snprintf(hex, sizeof(hex), "\\x%02X", p[i]);
			put(b, hex, 4);
		} else
			put(b, (const char *)p + i, 1);
	}
	if (cut)
		put_str(b, "...");
	if (quote)
		put_str(b, "\"");
}

/* The whole line into b, what and figure values cut at cap bytes. */
static void
put_line(struct linebuf *b, const struct alarm_ctx *ctx, const char *id,
    int raise, enum alarm_severity sev, const char *what,
    const char *const *figures, size_t cap)
{
	size_t i;

	put_str(b, "enumdr-alarm v1");
	put_field(b, "id", id, 0, SIZE_MAX);
	put_field(b, "event", raise ? "raise" : "clear", 0, SIZE_MAX);
	put_field(b, "severity", alarm_severities[sev].name, 0, SIZE_MAX);
	put_field(b, "room", ctx->room, 0, SIZE_MAX);
	put_field(b, "instance", ctx->instance, 0, SIZE_MAX);
	put_field(b, "what", what != NULL ? what : "", 1, cap);
	for (i = 0; figures != NULL && figures[i] != NULL; i += 2)
		put_field(b, figures[i], figures[i + 1], 0, cap);
}

/*
 * An alarm must go out even when its text is long (an error message from
 * libcurl, say): when the line does not fit, the what and figure values
 * are cut, ever shorter, until it does.
 */
int
alarm_format(const struct alarm_ctx *ctx, const char *id, int raise,
    enum alarm_severity sev, const char *what, const char *const *figures,
    char *out, size_t outlen)
{
	static const size_t caps[] = { SIZE_MAX, 512, 256, 128, 64, 32, 16 };
	struct linebuf b;
	size_t c;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (check_args(id, figures, NULL) == -1 ||
	    (size_t)sev >= ALARM_NSEVERITIES)
		return -1;
	for (c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		b.out = out;
		b.len = 0;
		b.size = outlen;
		b.full = 0;
		out[0] = '\0';
		put_line(&b, ctx, id, raise, sev, what, figures, caps[c]);
		if (!b.full)
			return 0;
	}
	out[0] = '\0';
	return -1;
}

/* The line alarm_raise/alarm_clear send, with a sentence on failure. */
static int
format_line(const struct alarm_ctx *ctx, const char *id, int raise,
    enum alarm_severity sev, const char *what, const char *const *figures,
    char *line, char *err)
{
	if (check_args(id, figures, err) == -1)
		return -1;
	if ((size_t)sev >= ALARM_NSEVERITIES) {
		errf(err, "alarm %s: invalid severity %d", id, (int)sev);
		return -1;
	}
	if (alarm_format(ctx, id, raise, sev, what, figures, line,
	    ALARM_LINE_MAX) == -1) {
		errf(err, "alarm %s: the line does not fit in %zu bytes even "
		    "with its values cut short", id, ALARM_LINE_MAX - 1);
		return -1;
	}
	return 0;
}

/* STATE_DIR/alarms, or with an id STATE_DIR/alarms/ID, into out. */
static int
state_path(const struct alarm_ctx *ctx, const char *id, char *out,
    char *err)
{
	char dir[PATH_MAX];

	if (id == NULL)
		return util_path_join(out, PATH_MAX, ctx->state_dir, "alarms",
		    err);
	if (util_path_join(dir, sizeof(dir), ctx->state_dir, "alarms",
	    err) == -1)
		return -1;
	return util_path_join(out, PATH_MAX, dir, id, err);
}

/* Parse "severity\nraised_at\nline\n" into a (id is set by the caller). */
static int
parse_state(char *buf, struct alarm_active *a)
{
	char *sev, *at, *line, *end;
	int s;

	sev = buf;
	if ((at = strchr(sev, '\n')) == NULL)
		return -1;
	*at++ = '\0';
	if ((line = strchr(at, '\n')) == NULL)
		return -1;
	*line++ = '\0';
	if ((end = strchr(line, '\n')) != NULL) {
		if (end[1] != '\0')
			return -1;
		*end = '\0';
	}
	if ((s = alarm_severity_from_name(sev)) == -1)
		return -1;
	if (strlen(at) >= sizeof(a->raised_at) ||
	    strlen(line) >= sizeof(a->line) || line[0] == '\0')
		return -1;
	a->severity = (enum alarm_severity)s;
	strlcpy_(a->raised_at, at, sizeof(a->raised_at));
	strlcpy_(a->line, line, sizeof(a->line));
	return 0;
}

/* Read one state file: 0 read, 1 absent, 2 present but unparseable,
 * -1 on a read error (err filled). */
static int
read_state(const char *path, struct alarm_active *a, char *err)
{
	char *buf;
	int ret;

	errno = 0;	/* a non-regular file fails without setting errno */
	if (util_read_file(path, ALARM_FILE_MAX, &buf, NULL, err) == -1)
		return errno == ENOENT ? 1 : -1;
	ret = parse_state(buf, a) == -1 ? 2 : 0;
	free(buf);
	return ret;
}

/* Remember alarm id as active, keeping raised_at of an earlier raise. */
static int
record_state(const struct alarm_ctx *ctx, const char *id,
    enum alarm_severity sev, const char *line, char *err)
{
	char dir[PATH_MAX], path[PATH_MAX], buf[ALARM_FILE_MAX];
	struct alarm_active old;
	int n;

	if (state_path(ctx, NULL, dir, err) == -1 ||
	    state_path(ctx, id, path, err) == -1)
		return -1;
	if (util_mkdir_p(dir, 0750, err) == -1)
		return -1;
	memset(&old, 0, sizeof(old));
	if (read_state(path, &old, NULL) != 0)
		util_utc_iso8601(old.raised_at, sizeof(old.raised_at));
	n = snprintf(buf, sizeof(buf), "%s\n%s\n%s\n",
	    alarm_severities[sev].name, old.raised_at, line);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errf(err, "alarm %s: state record too long", id);
		return -1;
	}
	return util_write_file_atomic(path, buf, (size_t)n, 0640, err);
}

int
alarm_raise(const struct alarm_ctx *ctx, const char *id,
    enum alarm_severity sev, const char *what, const char *const *figures,
    char *err)
{
	char line[ALARM_LINE_MAX];
	int ret = 0;

	if (format_line(ctx, id, 1, sev, what, figures, line, err) == -1)
		return -1;
	/* A failed record still sends: the alarm matters more than its file. */
	if (ctx->state_dir[0] != '\0' &&
	    record_state(ctx, id, sev, line, err) == -1)
		ret = -1;
	alarm_sender(ctx, alarm_severities[sev].priority, line);
	return ret;
}

int
alarm_clear(const struct alarm_ctx *ctx, const char *id, const char *what,
    const char *const *figures, char *err)
{
	char dir[PATH_MAX], path[PATH_MAX], line[ALARM_LINE_MAX];
	struct alarm_active a;
	int ret = 1;

	if (check_args(id, figures, err) == -1)
		return -1;
	/* Without kept state the raised severity is unknown: say warning. */
	memset(&a, 0, sizeof(a));
	a.severity = ALARM_WARNING;
	if (ctx->state_dir[0] != '\0') {
		if (state_path(ctx, NULL, dir, err) == -1 ||
		    state_path(ctx, id, path, err) == -1)
			return -1;
		switch (read_state(path, &a, err)) {
		case 1:
			return 0;
		case 2:
			/* Damaged: clear anyway rather than keep it forever. */
			a.severity = ALARM_WARNING;
			break;
		case -1:
			return -1;
		}
	}
	if (format_line(ctx, id, 0, a.severity, what, figures, line,
	    err) == -1)
		return -1;
	if (ctx->state_dir[0] != '\0') {
		if (unlink(path) == -1) {
			if (errno == ENOENT)
				return 0;	/* cleared by someone else */
			errf_errno(err, "remove %s", path);
			return -1;
		}
		if (util_fsync_dir(dir, err) == -1)
			ret = -1;
	}
	alarm_sender(ctx, LOG_NOTICE, line);
	return ret;
}

static int
cmp_active(const void *a, const void *b)
{
	return strcmp(((const struct alarm_active *)a)->id,
	    ((const struct alarm_active *)b)->id);
}

int
alarm_list(const struct alarm_ctx *ctx, struct alarm_active **listp,
    size_t *np, char *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct alarm_active *list = NULL, *grown, a;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int ret = -1;

	*listp = NULL;
	*np = 0;
	if (ctx->state_dir[0] == '\0')
		return 0;
	if (state_path(ctx, NULL, dir, err) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		errf_errno(err, "open directory %s", dir);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		/* Only ids: skips ".", "..", and temporaries (ID.tmp.PID). */
		if (!valid_id(de->d_name))
			continue;
		if (util_path_join(path, sizeof(path), dir, de->d_name,
		    err) == -1)
			goto fail;
		memset(&a, 0, sizeof(a));
		switch (read_state(path, &a, err)) {
		case 1:
			continue;	/* cleared while we looked */
		case 2:
			errf(err, "%s: not an alarm state file", path);
			goto fail;
		case -1:
			goto fail;
		}
		strlcpy_(a.id, de->d_name, sizeof(a.id));
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((grown = realloc(list, cap * sizeof(*list))) ==
			    NULL) {
				errf(err, "out of memory listing %s", dir);
				goto fail;
			}
			list = grown;
		}
		list[n++] = a;
	}
	if (errno != 0) {
		errf_errno(err, "read directory %s", dir);
		goto fail;
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), cmp_active);
	*listp = list;
	*np = n;
	list = NULL;
	ret = 0;
fail:
	free(list);
	closedir(d);
	return ret;
}
