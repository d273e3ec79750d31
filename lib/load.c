/*
 * load.c — run one load step: fork + execv (no shell), output captured
 * through a pipe, a deadline enforced with poll(2), TERM then KILL.  The
 * child's exit is in the same poll through a pidfd (pidfd_open, Linux 5.3),
 * so a step's end is seen at once, not at the next slice of a sleep; a
 * kernel without pidfds falls back to 50 ms slices.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "load.h"
#include "util.h"

#define KILL_GRACE_MS 2000
#define SLICE_MS      50      /* only without a pidfd */

/* A pidfd of pid (readable once it exits), or -1. */
static int
pid_fd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* Keep the last non-empty line of what the child wrote. */
static void
keep_last_line(char *acc, size_t acclen, size_t *fill, const char *buf,
    size_t n, char *last, size_t lastlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (*fill > 0) {
				acc[*fill] = '\0';
				strlcpy_(last, acc, lastlen);
			}
			*fill = 0;
		} else if (*fill + 1 < acclen) {
			acc[(*fill)++] = buf[i];
		}
	}
}

/* The child's side of a step: stdin from /dev/null, stdout and stderr
 * into wfd, a process group of its own (so that a timeout kills what it
 * started too), then the command. */
static _Noreturn void
exec_step(const struct config_step *step, int wfd)
{
	int devnull = open("/dev/null", O_RDONLY);

	if (devnull != -1)
		dup2(devnull, STDIN_FILENO);
	dup2(wfd, STDOUT_FILENO);
	dup2(wfd, STDERR_FILENO);
	setpgid(0, 0);
	execv(step->argv[0], step->argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", step->argv[0],
	    strerror(errno));
	_exit(127);
}

/* Wait until the child pid exits or the deadline passes (TERM, then KILL
 * KILL_GRACE_MS later), keeping the last line it writes to rfd in
 * res->output; *status is waitpid's. */
static void
wait_step(pid_t pid, int rfd, int64_t deadline, struct load_result *res,
    int *status)
{
	char acc[512], buf[4096];
	size_t fill = 0;
	int eof = 0, signalled = 0;
	int64_t killat = 0;
	int pfd = pid_fd(pid);
	pid_t w;

	/* Read output until the step exits (a daemon it started may keep the
	 * pipe open, so the exit, not EOF, ends the wait) or the deadline. */
	for (;;) {
		struct pollfd p[2] = { { .fd = eof ? -1 : rfd, .events = POLLIN },
		    { .fd = pfd, .events = POLLIN } };
		int64_t now = util_now_ms(), until;
		ssize_t n;

		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (!signalled && now >= deadline) {
			kill(-pid, SIGTERM);
			kill(pid, SIGTERM);
			res->timed_out = 1;
			signalled = 1;
			killat = now + KILL_GRACE_MS;
		}
		if (signalled && now >= killat) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			break;
		}
		until = signalled ? killat : deadline;
		if (pfd == -1 && until - now > SLICE_MS)
			until = now + SLICE_MS;
		if (poll(p, 2, (int)(until - now)) <= 0 ||
		    !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(rfd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			eof = 1;
		else
			keep_last_line(acc, sizeof(acc), &fill, buf, (size_t)n,
			    res->output, sizeof(res->output));
	}
	if (pfd != -1)
		close(pfd);
	/* What the step wrote just before it exited. */
	fcntl(rfd, F_SETFL, O_NONBLOCK);
	while (!eof) {
		ssize_t n = read(rfd, buf, sizeof(buf));
		if (n <= 0)
			break;
		keep_last_line(acc, sizeof(acc), &fill, buf, (size_t)n,
		    res->output, sizeof(res->output));
	}
	if (fill > 0) {
		acc[fill] = '\0';
		strlcpy_(res->output, acc, sizeof(res->output));
	}
}

/* 0 when the step exited 0; else -1 with err saying how it ended. */
static int
step_verdict(const struct config_step *step, const struct load_result *res,
    int status, char *err)
{
	if (res->timed_out) {
		errf(err, "load step %s (%s) timed out after %d ms%s%s",
		    step->name, step->argv[0], step->timeout_ms,
		    res->output[0] ? ": " : "", res->output);
		return -1;
	}
	if (res->exit_code != 0) {
		if (WIFSIGNALED(status))
			errf(err, "load step %s (%s) killed by signal %d%s%s",
			    step->name, step->argv[0], WTERMSIG(status),
			    res->output[0] ? ": " : "", res->output);
		else
			errf(err, "load step %s (%s) exited %d%s%s", step->name,
			    step->argv[0], res->exit_code,
			    res->output[0] ? ": " : "", res->output);
		return -1;
	}
	return 0;
}

int
load_run_step(const struct config_step *step, struct load_result *res,
    char *err)
{
	int pfd[2], status = 0;
	int64_t start, deadline;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (step->argc == 0 || step->argv[0] == NULL) {
		errf(err, "load step %s has no command", step->name);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		errf_errno(err, "load step %s: pipe", step->name);
		return -1;
	}
	start = util_now_ms();
	deadline = start + (step->timeout_ms > 0 ? step->timeout_ms : 30000);
	pid = fork();
	if (pid == -1) {
		errf_errno(err, "load step %s: fork", step->name);
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0)
		exec_step(step, pfd[1]);
	close(pfd[1]);
	wait_step(pid, pfd[0], deadline, res, &status);
	close(pfd[0]);
	res->duration_ms = util_now_ms() - start;
	if (!res->timed_out && WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	return step_verdict(step, res, status, err);
}
