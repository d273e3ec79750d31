/*
 * util.h — small helpers shared by every module: the error buffer, atomic
 * file writes (temporary name + fsync + rename + fsync of the directory),
 * bounded file reads, directory creation and clocks.
 *
 * Error convention (redis anet.c style): a lib/ function never prints and
 * never exits.  It returns 0 on success and -1 on failure, and on failure
 * fills the caller's `char *err` buffer (ENUMDR_ERRLEN bytes) with one
 * sentence naming the file, step or value that failed.
 */
#ifndef ENUMDR_UTIL_H
#define ENUMDR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ENUMDR_ERRLEN 512

/* Fill err (ENUMDR_ERRLEN bytes) with a formatted message; err may be NULL. */
void errf(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like errf, then append ": " and strerror(errno) as it was on entry. */
void errf_errno(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy at most dstsize-1 bytes, always terminate; returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t dstsize);

/* Write buf to path atomically: path.tmp.PID, fsync, rename, fsync dir. */
int util_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, char *err);

/* Read a whole file of at most max bytes into a NUL-terminated malloc'd
 * buffer.  A larger file is an error (named with its size). */
int util_read_file(const char *path, size_t max, char **buf, size_t *len,
    char *err);

/* mkdir -p with the given mode for created components. */
int util_mkdir_p(const char *path, mode_t mode, char *err);

/* fsync the directory that holds path (or the directory itself). */
int util_fsync_dir(const char *dir, char *err);

/* Copy a file to dst atomically (temporary name + fsync + rename). */
int util_copy_file(const char *src, const char *dst, char *err);

/*
 * Temporary files outlive a crash (kill -9, power loss) of the process that
 * made them.  Every enumdr temporary is NAME.tmp.PID or NAME.part.PID
 * (optionally followed by SQLite's -journal, -wal or -shm), PID being its
 * maker's: remove those in dir whose maker no longer runs; with
 * own_random also NAME.part.XXXXXX (6 letters or digits, the agent's
 * uploads), which only the caller makes (call it once, at start).  Returns
 * how many were removed (n may be NULL), -1 when dir cannot be read (a
 * missing dir is not an error).
 */
int util_remove_stale_temps(const char *dir, int own_random, size_t *n,
    char *err);

/* Milliseconds from CLOCK_MONOTONIC. */
int64_t util_now_ms(void);
/* Milliseconds since the epoch (CLOCK_REALTIME: the HLC's wall part). */
int64_t util_wall_ms(void);

/* Current UTC time as 2026-11-29T15:34:26Z (out: at least 32 bytes). */
/* Is s exactly such a time (len bytes, no more)? */
int util_utc_valid(const char *s, size_t len);
void util_utc_iso8601(char *out, size_t outlen);

/* The directory part of path (dirname(3)) into out (PATH_MAX bytes). */
void util_dirname(const char *path, char *out);

/* write(2) all len bytes, again after EINTR; -1 with errno. */
int util_write_all(int fd, const void *buf, size_t len);

/* join dir and name into out (PATH_MAX); -1 and err when too long. */
int util_path_join(char *out, size_t outlen, const char *dir,
    const char *name, char *err);

#endif
