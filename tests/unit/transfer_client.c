/*
 * transfer_client.c — a tiny command line over lib/transfer.c for the
 * integration tests (tests/integration/transfer-*.sh), plus a TAP self
 * test of what needs no server (URL joining, file://, size caps, password
 * redaction, a refused connection).
 *
 *   transfer_client get URL LOCAL [connect_ms total_ms]
 *   transfer_client put LOCAL URL [connect_ms total_ms]
 *   transfer_client http-get URL [connect_ms total_ms]
 *   transfer_client join DIR_URL NAME
 *   transfer_client journal URL ROOM AFTER LIMIT WAIT_MS [POLLS]
 *   transfer_client selftest DIR
 *
 * journal: POLLS (default 1) polls of a peer's change journal with one
 * peerproto client (lib/peerproto.c: its strict parser, one connection
 * kept open), each after the last change the one before it got; one line
 * per poll: "after=A first=F last=L rows=N ms=T SEQ:OP:E164:ORIGIN ...".
 * Exit 1 on PEERPROTO_EPROTO, 2 on PEERPROTO_EUNREACHABLE.
 *
 * Environment: TRANSFER_SSH_KEY, TRANSFER_SSH_PUBKEY, TRANSFER_KNOWN_HOSTS
 * (sftp), TRANSFER_MAX_BYTES (download cap).  Errors go to stderr; the exit
 * status is 0 on success, 1 on failure, 64 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"
#include "peerproto.h"
#include "transfer.h"
#include "util.h"
#include "tap.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: transfer_client get URL LOCAL [connect_ms total_ms]\n"
	    "       transfer_client put LOCAL URL [connect_ms total_ms]\n"
	    "       transfer_client http-get URL [connect_ms total_ms]\n"
	    "       transfer_client join DIR_URL NAME\n"
	    "       transfer_client journal URL ROOM AFTER LIMIT WAIT_MS"
	    " [POLLS]\n"
	    "       transfer_client selftest DIR\n");
	exit(EXIT_USAGE);
}

static long
parse_ms(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0) {
		fprintf(stderr, "transfer_client: bad milliseconds: %s\n", s);
		exit(EXIT_USAGE);
	}
	return v;
}

/* Options from the environment and the optional [connect_ms total_ms]. */
static void
opts_from(struct transfer_opts *opts, int argc, char **argv, int first)
{
	const char *max;

	memset(opts, 0, sizeof(*opts));
	opts->ssh_private_key = getenv("TRANSFER_SSH_KEY");
	opts->ssh_public_key = getenv("TRANSFER_SSH_PUBKEY");
	opts->ssh_known_hosts = getenv("TRANSFER_KNOWN_HOSTS");
	if ((max = getenv("TRANSFER_MAX_BYTES")) != NULL)
		opts->max_bytes = (size_t)strtoull(max, NULL, 10);
	if (argc == first + 2) {
		opts->connect_timeout_ms = parse_ms(argv[first]);
		opts->total_timeout_ms = parse_ms(argv[first + 1]);
	} else if (argc != first)
		usage();
}

/* ---- selftest ---------------------------------------------------------- */

static int
write_text(const char *path, const char *text)
{
	char err[ENUMDR_ERRLEN];

	return util_write_file_atomic(path, text, strlen(text), 0644, err);
}

/* 1 if path's content is exactly text. */
static int
has_text(const char *path, const char *text)
{
	char err[ENUMDR_ERRLEN], *buf;
	size_t len;
	int same;

	if (util_read_file(path, 1 << 20, &buf, &len, err) == -1)
		return 0;
	same = len == strlen(text) && memcmp(buf, text, len) == 0;
	free(buf);
	return same;
}

/* Number of entries in dir whose name contains needle. */
static int
count_named(const char *dir, const char *needle)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, needle) != NULL)
			n++;
	closedir(d);
	return n;
}

