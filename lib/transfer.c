/*
 * transfer.c — moving snapshot and serial files between rooms with libcurl
 * (S0.1's "FTP" job, generalised; S1.2 snapshot transfer): file://, ftp://,
 * ftps://, sftp://, http:// and https://.
 *
 * A download is written to LOCAL.part.PID (created with O_EXCL), capped at
 * max_bytes, fsync'd, renamed onto LOCAL, and the directory is fsync'd; on
 * any failure the part file is removed and LOCAL is left as it was.
 *
 * An upload never changes the final name until the whole file is on the
 * server, under NAME.part in the same directory:
 *
 *   file://    done here, without libcurl: copy into NAME.part, fsync,
 *              rename(2), fsync the directory.  libcurl's file:// upload
 *              writes the final name in place and never fsyncs, which is
 *              neither atomic nor durable.  The path is the URL's path,
 *              percent-decoded by libcurl; the host must be empty or
 *              "localhost".
 *   ftp(s)://  STOR NAME.part, then POSTQUOTE "RNFR NAME.part" and
 *              "RNTO NAME".  We use CURLFTPMETHOD_MULTICWD (one CWD per
 *              path part, MKD of the missing ones), which leaves the session
 *              in the file's own directory, so the rename takes bare names.
 *              RNTO over an existing file replaces it (rename(2) on vsftpd).
 *   sftp://    upload NAME.part, then POSTQUOTE "*rm NAME" and "rename
 *              NAME.part NAME" with the full path.  SFTP version 3 (what
 *              OpenSSH speaks and what libcurl/libssh2 send) refuses to
 *              rename onto an existing name, and libcurl cannot send the
 *              posix-rename@openssh.com extension, so the old file is
 *              removed first ("*": a missing file is not an error).  For
 *              the moment between the two commands the name is absent: a
 *              reader sees "no file", never a partial one.  If the rename
 *              itself fails after the rm, NAME stays absent until the next
 *              upload; the sender still holds the data.
 *   http(s):// PUT of the file to the URL as given; the server (enumdrd)
 *              writes to a temporary name and renames.
 *
 * A failed upload can leave NAME.part behind on the server; the next upload
 * overwrites it, and readers only ever look at NAME.
 *
 * sftp:// paths are absolute; "sftp://host/~/x" is x in the login
 * directory.  opts may be NULL everywhere: the defaults then apply.
 *
 * Every transfer has a connect timeout and a total timeout, no signals
 * (CURLOPT_NOSIGNAL), only the six protocols above, and redirects (GET
 * only) to http(s) alone, never from https down to http.  Error messages
 * name the URL with its password shown as "***".
 *
 * SSH host keys: with ssh_known_hosts set, a host whose key is missing from
 * the file or does not match is refused.  Without it, any host key is
 * accepted — operators should always set ssh_known_hosts.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "transfer.h"
#include "util.h"

#define TRANSFER_CONNECT_MS	2000L
#define TRANSFER_TOTAL_MS	30000L
#define TRANSFER_MAX_BYTES	((uint64_t)4 << 30)	/* 4 GiB */
#define TRANSFER_HTTP_MAX	((size_t)1 << 20)	/* http_get default */
#define TRANSFER_MAX_REDIRS	5L

enum url_kind {
	URL_UNKNOWN,
	URL_FILE,
	URL_FTP,	/* ftp and ftps */
	URL_SFTP,
	URL_HTTP	/* http and https */
};

/* Where a download goes: the part file, and what the callback saw. */
struct file_sink {
	int		 fd;
	uint64_t	 got;		/* bytes written so far */
	uint64_t	 max;		/* more than this is an error */
	int		 too_large;	/* the callback stopped at max */
	int		 write_errno;	/* write(2) failed with this */
};

/* What libcurl's SSH host key check found, to say it in the error. */
struct hostkey_check {
	const char	*known_hosts;	/* the file, NULL = no check */
	int		 seen;		/* libcurl called hostkey_cb */
	enum curl_khmatch match;	/* ok, mismatch or missing */
};

/* Where transfer_http_get's body goes. */
struct mem_sink {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 too_large;
	int		 no_memory;
};

/* curl_easy_setopt, or fill err naming the option and goto fail. */
#define SETOPT(curl, opt, val) do {					\
	CURLcode setopt_rc_ = curl_easy_setopt((curl), (opt), (val));	\
	if (setopt_rc_ != CURLE_OK) {					\
		errf(err, "curl_easy_setopt(%s): %s", #opt,		\
		    curl_easy_strerror(setopt_rc_));			\
		goto fail;						\
	}								\
} while (0)

