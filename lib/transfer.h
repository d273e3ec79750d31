/*
 * transfer.h — moving snapshot and serial files between rooms with libcurl
 * (S0.1's "FTP" job, generalised): file://, ftp://, sftp://, http(s)://.
 *
 * Arrival is atomic on both ends: a download is written to
 * LOCAL.part.PID and renamed only once complete; an upload goes to
 * NAME.part on the server and is renamed there (FTP RNFR/RNTO, SFTP
 * "rename", file:// rename(2); HTTP PUT servers are expected to do the
 * same — enumdrd does).  Every transfer is bounded by a connect timeout
 * and a total timeout.
 */
#ifndef ENUMDR_TRANSFER_H
#define ENUMDR_TRANSFER_H

#include <stdatomic.h>
#include <stddef.h>

#include <curl/curl.h>

#include "config.h"

struct transfer_opts {
	long connect_timeout_ms;     /* 0 = 2000 */
	long total_timeout_ms;       /* 0 = 30000 */
	const char *ssh_private_key; /* NULL/"" = libcurl default */
	const char *ssh_public_key;
	const char *ssh_known_hosts; /* NULL/"" = no host key check */
	size_t max_bytes;            /* downloads larger than this fail; 0 = 4 GiB */
	const atomic_int *abort_flag; /* HTTP GET: != 0 ends it within about
	                              * a second (a long-poll at shutdown) */
};

/* Timeouts and ssh keys of the room's configuration (timeouts:, transfer:). */
void transfer_opts_from_config(struct transfer_opts *opts,
    const struct config *cfg);

/* Call once per process before any transfer (curl_global_init). */
int transfer_global_init(char *err);
void transfer_global_cleanup(void);

/* Download url to local_path (atomic).  On failure no file is left at
 * local_path's temporary name and local_path itself is untouched. */
int transfer_get(const char *url, const char *local_path,
    const struct transfer_opts *opts, char *err);

/* Upload local_path to url (a full file URL, not a directory). */
int transfer_put(const char *local_path, const char *url,
    const struct transfer_opts *opts, char *err);

#define TRANSFER_URL_SHOW 1024	/* a URL as messages show it */

/* url into out with its password shown as "***": every message that
 * names a URL shows it this way. */
void transfer_url_show(const char *url, char *out, size_t outlen);

/* Join a directory URL (with or without trailing '/') and a file name. */
int transfer_url_join(char *out, size_t outlen, const char *dir_url,
    const char *name, char *err);

/* HTTP GET into memory (heartbeats, small JSON): *body is malloc'd and
 * NUL-terminated; *status is the HTTP status code. */
int transfer_http_get(const char *url, const struct transfer_opts *opts,
    size_t max_bytes, char **body, size_t *len, long *status, char *err);

/* The same as a POST with an empty body (the arguments in url's query):
 * the switchover messages (doc/switchover.md). */
int transfer_http_post(const char *url, const struct transfer_opts *opts,
    size_t max_bytes, char **body, size_t *len, long *status, char *err);

/* transfer_http_get on the caller's easy handle (curl_easy_init'd, kept
 * between calls): HTTP keep-alive, the next GET to the same server goes
 * over the connection the last one left open.  Each call sets every
 * option again and resets them when done. */
int transfer_http_get_keep(CURL *curl, const char *url,
    const struct transfer_opts *opts, size_t max_bytes, char **body,
    size_t *len, long *status, char *err);

#endif