/* transfer_url_show: the one redaction every message uses. */
static void
test_url_show(void)
{
	char out[TRANSFER_URL_SHOW];

	transfer_url_show("ftp://u:pw@h/d/x.db", out, sizeof(out));
	is_str(out, "ftp://u:***@h/d/x.db", "password shown as ***");
	transfer_url_show("http://u:s3cret@[::1]:8080/hb", out, sizeof(out));
	is_str(out, "http://u:***@[::1]:8080/hb", "... with a port and IPv6");
	transfer_url_show("sftp://u@h/~/d/", out, sizeof(out));
	is_str(out, "sftp://u@h/~/d/", "no password: the URL as given");
	transfer_url_show("HTTP://H/x%3F", out, sizeof(out));
	is_str(out, "HTTP://H/x%3F", "... not normalised");
	transfer_url_show("/tmp/x", out, sizeof(out));
	is_str(out, "/tmp/x", "not a URL, no '@': shown");
	transfer_url_show("ftp://u:p w@h/", out, sizeof(out));
	ok(strstr(out, "p w") == NULL, "unparseable with '@': not shown");
}

static void
test_join(void)
{
	char out[256], err[ENUMDR_ERRLEN];

	ok(transfer_url_join(out, sizeof(out), "ftp://h/d", "a.db", err) == 0,
	    "join without a trailing slash");
	is_str(out, "ftp://h/d/a.db", "join adds one slash");
	ok(transfer_url_join(out, sizeof(out), "sftp://u@h:22/d/", "a b#?.db",
	    err) == 0, "join with a trailing slash");
	is_str(out, "sftp://u@h:22/d/a%20b%23%3F.db",
	    "join percent-encodes the name");
	ok(transfer_url_join(out, sizeof(out), "http://h/", "room1/s.db",
	    err) == 0, "join of a relative path");
	is_str(out, "http://h/room1/s.db", "join keeps '/' inside the name");
	ok(transfer_url_join(out, sizeof(out), "file:///", "x.db", err) == 0,
	    "join to file:///");
	is_str(out, "file:///x.db", "join keeps file:/// whole");
	ok(transfer_url_join(out, 24, "ftp://u:pw@h/d", "long-name.db",
	    err) == -1, "join refuses to truncate a URL with a password");
	ok(strstr(err, "pw") == NULL, "and does not show the password");
	ok(transfer_url_join(out, sizeof(out), "http://h/", "../x", err) == -1,
	    "join refuses ..");
	like(err, "bad file name", "join names the bad name");
	ok(transfer_url_join(out, sizeof(out), "/tmp/x", "a", err) == -1,
	    "join refuses a non-URL");
	ok(transfer_url_join(out, 12, "http://h/dir", "name", err) == -1,
	    "join refuses to truncate");
	like(err, "too long", "join says too long");
}