/* Which of our protocols url uses (scheme compared case-insensitively). */
static enum url_kind
url_kind(const char *url)
{
	static const struct {
		const char	*prefix;
		enum url_kind	 kind;
	} schemes[] = {
		{ "file://", URL_FILE },
		{ "ftp://", URL_FTP },
		{ "ftps://", URL_FTP },
		{ "sftp://", URL_SFTP },
		{ "http://", URL_HTTP },
		{ "https://", URL_HTTP },
	};
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(url, schemes[i].prefix,
		    strlen(schemes[i].prefix)) == 0)
			return schemes[i].kind;
	return URL_UNKNOWN;
}

/* Copy url to out with its password replaced by "***" (libcurl's URL
 * parser finds it), so that no message ever shows it.  A URL without a
 * password is copied as it is; one that libcurl cannot parse is shown
 * only when it has no '@' (no "user:password@" to hide). */
void
transfer_url_show(const char *url, char *out, size_t outlen)
{
	char *pw = NULL, *shown = NULL;
	CURLU *u;

	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, url,
	    CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		strlcpy_(out, strchr(url, '@') == NULL ? url :
		    "(a URL that cannot be parsed)", outlen);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) != CURLUE_OK) {
		strlcpy_(out, url, outlen);	/* no password */
		goto done;
	}
	if (curl_url_set(u, CURLUPART_PASSWORD, "***", 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK)
		strlcpy_(out, "(a URL with a password)", outlen);
	else
		strlcpy_(out, shown, outlen);
done:
	curl_free(pw);
	curl_free(shown);
	curl_url_cleanup(u);
}

/* Fill err with "WHAT: curl's reason", from the error buffer when libcurl
 * filled it, always ending with curl_easy_strerror's short reason (e.g.
 * "Couldn't connect to server").  A refused SSH host key is said plainly.
 * hk may be NULL. */
static void
curl_error(char *err, const char *what, CURLcode rc, char *errbuf,
    const struct hostkey_check *hk)
{
	const char *reason = curl_easy_strerror(rc);
	size_t len = strlen(errbuf);

	if (rc == CURLE_PEER_FAILED_VERIFICATION && hk != NULL && hk->seen &&
	    hk->match != CURLKHMATCH_OK) {
		errf(err, "%s: the server's SSH host key %s %s: refused", what,
		    hk->match == CURLKHMATCH_MISMATCH ?
		    "does not match the key for this host in" :
		    "is not listed in", hk->known_hosts);
		return;
	}

	while (len > 0 && (errbuf[len - 1] == '\n' || errbuf[len - 1] == '\r'))
		errbuf[--len] = '\0';
	if (len == 0)
		errf(err, "%s: %s", what, reason);
	else if (strstr(errbuf, reason) != NULL)
		errf(err, "%s: %s", what, errbuf);
	else
		errf(err, "%s: %s (%s)", what, errbuf, reason);
}

/* How curl_easy_perform ended: 1 with err when the transfer failed (an
 * HTTP status of 400 or more, curl's error, or an HTTP status outside
 * 2xx), else 0.  status is 0 for other protocols. */
static int
perform_failed(CURLcode rc, enum url_kind kind, long status,
    const char *what, char *errbuf, const struct hostkey_check *hk,
    char *err)
{
	if (rc != CURLE_OK && status >= 400) {
		errf(err, "%s: HTTP status %ld", what, status);
		return 1;
	}
	if (rc != CURLE_OK) {
		curl_error(err, what, rc, errbuf, hk);
		return 1;
	}
	if (kind == URL_HTTP && (status < 200 || status > 299)) {
		errf(err, "%s: HTTP status %ld", what, status);
		return 1;
	}
	return 0;
}

/* Percent-decode the first len bytes of in into out (outlen bytes) with
 * libcurl (a '%' not followed by two hex digits stays as it is).  Control
 * characters (%00, CR, LF ...) are refused: they have no place in a file
 * name and would break an FTP or SFTP command line. */
static int
url_decode(const char *in, size_t len, char *out, size_t outlen,
    const char *what, char *err)
{
	char *dec;
	int n, i, ret = -1;

	if (len == 0) {		/* curl_easy_unescape would take strlen */
		out[0] = '\0';
		return 0;
	}
	if (len > INT_MAX) {
		errf(err, "%s: path too long", what);
		return -1;
	}
	if ((dec = curl_easy_unescape(NULL, in, (int)len, &n)) == NULL) {
		errf(err, "%s: out of memory", what);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)dec[i] < 0x20 || dec[i] == 0x7f) {
			errf(err, "%s: control character in the path", what);
			goto done;
		}
	}
	if ((size_t)n >= outlen) {
		errf(err, "%s: path too long", what);
		goto done;
	}
	memcpy(out, dec, (size_t)n);
	out[n] = '\0';
	ret = 0;
done:
	curl_free(dec);
	return ret;
}

#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85.0 */
/* The protocols of the comma-separated list want that this libcurl was
 * built with, into out: CURLOPT_PROTOCOLS_STR refuses a name it does not
 * know (a libcurl without libssh2 knows no "sftp"). */
