/*
 * alarm_sender.c — how the agent sends its alarm lines (lib/alarm.c's
 * sender, installed by enumdrd.c; agent_state.c sends the clear of a raise
 * whose state file could not be written through it too).
 *
 * alarm.c's default sender calls openlog() with the alarm ident and
 * closelog() afterwards, and log.c calls openlog() with the program's
 * ident before each message: with several threads the two could swap
 * idents between openlog() and syslog().  The agent therefore sends alarm
 * lines on its own /dev/log socket, in the format syslog(3) uses.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "util.h"

static int foreground;	/* -d: alarm lines on stderr too */

void
agent_alarm_foreground(int on)
{
	foreground = on;
}

void
agent_alarm_sender(const struct alarm_ctx *ctx, int priority,
    const char *line)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int fd = -1;
	struct sockaddr_un sun;
	char msg[2048], ts[32];
	struct tm tm;
	time_t now;
	int len, tries, sent = 0;

	if (foreground)
		log_info("%s", line);
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	len = snprintf(msg, sizeof(msg), "<%d>%s %s[%ld]: %s",
	    ctx->facility | priority, ts, ctx->ident[0] ? ctx->ident :
	    "enumdr", (long)getpid(), line);
	if (len < 0 || (size_t)len >= sizeof(msg))
		len = (int)strlen(msg);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy_(sun.sun_path, "/dev/log", sizeof(sun.sun_path));
	pthread_mutex_lock(&lock);
	for (tries = 0; tries < 2 && !sent; tries++) {
		if (fd == -1) {
			fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd != -1 && connect(fd, (struct sockaddr *)&sun,
			    sizeof(sun)) == -1) {
				close(fd);
				fd = -1;
			}
			if (fd == -1)
				break;
		}
		if (send(fd, msg, (size_t)len, MSG_NOSIGNAL) == len) {
			sent = 1;
		} else {
			close(fd);	/* syslogd restarted: reconnect once */
			fd = -1;
		}
	}
	pthread_mutex_unlock(&lock);
	if (!sent && !foreground)
		log_warnx("alarm line not sent (no syslog at /dev/log): %s",
		    line);
}