static void
test_file(const char *dir, const struct transfer_opts *opts)
{
	char src[PATH_MAX], url[PATH_MAX + 32], got[PATH_MAX],
	    sub[PATH_MAX], path[PATH_MAX + 32], err[ENUMDR_ERRLEN];
	struct transfer_opts small;
	const char *text = "snapshot one\n", *text2 = "snapshot two, longer\n";

	snprintf(src, sizeof(src), "%s/src.db", dir);
	snprintf(sub, sizeof(sub), "%s/remote dir/sub", dir);
	snprintf(got, sizeof(got), "%s/got.db", dir);
	ok(write_text(src, text) == 0, "write the source file");

	/* file:// put creates the directories, decodes %20, leaves no .part */
	snprintf(url, sizeof(url), "file://%s/remote%%20dir/sub/s.db", dir);
	ok(transfer_put(src, url, opts, err) == 0, "file:// put");
	snprintf(path, sizeof(path), "%s/s.db", sub);
	ok(has_text(path, text), "file:// put arrived whole");
	is_int(count_named(sub, ".part"), 0, "file:// put left no .part");

	/* put over the existing file */
	ok(write_text(src, text2) == 0, "rewrite the source file");
	ok(transfer_put(src, url, opts, err) == 0, "file:// put over a file");
	ok(has_text(path, text2), "file:// put replaced the file");

	/* get back, over an existing local file and over a part file left
	 * by a crashed process with our pid */
	ok(write_text(got, "old\n") == 0, "write an old local file");
	snprintf(path, sizeof(path), "%s.part.%ld", got, (long)getpid());
	ok(write_text(path, "stale") == 0, "write a stale part file");
	ok(transfer_get(url, got, opts, err) == 0, "file:// get");
	ok(has_text(got, text2), "file:// get arrived whole");
	is_int(count_named(dir, "got.db.part"), 0,
	    "file:// get left no part file, the stale one is gone");

	/* a missing remote file: error, local file untouched, no part */
	snprintf(url, sizeof(url), "file://%s/nothing-here.db", dir);
	ok(transfer_get(url, got, opts, err) == -1, "get of a missing file");
	like(err, "nothing-here.db", "the error names the URL");
	ok(has_text(got, text2), "the local file is untouched");
	is_int(count_named(dir, "got.db.part"), 0, "no part file is left");

	/* a download larger than max_bytes */
	small = *opts;
	small.max_bytes = 5;
	snprintf(url, sizeof(url), "file://localhost%s/remote%%20dir/sub/s.db",
	    dir);
	ok(transfer_get(url, got, &small, err) == -1, "get over max_bytes");
	like(err, "larger than 5 bytes", "the error says larger than 5 bytes");
	ok(has_text(got, text2), "the local file is untouched");
	is_int(count_named(dir, "got.db.part"), 0, "no part file is left");

	/* put to a directory under a regular file: error, nothing created */
	snprintf(url, sizeof(url), "file://%s/src.db/x.db", dir);
	ok(transfer_put(src, url, opts, err) == -1, "put below a file fails");
	like(err, "src.db", "the error names the path");

	snprintf(url, sizeof(url), "file://otherhost%s/x.db", dir);
	ok(transfer_put(src, url, opts, err) == -1,
	    "file:// put to another host fails");
	snprintf(url, sizeof(url), "file://%s/", dir);
	ok(transfer_put(src, url, opts, err) == -1,
	    "file:// put to a directory fails");
	like(err, "directory", "the error says directory");
	snprintf(url, sizeof(url), "file://%s/x%%0a.db", dir);
	ok(transfer_put(src, url, opts, err) == -1,
	    "file:// put of a name with a newline fails");
}

static void
test_errors(const char *dir, const struct transfer_opts *opts)
{
	char got[PATH_MAX], err[ENUMDR_ERRLEN], *body;
	struct transfer_opts quick = *opts;
	size_t len;
	long status;

	quick.connect_timeout_ms = 1000;
	quick.total_timeout_ms = 3000;
	snprintf(got, sizeof(got), "%s/down.db", dir);

	/* Port 1 on loopback: nobody listens, the connection is refused. */
	ok(transfer_get("ftp://user:s3cret@127.0.0.1:1/x.db", got, &quick,
	    err) == -1, "get from a peer that is down fails");
	like(err, "ftp://user:***@127.0.0.1:1/x.db",
	    "the URL is named, its password shown as ***");
	ok(strstr(err, "s3cret") == NULL, "the password is not shown");
	like(err, "Couldn't connect to server", "curl's reason is given");
	ok(access(got, F_OK) == -1, "no local file appears");
	is_int(count_named(dir, "down.db.part"), 0, "no part file is left");

	ok(transfer_put(got, "sftp://127.0.0.1:1/x.db", &quick, err) == -1,
	    "put of a missing local file fails");
	like(err, "down.db", "the error names the local file");

	ok(transfer_http_get("http://127.0.0.1:1/heartbeat", &quick, 0, &body,
	    &len, &status, err) == -1, "http_get from a peer that is down");
	ok(body == NULL, "no body");
	like(err, "http://127.0.0.1:1/heartbeat", "the error names the URL");

	ok(transfer_get("gopher://127.0.0.1/x", got, &quick, err) == -1,
	    "gopher:// is refused");
	like(err, "unsupported URL scheme", "the error says unsupported");
	ok(transfer_http_get("ftp://127.0.0.1:1/x", &quick, 0, &body, &len,
	    &status, err) == -1, "http_get refuses ftp://");
}