static void
built_protocols(const char *want, char *out, size_t outlen)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	const char *const *p;
	size_t len;

	out[0] = '\0';
	while (*want != '\0') {
		len = strcspn(want, ",");
		for (p = vi->protocols; p != NULL && *p != NULL; p++) {
			if (strlen(*p) != len || strncasecmp(*p, want, len) != 0)
				continue;
			if (out[0] != '\0')
				strlcpy_(out + strlen(out), ",",
				    outlen - strlen(out));
			strlcpy_(out + strlen(out), *p, outlen - strlen(out));
			break;
		}
		want += len + (want[len] == ',');
	}
}
#endif

/* libcurl's SSH host key callback (called only with a known_hosts file):
 * accept an exact match only, as libcurl's own default does, and remember
 * what was found for the error message. */
static int
hostkey_cb(CURL *curl, const struct curl_khkey *knownkey,
    const struct curl_khkey *foundkey, enum curl_khmatch match, void *arg)
{
	struct hostkey_check *hk = arg;

	hk->seen = 1;
	hk->match = match;
	return match == CURLKHMATCH_OK ? CURLKHSTAT_FINE : CURLKHSTAT_REJECT;
}

/* The settings every transfer shares: URL, error buffer, timeouts, no
 * signals, allowed protocols, SSH keys and host key check (into hk).
 * follow: whether to follow HTTP redirects (GETs only; never to another
 * protocol nor from https down to http). */
