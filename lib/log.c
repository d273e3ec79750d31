/*
 * log.c — logging for enumdr's programs (OpenBSD log.c style).  lib/ never
 * calls these: it fills err buffers and the program decides what to log.
 *
 * log_warn appends strerror(errno), log_warnx does not; log_debug prints
 * only when verbose; fatal/fatalx log and exit with EXIT_SOFTWARE (70).
 * Output goes to stderr ("ident: message") until log_init(..., 0, ...)
 * switches to syslog with LOG_PID.
 *
 * alarm.c opens syslog with its own ident and closes it again after each
 * alarm line, so every syslog message here re-asserts the program's ident
 * and facility with openlog() first (cheap: the socket stays open), both
 * under log_syslog_lock() so that threads cannot mix the two idents.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "exitcodes.h"
#include "log.h"

static int log_to_stderr = 1;
static int log_verbose;
static int log_fac = LOG_DAEMON;
static char log_ident[64];	/* openlog keeps the pointer: own copy */
static pthread_mutex_t log_syslog_mutex = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	int facility;
} log_facilities[] = {
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

static void vlogc(int, const char *, int, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

void
log_init(const char *ident, int to_stderr, int facility)
{
	const char *slash;

	if (ident == NULL)
		ident = "enumdr";
	if ((slash = strrchr(ident, '/')) != NULL)
		ident = slash + 1;
	log_syslog_lock();	/* glibc may be reading log_ident */
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_to_stderr = to_stderr;
	log_fac = facility;
	if (!log_to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, log_fac);
	log_syslog_unlock();
	tzset();
}

void
log_syslog_lock(void)
{
	pthread_mutex_lock(&log_syslog_mutex);
}

void
log_syslog_unlock(void)
{
	pthread_mutex_unlock(&log_syslog_mutex);
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

int
log_facility_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]);
	    i++)
		if (strcmp(name, log_facilities[i].name) == 0)
			return log_facilities[i].facility;
	return -1;
}

/*
 * One message to stderr or syslog: prefix, the formatted text and, when
 * saved is not -1, ": " and strerror(saved).  fmt may be NULL.
 */
static void
vlogc(int pri, const char *prefix, int saved, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t len;

	snprintf(msg, sizeof(msg), "%s", prefix);
	len = strlen(msg);
	if (fmt != NULL)
		vsnprintf(msg + len, sizeof(msg) - len, fmt, ap);
	len = strlen(msg);
	if (saved != -1)
		snprintf(msg + len, sizeof(msg) - len, "%s%s",
		    fmt != NULL ? ": " : "", strerror(saved));

	if (log_to_stderr) {
		if (log_ident[0] != '\0')
			fprintf(stderr, "%s: ", log_ident);
		fprintf(stderr, "%s\n", msg);
		fflush(stderr);
		return;
	}
	log_syslog_lock();
	openlog(log_ident, LOG_PID | LOG_NDELAY, log_fac);
	syslog(pri, "%s", msg);
	log_syslog_unlock();
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlogc(LOG_ERR, "", saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlogc(LOG_ERR, "", -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlogc(LOG_INFO, "", -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlogc(LOG_DEBUG, "", -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlogc(LOG_CRIT, "fatal: ", saved, fmt, ap);
	va_end(ap);
	exit(EXIT_SOFTWARE);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogc(LOG_CRIT, "fatal: ", -1, fmt, ap);
	va_end(ap);
	exit(EXIT_SOFTWARE);
}