static int
selftest(const char *dir)
{
	struct transfer_opts opts;
	char err[ENUMDR_ERRLEN];

	memset(&opts, 0, sizeof(opts));
	if (util_mkdir_p(dir, 0755, err) == -1) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	test_url_show();
	test_join();
	test_file(dir, &opts);
	test_errors(dir, &opts);
	return tap_done();
}

/* ---- main -------------------------------------------------------------- */

/* journal URL ROOM AFTER LIMIT WAIT_MS [POLLS] */
static int
journal(int argc, char **argv)
{
	struct peerproto_client *c;
	struct peerproto_journal j;
	char err[ENUMDR_ERRLEN];
	long after, limit, wait_ms, polls = 1, i;
	int64_t t0;
	size_t k;
	int rc = PEERPROTO_OK;

	after = parse_ms(argv[4]);
	limit = parse_ms(argv[5]);
	wait_ms = parse_ms(argv[6]);
	if (argc == 8)
		polls = parse_ms(argv[7]);
	if ((c = peerproto_client_new()) == NULL) {
		fprintf(stderr, "transfer_client: out of memory\n");
		return EXIT_FAILED;
	}
	for (i = 0; i < polls && rc == PEERPROTO_OK; i++) {
		t0 = util_now_ms();
		rc = peerproto_journal_get(c, argv[2], argv[3], after,
		    (int)limit, (int)wait_ms, 1000, &j, err);
		if (rc != PEERPROTO_OK) {
			fprintf(stderr, "transfer_client: %s\n", err);
			break;
		}
		printf("after=%lld first=%lld last=%lld rows=%zu ms=%lld",
		    (long long)j.after, (long long)j.first, (long long)j.last,
		    j.nrows, (long long)(util_now_ms() - t0));
		for (k = 0; k < j.nrows; k++)
			printf(" %lld:%s:%s:%s", (long long)j.rows[k].seq,
			    j.rows[k].op, j.rows[k].e164, j.rows[k].v.origin);
		printf("\n");
		fflush(stdout);
		if (j.nrows > 0)
			after = (long)j.rows[j.nrows - 1].seq;
		peerproto_journal_free(&j);
	}
	peerproto_client_free(c);
	transfer_global_cleanup();
	return rc == PEERPROTO_OK ? EXIT_OK : rc == PEERPROTO_EPROTO ? 1 : 2;
}

int
main(int argc, char **argv)
{
	struct transfer_opts opts;
	char err[ENUMDR_ERRLEN], out[4096], *body;
	const char *cmd;
	size_t len;
	long status;
	int rc;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (transfer_global_init(err) == -1) {
		fprintf(stderr, "transfer_client: %s\n", err);
		return EXIT_FAILED;
	}
	if (strcmp(cmd, "get") == 0 && argc >= 4) {
		opts_from(&opts, argc, argv, 4);
		rc = transfer_get(argv[2], argv[3], &opts, err);
	} else if (strcmp(cmd, "put") == 0 && argc >= 4) {
		opts_from(&opts, argc, argv, 4);
		rc = transfer_put(argv[2], argv[3], &opts, err);
	} else if (strcmp(cmd, "http-get") == 0 && argc >= 3) {
		opts_from(&opts, argc, argv, 3);
		rc = transfer_http_get(argv[2], &opts, opts.max_bytes, &body,
		    &len, &status, err);
		if (rc == 0) {
			printf("%ld\n", status);
			fwrite(body, 1, len, stdout);
			free(body);
		}
	} else if (strcmp(cmd, "join") == 0 && argc == 4) {
		rc = transfer_url_join(out, sizeof(out), argv[2], argv[3], err);
		if (rc == 0)
			printf("%s\n", out);
	} else if (strcmp(cmd, "journal") == 0 && (argc == 7 || argc == 8)) {
		return journal(argc, argv);
	} else if (strcmp(cmd, "selftest") == 0 && argc == 3) {
		rc = selftest(argv[2]);
		transfer_global_cleanup();
		return rc;
	} else
		usage();
	transfer_global_cleanup();
	if (rc == -1) {
		fprintf(stderr, "transfer_client: %s\n", err);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}
