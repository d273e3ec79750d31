/*
 * log.h — logging for programs (never for lib/, which fills err buffers).
 * OpenBSD style: log_warn appends strerror(errno), log_warnx does not;
 * fatal/fatalx log and exit(EXIT_SOFTWARE).  Output goes to stderr when
 * log_init(..., to_stderr=1) and to syslog with LOG_PID otherwise.
 */
#ifndef ENUMDR_LOG_H
#define ENUMDR_LOG_H

#include <stdarg.h>

void log_init(const char *ident, int to_stderr, int facility);
void log_set_verbose(int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* syslog facility from its name ("daemon", "local0".."local7", "user"); -1 if unknown. */
int log_facility_from_name(const char *name);

/* syslog(3) has one process-wide ident.  log.c and alarm.c (which sends
 * under its own ident) hold this lock around openlog() + syslog(), so that
 * in a threaded program every line carries the ident it was meant for. */
void log_syslog_lock(void);
void log_syslog_unlock(void);

#endif
