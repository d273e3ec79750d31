/*
 * alarm.h — alarm lines through syslog (S0.6 "send an alarm to the alarm
 * module"), in one fixed, parseable format documented in doc/alarms.md:
 *
 *   enumdr-alarm v1 id=SYNC_DIVERGED event=raise severity=critical room=A
 *     instance=VI_1 what="..." key=value ...
 *
 * (one line).  A value that is empty or contains a space, '"', '=', '\\'
 * or a control character is written in double quotes, with \" \\ and
 * \xHH escapes; what= is always quoted.  Every raised alarm is remembered
 * as a file in STATE_DIR/alarms/ID so that it can be listed and so that the
 * matching clear is sent only for an alarm that is active.
 */
#ifndef ENUMDR_ALARM_H
#define ENUMDR_ALARM_H

#include <stddef.h>
#include <time.h>

enum alarm_severity {
	ALARM_CRITICAL,
	ALARM_MAJOR,
	ALARM_MINOR,
	ALARM_WARNING
};

struct alarm_ctx {
	char room[64];        /* alarm lines always name their room */
	char instance[64];    /* keepalived instance, "-" when none */
	char ident[64];       /* syslog ident, "enumdr" */
	int facility;         /* syslog facility, e.g. LOG_LOCAL3 */
	char state_dir[4096]; /* active alarms live in state_dir/alarms/ ("" = not kept) */
};

struct alarm_active {
	char id[64];
	enum alarm_severity severity;
	char raised_at[32];   /* UTC ISO 8601 */
	char line[1024];      /* the raise line as sent */
};

void alarm_ctx_init(struct alarm_ctx *ctx, const char *room,
    const char *instance, const char *ident, int facility,
    const char *state_dir);

/* Raise alarm id (A-Z, 0-9, '_', at most 63 chars).  figures is a list of
 * "key", "value" string pairs terminated by NULL (may be just NULL).
 * Writes the line to syslog and records the alarm as active.  Raising an
 * active alarm again sends the line again (the condition persists). */
int alarm_raise(const struct alarm_ctx *ctx, const char *id,
    enum alarm_severity sev, const char *what, const char *const *figures,
    char *err);

/* Clear alarm id: sends a clear line only when the alarm is active
 * (returns 1 then, 0 when it was not active, -1 on error). */
int alarm_clear(const struct alarm_ctx *ctx, const char *id,
    const char *what, const char *const *figures, char *err);

/* Active alarms, sorted by id; *list is malloc'd, free() it. */
int alarm_list(const struct alarm_ctx *ctx, struct alarm_active **list,
    size_t *n, char *err);

/* Format (without sending) the line alarm_raise/alarm_clear would send. */
int alarm_format(const struct alarm_ctx *ctx, const char *id, int raise,
    enum alarm_severity sev, const char *what, const char *const *figures,
    char *out, size_t outlen);

/* Where alarm lines go.  The default sender writes them through syslog(3)
 * with ctx->ident, LOG_PID and ctx->facility; priority is LOG_CRIT,
 * LOG_ERR, LOG_WARNING or LOG_NOTICE (without the facility).  A unit test
 * or a dry-run mode may install its own sender; NULL restores syslog. */
typedef void alarm_sender_fn(const struct alarm_ctx *ctx, int priority,
    const char *line);
void alarm_set_sender(alarm_sender_fn *fn);

const char *alarm_severity_name(enum alarm_severity sev);
/* -1 when unknown */
int alarm_severity_from_name(const char *name);

#endif
