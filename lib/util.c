/*
 * util.c — error buffer, atomic file writes, bounded reads, clocks.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void
errf(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, ENUMDR_ERRLEN, fmt, ap);
	va_end(ap);
}

void
errf_errno(char *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t len;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, ENUMDR_ERRLEN, fmt, ap);
	va_end(ap);
	len = strlen(err);
	if (len < ENUMDR_ERRLEN)
		snprintf(err + len, ENUMDR_ERRLEN - len, ": %s", strerror(saved));
	errno = saved;
}

size_t
strlcpy_(char *dst, const char *src, size_t dstsize)
{
	size_t len = strlen(src);

	if (dstsize > 0) {
		size_t n = len < dstsize - 1 ? len : dstsize - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int
util_path_join(char *out, size_t outlen, const char *dir, const char *name,
    char *err)
{
	int n;
	size_t dl = strlen(dir);

	if (dl > 0 && dir[dl - 1] == '/')
		n = snprintf(out, outlen, "%s%s", dir, name);
	else
		n = snprintf(out, outlen, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= outlen) {
		errf(err, "path too long: %s/%s", dir, name);
		return -1;
	}
	return 0;
}

int
util_fsync_dir(const char *path, char *err)
{
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		errf_errno(err, "open directory %s", path);
		return -1;
	}
	if (fsync(fd) == -1 && errno != EINVAL) {
		errf_errno(err, "fsync directory %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Directory part of path into out (PATH_MAX). */
void
util_dirname(const char *path, char *out)
{
	char tmp[PATH_MAX];

	strlcpy_(tmp, path, sizeof(tmp));
	strlcpy_(out, dirname(tmp), PATH_MAX);
}

/* write(2) until all of buf is out, again after EINTR. */
int
util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
util_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, char *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errf(err, "path too long: %s", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1) {
		errf_errno(err, "create %s", tmp);
		return -1;
	}
	if (util_write_all(fd, buf, len) == -1) {
		errf_errno(err, "write %s", tmp);
		goto fail;
	}
	if (fsync(fd) == -1) {
		errf_errno(err, "fsync %s", tmp);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		errf_errno(err, "close %s", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		errf_errno(err, "rename %s to %s", tmp, path);
		goto fail;
	}
	util_dirname(path, dir);
	return util_fsync_dir(dir, err);
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
util_read_file(const char *path, size_t max, char **bufp, size_t *lenp,
    char *err)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	*bufp = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		errf_errno(err, "open %s", path);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		errf_errno(err, "stat %s", path);
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		errf(err, "%s is not a regular file", path);
		goto fail;
	}
	if ((uint64_t)sb.st_size > max) {
		errf(err, "%s is %lld bytes, more than the %zu allowed", path,
		    (long long)sb.st_size, max);
		goto fail;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		errf(err, "out of memory reading %s", path);
		goto fail;
	}
	while (len < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)sb.st_size - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			errf_errno(err, "read %s", path);
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	*bufp = buf;
	if (lenp)
		*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

int
util_mkdir_p(const char *path, mode_t mode, char *err)
{
	char tmp[PATH_MAX];
	size_t len;
	char *p;

	if (strlcpy_(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		errf(err, "path too long: %s", path);
		return -1;
	}
	len = strlen(tmp);
	while (len > 1 && tmp[len - 1] == '/')
		tmp[--len] = '\0';
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST) {
			errf_errno(err, "create directory %s", tmp);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST) {
		errf_errno(err, "create directory %s", tmp);
		return -1;
	}
	return 0;
}

int
util_copy_file(const char *src, const char *dst, char *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX], buf[65536];
	int in, out = -1;
	ssize_t r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", dst, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errf(err, "path too long: %s", dst);
		return -1;
	}
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in == -1) {
		errf_errno(err, "open %s", src);
		return -1;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out == -1) {
		errf_errno(err, "create %s", tmp);
		close(in);
		return -1;
	}
	for (;;) {
		r = read(in, buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errf_errno(err, "read %s", src);
			goto fail;
		}
		if (r == 0)
			break;
		if (util_write_all(out, buf, (size_t)r) == -1) {
			errf_errno(err, "write %s", tmp);
			goto fail;
		}
	}
	if (fsync(out) == -1) {
		errf_errno(err, "fsync %s", tmp);
		goto fail;
	}
	close(in);
	in = -1;
	if (close(out) == -1) {
		out = -1;
		errf_errno(err, "close %s", tmp);
		goto fail;
	}
	out = -1;
	if (rename(tmp, dst) == -1) {
		errf_errno(err, "rename %s to %s", tmp, dst);
		goto fail;
	}
	util_dirname(dst, dir);
	return util_fsync_dir(dir, err);
fail:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	unlink(tmp);
	return -1;
}

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_utc_iso8601(char *out, size_t outlen)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The PID of a temporary's maker from its suffix ".tmp.PID[-journal...]",
 * 0 when the name is not such a temporary; -1 for ".part.XXXXXX". */
static long
temp_owner(const char *name)
{
	static const char *const sides[] = { "", "-journal", "-wal", "-shm" };
	const char *p, *kind;
	size_t i, len, tail;
	long pid = 0;

	if ((p = strstr(name, ".tmp.")) != NULL)
		kind = p + 5;
	else if ((p = strstr(name, ".part.")) != NULL)
		kind = p + 6;
	else
		return 0;
	if (p == name)
		return 0;
	len = strlen(kind);
	for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		tail = strlen(sides[i]);
		if (len > tail && strcmp(kind + len - tail, sides[i]) == 0) {
			size_t n = len - tail, j;
			int digits = 1;

			for (j = 0; j < n; j++)
				if (kind[j] < '0' || kind[j] > '9')
					digits = 0;
			if (digits && n > 0 && n <= 9) {
				for (j = 0; j < n; j++)
					pid = pid * 10 + (kind[j] - '0');
				return pid > 0 ? pid : 0;
			}
			if (tail == 0 && n == 6 && p[1] == 'p') {
				for (j = 0; j < n; j++)
					if (!isalnum((unsigned char)kind[j]))
						return 0;
				return -1;
			}
		}
	}
	return 0;
}

int
util_remove_stale_temps(const char *dir, int own_random, size_t *np,
    char *err)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	long pid;

	if (np != NULL)
		*np = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		errf_errno(err, "open directory %s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((pid = temp_owner(de->d_name)) == 0)
			continue;
		if (pid == -1 && !own_random)
			continue;
		if (pid > 0 && (pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;	/* its maker runs (or may: EPERM) */
		if (util_path_join(path, sizeof(path), dir, de->d_name,
		    NULL) == -1)
			continue;
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	if (np != NULL)
		*np = n;
	return 0;
}

int
util_utc_valid(const char *s, size_t len)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (len != sizeof(pattern) - 1)
		return 0;
	for (i = 0; pattern[i] != '\0'; i++) {
		if (pattern[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    s[i] != pattern[i])
			return 0;
	}
	return 1;
}