static int
easy_setup(CURL *curl, const char *url, const char *protocols,
    const struct transfer_opts *opts, char *errbuf, struct hostkey_check *hk,
    int follow, char *err)
{
	long connect_ms = TRANSFER_CONNECT_MS, total_ms = TRANSFER_TOTAL_MS;
	const char *redir;
#if LIBCURL_VERSION_NUM >= 0x075500
	char allowed[64], allowed_redir[64];
#endif

	memset(hk, 0, sizeof(*hk));
	if (opts != NULL && opts->connect_timeout_ms > 0)
		connect_ms = opts->connect_timeout_ms;
	if (opts != NULL && opts->total_timeout_ms > 0)
		total_ms = opts->total_timeout_ms;
	redir = strncasecmp(url, "https:", 6) == 0 ? "https" : "http,https";

	errbuf[0] = '\0';
	SETOPT(curl, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(curl, CURLOPT_URL, url);
	SETOPT(curl, CURLOPT_NOSIGNAL, 1L);
	/* Rooms talk to each other directly: an http_proxy in the
	 * environment of keepalived or a shell must not reroute heartbeats. */
	SETOPT(curl, CURLOPT_NOPROXY, "*");
	SETOPT(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SETOPT(curl, CURLOPT_TIMEOUT_MS, total_ms);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85.0 */
	built_protocols(protocols, allowed, sizeof(allowed));
	built_protocols(redir, allowed_redir, sizeof(allowed_redir));
	SETOPT(curl, CURLOPT_PROTOCOLS_STR, allowed);
	SETOPT(curl, CURLOPT_REDIR_PROTOCOLS_STR, allowed_redir);
#else
	{
		long mask = CURLPROTO_HTTP | CURLPROTO_HTTPS;

		if (strcmp(protocols, "http,https") != 0)
			mask |= CURLPROTO_FILE | CURLPROTO_FTP |
			    CURLPROTO_FTPS | CURLPROTO_SFTP;
		SETOPT(curl, CURLOPT_PROTOCOLS, mask);
		SETOPT(curl, CURLOPT_REDIR_PROTOCOLS, strcmp(redir, "https") ==
		    0 ? (long)CURLPROTO_HTTPS :
		    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	}
#endif
	SETOPT(curl, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
	SETOPT(curl, CURLOPT_MAXREDIRS, TRANSFER_MAX_REDIRS);
	SETOPT(curl, CURLOPT_USERAGENT, "enumdr");
	if (opts != NULL && opts->ssh_private_key != NULL &&
	    opts->ssh_private_key[0] != '\0')
		SETOPT(curl, CURLOPT_SSH_PRIVATE_KEYFILE, opts->ssh_private_key);
	if (opts != NULL && opts->ssh_public_key != NULL &&
	    opts->ssh_public_key[0] != '\0')
		SETOPT(curl, CURLOPT_SSH_PUBLIC_KEYFILE, opts->ssh_public_key);
	if (opts != NULL && opts->ssh_known_hosts != NULL &&
	    opts->ssh_known_hosts[0] != '\0') {
		hk->known_hosts = opts->ssh_known_hosts;
		SETOPT(curl, CURLOPT_SSH_KNOWNHOSTS, opts->ssh_known_hosts);
		SETOPT(curl, CURLOPT_SSH_KEYFUNCTION, hostkey_cb);
		SETOPT(curl, CURLOPT_SSH_KEYDATA, hk);
	}
	return 0;
fail:
	return -1;
}

void
transfer_opts_from_config(struct transfer_opts *opts, const struct config *cfg)
{
	memset(opts, 0, sizeof(*opts));
	opts->connect_timeout_ms = cfg->connect_timeout_ms;
	opts->total_timeout_ms = cfg->transfer_timeout_ms;
	opts->ssh_private_key = cfg->ssh_private_key;
	opts->ssh_public_key = cfg->ssh_public_key;
	opts->ssh_known_hosts = cfg->ssh_known_hosts;
}

int
transfer_global_init(char *err)
{
	CURLcode rc;

	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		errf(err, "curl_global_init: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

void
transfer_global_cleanup(void)
{
	curl_global_cleanup();
}

/* libcurl write callback of transfer_get: append to the part file, stop
 * (return 0, libcurl aborts) once the body would pass max bytes. */
static size_t
file_sink_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct file_sink *sink = arg;
	size_t len = size * nmemb;

	if ((uint64_t)len > sink->max - sink->got) {
		sink->too_large = 1;
		return 0;
	}
	if (util_write_all(sink->fd, ptr, len) == -1) {
		sink->write_errno = errno;
		return 0;
	}
	sink->got += len;
	return len;
}

int
transfer_get(const char *url, const char *local_path,
    const struct transfer_opts *opts, char *err)
{
	char safe[TRANSFER_URL_SHOW], what[TRANSFER_URL_SHOW + PATH_MAX];
	char part[PATH_MAX], dir[PATH_MAX], errbuf[CURL_ERROR_SIZE];
	struct hostkey_check hk;
	struct file_sink sink;
	enum url_kind kind;
	CURL *curl = NULL;
	CURLcode rc;
	long status = 0;
	int ret = -1;

	memset(&sink, 0, sizeof(sink));
	sink.max = TRANSFER_MAX_BYTES;
	if (opts != NULL && opts->max_bytes > 0)
		sink.max = opts->max_bytes;
	transfer_url_show(url, safe, sizeof(safe));
	snprintf(what, sizeof(what), "get %s to %s", safe, local_path);
	kind = url_kind(url);
	if (kind == URL_UNKNOWN) {
		errf(err, "%s: unsupported URL scheme (file, ftp, ftps, sftp, "
		    "http and https are)", what);
		return -1;
	}
	if (snprintf(part, sizeof(part), "%s.part.%ld", local_path,
	    (long)getpid()) >= (int)sizeof(part)) {
		errf(err, "path too long: %s", local_path);
		return -1;
	}
	sink.fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (sink.fd == -1 && errno == EEXIST) {
		/* Left by a crashed process with our pid (containers reuse
		 * pids): no live process owns it. */
		unlink(part);
		sink.fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0640);
	}
	if (sink.fd == -1) {
		errf_errno(err, "create %s", part);
		return -1;
	}

	if ((curl = curl_easy_init()) == NULL) {
		errf(err, "%s: curl_easy_init failed", what);
		goto fail;
	}
	if (easy_setup(curl, url, "file,ftp,ftps,sftp,http,https", opts,
	    errbuf, &hk, 1, err) == -1)
		goto fail;
	SETOPT(curl, CURLOPT_WRITEFUNCTION, file_sink_write);
	SETOPT(curl, CURLOPT_WRITEDATA, &sink);
	SETOPT(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink.max);
	if (kind == URL_HTTP)
		SETOPT(curl, CURLOPT_FAILONERROR, 1L);

	rc = curl_easy_perform(curl);
	if (kind == URL_HTTP)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		errf(err, "%s: larger than %llu bytes", what,
		    (unsigned long long)sink.max);
		goto fail;
	}
	if (sink.write_errno != 0) {
		errno = sink.write_errno;
		errf_errno(err, "%s: write %s", what, part);
		goto fail;
	}
	if (perform_failed(rc, kind, status, what, errbuf, &hk, err))
		goto fail;

	if (fsync(sink.fd) == -1) {
		errf_errno(err, "fsync %s", part);
		goto fail;
	}
	if (close(sink.fd) == -1) {
		sink.fd = -1;
		errf_errno(err, "close %s", part);
		goto fail;
	}
	sink.fd = -1;
	if (rename(part, local_path) == -1) {
		errf_errno(err, "rename %s to %s", part, local_path);
		goto fail;
	}
	util_dirname(local_path, dir);
	if (util_fsync_dir(dir, err) == -1)
		goto fail;
	ret = 0;
fail:
	if (sink.fd != -1)
		close(sink.fd);
	if (ret == -1)
		unlink(part);
	curl_easy_cleanup(curl);
	return ret;
}

/* transfer_put for file:// URLs, without libcurl (see the top of the
 * file): copy into NAME.part, fsync, rename, fsync the directory. */
static int
put_file(const char *local_path, const char *url, const char *what,
    char *err)
{
	char path[PATH_MAX], part[PATH_MAX], dir[PATH_MAX], buf[65536];
	const char *p;
	struct stat sb;
	int in = -1, out = -1, made_part = 0, renamed = 0, ret = -1;
	ssize_t r;

	p = url + strlen("file://");
	if (strncasecmp(p, "localhost/", 10) == 0)
		p += strlen("localhost");
	if (*p != '/') {
		errf(err, "%s: a file:// URL must name a local path "
		    "(file:///path or file://localhost/path)", what);
		return -1;
	}
	/* Query and fragment are not part of the path (as for libcurl). */
	if (url_decode(p, strcspn(p, "?#"), path, sizeof(path), what,
	    err) == -1)
		return -1;
	if (path[strlen(path) - 1] == '/') {
		errf(err, "%s: the URL names a directory, not a file", what);
		return -1;
	}
	if (snprintf(part, sizeof(part), "%s.part", path) >=
	    (int)sizeof(part)) {
		errf(err, "%s: path too long", what);
		return -1;
	}
	util_dirname(path, dir);

	in = open(local_path, O_RDONLY | O_CLOEXEC);
	if (in == -1) {
		errf_errno(err, "%s: open %s", what, local_path);
		return -1;
	}
	if (fstat(in, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		errf(err, "%s: %s is not a regular file", what, local_path);
		goto fail;
	}
	if (util_mkdir_p(dir, 0750, err) == -1)
		goto fail;
	out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out == -1) {
		errf_errno(err, "%s: create %s", what, part);
		goto fail;
	}
	made_part = 1;
	for (;;) {
		r = read(in, buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errf_errno(err, "%s: read %s", what, local_path);
			goto fail;
		}
		if (r == 0)
			break;
		if (util_write_all(out, buf, (size_t)r) == -1) {
			errf_errno(err, "%s: write %s", what, part);
			goto fail;
		}
	}
	if (fsync(out) == -1) {
		errf_errno(err, "%s: fsync %s", what, part);
		goto fail;
	}
	if (close(out) == -1) {
		out = -1;
		errf_errno(err, "%s: close %s", what, part);
		goto fail;
	}
	out = -1;
	if (rename(part, path) == -1) {
		errf_errno(err, "%s: rename %s to %s", what, part, path);
		goto fail;
	}
	renamed = 1;
	if (util_fsync_dir(dir, err) == -1)
		goto fail;
	ret = 0;
fail:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	if (ret == -1 && made_part && !renamed)
		unlink(part);
	return ret;
}

/* Append s to the SFTP quote command in buf as a double-quoted argument,
 * with '"', '\'' and '\\' escaped as libcurl's quote parser expects. */
static int
sftp_quote_arg(char *buf, size_t buflen, const char *s)
{
	size_t o = strlen(buf);

	if (o + 3 >= buflen)
		return -1;
	buf[o++] = ' ';
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		if (o + 3 >= buflen)
			return -1;
		if (*s == '"' || *s == '\'' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return 0;
}

/* For ftp:// and sftp:// uploads: the URL of NAME.part (malloc'd into
 * *part_url) and the post-quote commands that rename it to NAME. */
static int
plan_rename(const char *url, enum url_kind kind, const char *what,
    char **part_url, struct curl_slist **quote, char *err)
{
	char name[PATH_MAX], part[PATH_MAX + 8], cmd[2][2 * PATH_MAX + 32];
	char *raw = NULL, *newpath = NULL;
	const char *last, *rel;
	struct curl_slist *list = NULL, *tmp;
	CURLU *u = NULL;
	CURLUcode uc;
	size_t len;
	int i, ret = -1;

	*part_url = NULL;
	*quote = NULL;
	if ((u = curl_url()) == NULL) {
		errf(err, "%s: out of memory", what);
		return -1;
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK ||
	    (uc = curl_url_get(u, CURLUPART_PATH, &raw, 0)) != CURLUE_OK) {
		errf(err, "%s: bad URL (curl_url error %d)", what, (int)uc);
		goto fail;
	}
	len = strlen(raw);
	if (len == 0 || raw[len - 1] == '/') {
		errf(err, "%s: the URL names a directory, not a file", what);
		goto fail;
	}
	if (kind == URL_FTP && strstr(raw, ";type=") != NULL) {
		errf(err, "%s: ;type= in an upload URL is not supported", what);
		goto fail;
	}
	if ((newpath = malloc(len + sizeof(".part"))) == NULL) {
		errf(err, "%s: out of memory", what);
		goto fail;
	}
	snprintf(newpath, len + sizeof(".part"), "%s.part", raw);
	if ((uc = curl_url_set(u, CURLUPART_PATH, newpath, 0)) != CURLUE_OK ||
	    (uc = curl_url_get(u, CURLUPART_URL, part_url, 0)) != CURLUE_OK) {
		errf(err, "%s: cannot build the .part URL (curl_url error %d)",
		    what, (int)uc);
		goto fail;
	}

	if (kind == URL_FTP) {
		/* The session sits in the file's directory (MULTICWD). */
		last = strrchr(raw, '/');
		last = last != NULL ? last + 1 : raw;
		if (url_decode(last, strlen(last), name, sizeof(name), what,
		    err) == -1)
			goto fail;
		snprintf(cmd[0], sizeof(cmd[0]), "RNFR %s.part", name);
		snprintf(cmd[1], sizeof(cmd[1]), "RNTO %s", name);
	} else {
		/* "/~/x" is x in the login directory, where the SFTP server
		 * resolves relative names; anything else is absolute. */
		rel = strncmp(raw, "/~/", 3) == 0 ? raw + 3 : raw;
		if (url_decode(rel, strlen(rel), name, sizeof(name), what,
		    err) == -1)
			goto fail;
		snprintf(part, sizeof(part), "%s.part", name);
		strlcpy_(cmd[0], "*rm", sizeof(cmd[0]));
		strlcpy_(cmd[1], "rename", sizeof(cmd[1]));
		if (sftp_quote_arg(cmd[0], sizeof(cmd[0]), name) == -1 ||
		    sftp_quote_arg(cmd[1], sizeof(cmd[1]), part) == -1 ||
		    sftp_quote_arg(cmd[1], sizeof(cmd[1]), name) == -1) {
			errf(err, "%s: path too long", what);
			goto fail;
		}
	}
	for (i = 0; i < 2; i++) {
		if ((tmp = curl_slist_append(list, cmd[i])) == NULL) {
			errf(err, "%s: out of memory", what);
			goto fail;
		}
		list = tmp;
	}
	*quote = list;
	list = NULL;
	ret = 0;
fail:
	if (ret == -1) {
		curl_free(*part_url);
		*part_url = NULL;
	}
	curl_slist_free_all(list);
	curl_free(raw);
	free(newpath);
	curl_url_cleanup(u);
	return ret;
}

/* libcurl write callback that drops a response body. */
static size_t
discard_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* transfer_put for ftp(s)://, sftp:// and http(s):// through libcurl. */
static int
put_curl(const char *local_path, const char *url, enum url_kind kind,
    const char *what, const struct transfer_opts *opts, char *err)
{
	char errbuf[CURL_ERROR_SIZE];
	struct hostkey_check hk;
	struct curl_slist *quote = NULL;
	char *part_url = NULL;
	struct stat sb;
	CURL *curl = NULL;
	CURLcode rc;
	FILE *fp;
	long status = 0;
	int ret = -1;

	if ((fp = fopen(local_path, "rbe")) == NULL) {
		errf_errno(err, "%s: open %s", what, local_path);
		return -1;
	}
	if (fstat(fileno(fp), &sb) == -1 || !S_ISREG(sb.st_mode)) {
		errf(err, "%s: %s is not a regular file", what, local_path);
		goto fail;
	}
	if (kind != URL_HTTP && plan_rename(url, kind, what, &part_url,
	    &quote, err) == -1)
		goto fail;

	if ((curl = curl_easy_init()) == NULL) {
		errf(err, "%s: curl_easy_init failed", what);
		goto fail;
	}
	if (easy_setup(curl, part_url != NULL ? part_url : url,
	    "file,ftp,ftps,sftp,http,https", opts, errbuf, &hk, 0, err) == -1)
		goto fail;
	SETOPT(curl, CURLOPT_UPLOAD, 1L);
	SETOPT(curl, CURLOPT_READDATA, fp);
	/* The server's answer to a PUT is not ours to print. */
	SETOPT(curl, CURLOPT_WRITEFUNCTION, discard_write);
	SETOPT(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sb.st_size);
	SETOPT(curl, CURLOPT_FTP_CREATE_MISSING_DIRS,
	    (long)CURLFTP_CREATE_DIR_RETRY);
	SETOPT(curl, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_MULTICWD);
	SETOPT(curl, CURLOPT_NEW_FILE_PERMS, 0640L);
	SETOPT(curl, CURLOPT_NEW_DIRECTORY_PERMS, 0750L);
	if (quote != NULL)
		SETOPT(curl, CURLOPT_POSTQUOTE, quote);
	if (kind == URL_HTTP)
		SETOPT(curl, CURLOPT_FAILONERROR, 1L);

	rc = curl_easy_perform(curl);
	if (kind == URL_HTTP)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_QUOTE_ERROR) {	/* ftp, sftp: no HTTP status */
		curl_error(err, what, rc, errbuf, &hk);
		snprintf(err + strlen(err), ENUMDR_ERRLEN - strlen(err),
		    "; renaming the uploaded .part file on the server failed%s",
		    kind == URL_FTP ? ", the old file is unchanged" : "");
		goto fail;
	}
	if (perform_failed(rc, kind, status, what, errbuf, &hk, err))
		goto fail;
	ret = 0;
fail:
	curl_easy_cleanup(curl);
	curl_slist_free_all(quote);
	curl_free(part_url);
	fclose(fp);
	return ret;
}

int
transfer_put(const char *local_path, const char *url,
    const struct transfer_opts *opts, char *err)
{
	char safe[TRANSFER_URL_SHOW], what[TRANSFER_URL_SHOW + PATH_MAX];
	enum url_kind kind;

	transfer_url_show(url, safe, sizeof(safe));
	snprintf(what, sizeof(what), "put %s to %s", local_path, safe);
	kind = url_kind(url);
	switch (kind) {
	case URL_UNKNOWN:
		errf(err, "%s: unsupported URL scheme (file, ftp, ftps, sftp, "
		    "http and https are)", what);
		return -1;
	case URL_FILE:
		return put_file(local_path, url, what, err);
	default:
		return put_curl(local_path, url, kind, what, opts, err);
	}
}

/* The relative reference that names file name in directory path (the
 * path of a directory URL, with or without its final '/'), every segment
 * of name percent-encoded by libcurl; malloc'd, NULL when out of memory.
 * "./" keeps a ':' in the first segment from reading as a scheme. */
static char *
relative_ref(const char *path, const char *name)
{
	const char *last = strrchr(path, '/'), *p;
	size_t o, seg;
	char *out, *enc;

	last = last != NULL ? last + 1 : path;	/* "" when path ends in '/' */
	if ((out = malloc(strlen(last) + 3 * strlen(name) + 5)) == NULL)
		return NULL;
	o = (size_t)snprintf(out, strlen(last) + 4, "./%s%s", last,
	    *last != '\0' ? "/" : "");
	for (p = name; *p != '\0'; p += seg + (p[seg] == '/')) {
		seg = strcspn(p, "/");
		/* all but RFC 3986 unreserved characters */
		if ((enc = curl_easy_escape(NULL, p, (int)seg)) == NULL) {
			free(out);
			return NULL;
		}
		if (p != name)
			out[o++] = '/';
		memcpy(out + o, enc, strlen(enc));
		o += strlen(enc);
		curl_free(enc);
	}
	out[o] = '\0';
	return out;
}

int
transfer_url_join(char *out, size_t outlen, const char *dir_url,
    const char *name, char *err)
{
	char safe[TRANSFER_URL_SHOW], *path = NULL, *joined = NULL;
	char *url = NULL;
	const char *p;
	CURLU *u = NULL;
	size_t seg;
	int ret = -1;

	if (outlen > 0)
		out[0] = '\0';
	transfer_url_show(dir_url, safe, sizeof(safe));
	if (name[0] == '\0' || name[0] == '/' || strlen(name) > PATH_MAX) {
		errf(err, "bad file name \"%s\" to join to a URL", name);
		return -1;
	}
	/* No "." or ".." path segments, no empty ones. */
	for (p = name; *p != '\0'; p += seg + (p[seg] == '/')) {
		seg = strcspn(p, "/");
		if (seg == 0 || (seg == 1 && p[0] == '.') ||
		    (seg == 2 && p[0] == '.' && p[1] == '.')) {
			errf(err, "bad file name \"%s\" to join to a URL", name);
			return -1;
		}
	}
	if ((u = curl_url()) == NULL) {
		errf(err, "out of memory joining %s and %s", safe, name);
		return -1;
	}
	if (strstr(dir_url, "://") == NULL ||
	    curl_url_set(u, CURLUPART_URL, dir_url,
	    CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		errf(err, "not a URL: \"%s\"", safe);
		goto done;
	}
	if ((joined = relative_ref(path, name)) == NULL) {
		errf(err, "out of memory joining %s and %s", safe, name);
		goto done;
	}
	/* resolved against dir_url (RFC 3986 section 5.2) */
	if (curl_url_set(u, CURLUPART_URL, joined,
	    CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		errf(err, "cannot join %s and %s", safe, name);
		goto done;
	}
	if (strlen(url) >= outlen) {
		errf(err, "URL too long: %s + %s", safe, name);
		goto done;
	}
	memcpy(out, url, strlen(url) + 1);
	ret = 0;
done:
	curl_free(path);
	curl_free(url);
	free(joined);
	curl_url_cleanup(u);
	return ret;
}

/* libcurl write callback of transfer_http_get: grow the buffer, keeping
 * room for the final NUL, up to max bytes. */
static size_t
mem_sink_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct mem_sink *sink = arg;
	size_t len = size * nmemb;

	if (len > sink->max - sink->len) {
		sink->too_large = 1;
		return 0;
	}
	if (sink->len + len + 1 > sink->cap) {
		size_t cap = sink->cap != 0 ? sink->cap : 4096;
		char *p;

		while (cap < sink->len + len + 1)
			cap *= 2;
		if ((p = realloc(sink->buf, cap)) == NULL) {
			sink->no_memory = 1;
			return 0;
		}
		sink->buf = p;
		sink->cap = cap;
	}
	memcpy(sink->buf + sink->len, ptr, len);
	sink->len += len;
	return len;
}

/* Returns 0 whenever an HTTP response arrived, whatever its status: the
 * caller reads *status (a heartbeat may want a 503's body).  max_bytes 0
 * means 1 MiB. */
/* transfer_http_get on the easy handle curl: set up, perform, and leave
 * the handle holding no pointer into this call's stack (its connection
 * stays in the handle's cache for the next request). */
/* The progress callback of a GET with an abort flag: non-zero ends it. */
static int
abort_check(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load((const atomic_int *)clientp) != 0;
}

static int
http_get(CURL *curl, int post, const char *url,
    const struct transfer_opts *opts, size_t max_bytes, char **body,
    size_t *len, long *status, char *err)
{
	char safe[TRANSFER_URL_SHOW], what[TRANSFER_URL_SHOW + 8];
	char errbuf[CURL_ERROR_SIZE];
	struct hostkey_check hk;
	struct mem_sink sink;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	*body = NULL;
	if (len != NULL)
		*len = 0;
	if (status != NULL)
		*status = 0;
	memset(&sink, 0, sizeof(sink));
	sink.max = max_bytes > 0 ? max_bytes : TRANSFER_HTTP_MAX;
	transfer_url_show(url, safe, sizeof(safe));
	snprintf(what, sizeof(what), "%s %s", post ? "POST" : "GET", safe);
	if (url_kind(url) != URL_HTTP) {
		errf(err, "%s: not an http:// or https:// URL", what);
		return -1;
	}
	if (easy_setup(curl, url, "http,https", opts, errbuf, &hk, 1, err) ==
	    -1)
		goto fail;
	SETOPT(curl, CURLOPT_WRITEFUNCTION, mem_sink_write);
	SETOPT(curl, CURLOPT_WRITEDATA, &sink);
	SETOPT(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink.max);
	if (post) {
		/* an empty body: the request's arguments are in its query */
		SETOPT(curl, CURLOPT_POST, 1L);
		SETOPT(curl, CURLOPT_POSTFIELDS, "");
		SETOPT(curl, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (opts != NULL && opts->abort_flag != NULL) {
		SETOPT(curl, CURLOPT_XFERINFOFUNCTION, abort_check);
		SETOPT(curl, CURLOPT_XFERINFODATA, (void *)(uintptr_t)
		    opts->abort_flag);
		SETOPT(curl, CURLOPT_NOPROGRESS, 0L);
	}

	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (status != NULL)
		*status = code;
	if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		errf(err, "%s: larger than %zu bytes", what, sink.max);
		goto fail;
	}
	if (sink.no_memory) {
		errf(err, "%s: out of memory", what);
		goto fail;
	}
	if (rc != CURLE_OK) {
		curl_error(err, what, rc, errbuf, NULL);
		goto fail;
	}
	if (sink.buf == NULL && (sink.buf = malloc(1)) == NULL) {
		errf(err, "%s: out of memory", what);
		goto fail;
	}
	sink.buf[sink.len] = '\0';
	*body = sink.buf;
	sink.buf = NULL;
	if (len != NULL)
		*len = sink.len;
	ret = 0;
fail:
	free(sink.buf);
	/* Options only: the connection, DNS and TLS session caches stay. */
	curl_easy_reset(curl);
	return ret;
}

/* GET (post 0) or empty-body POST (post 1) on a handle of its own. */
static int
http_once(int post, const char *url, const struct transfer_opts *opts,
    size_t max_bytes, char **body, size_t *len, long *status, char *err)
{
	char safe[TRANSFER_URL_SHOW];
	CURL *curl;
	int ret;

	*body = NULL;
	if (len != NULL)
		*len = 0;
	if (status != NULL)
		*status = 0;
	if ((curl = curl_easy_init()) == NULL) {
		transfer_url_show(url, safe, sizeof(safe));
		errf(err, "%s %s: curl_easy_init failed", post ? "POST" : "GET",
		    safe);
		return -1;
	}
	ret = http_get(curl, post, url, opts, max_bytes, body, len, status,
	    err);
	curl_easy_cleanup(curl);
	return ret;
}

int
transfer_http_get(const char *url, const struct transfer_opts *opts,
    size_t max_bytes, char **body, size_t *len, long *status, char *err)
{
	return http_once(0, url, opts, max_bytes, body, len, status, err);
}

int
transfer_http_post(const char *url, const struct transfer_opts *opts,
    size_t max_bytes, char **body, size_t *len, long *status, char *err)
{
	return http_once(1, url, opts, max_bytes, body, len, status, err);
}

int
transfer_http_get_keep(CURL *curl, const char *url,
    const struct transfer_opts *opts, size_t max_bytes, char **body,
    size_t *len, long *status, char *err)
{
	return http_get(curl, 0, url, opts, max_bytes, body, len, status, err);
}
