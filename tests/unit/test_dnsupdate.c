/*
 * test_dnsupdate.c — lib/dnsupdate.c and lib/knotctl.c against a real
 * knotd on loopback (a free port, a temporary directory, a TSIG key made
 * by keymgr): updates land and carry the serial, big queues split into
 * messages, a wrong key and a foreign zone are refused with clear errors,
 * the connection survives the server closing it, zone-reload reloads, and
 * catalog members come and go.  Skipped (77) without knotd, except under
 * CI=true.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnsupdate.h"
#include "knotctl.h"
#include "tap.h"
#include "testsys.h"
#include "util.h"

#define ZONE "6.4.e164.arpa."
#define TIMEOUT 5000

static char dir[] = "/tmp/enumdr-dnsupd.XXXXXX";
static char server[64], sock[sizeof(dir) + 16], yflag[300];
static int port;
static pid_t knotd = -1;

static const struct dnsupd_soa soa = {
	3600, "ns1.example.", "hostmaster.example.", 3600, 600, 86400, 60
};

static const char sip[] =
    "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:+46123@ims.example!\" .";

static void
put_file(const char *name, const char *text)
{
	char path[PATH_MAX], err[ENUMDR_ERRLEN];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (util_write_file_atomic(path, text, strlen(text), 0600, err) == -1)
		diag("%s", err);
}

static void
stop_knotd(void)
{
	if (knotd > 0) {
		kill(knotd, SIGTERM);
		waitpid(knotd, NULL, 0);
		knotd = -1;
	}
}

static void
cleanup(void)
{
	char cmd[PATH_MAX + 16];

	stop_knotd();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

/* knotd in the foreground, its log in dir; then wait for it to serve. */
static int
start_knotd(void)
{
	char conf[PATH_MAX], log[PATH_MAX], err[ENUMDR_ERRLEN];
	struct dnsupd *u;
	uint32_t serial;
	int i, fd, found = 0;

	snprintf(conf, sizeof(conf), "%s/knot.conf", dir);
	snprintf(log, sizeof(log), "%s/knotd.log", dir);
	if ((knotd = fork()) == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("knotd", "knotd", "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && !found; i++) {
		usleep(100000);
		if (dnsupd_open(&u, server, NULL, 500, err) == 0) {
			if (dnsupd_soa_serial(u, ZONE, &serial, &found, err))
				found = 0;
			dnsupd_close(u);
		}
	}
	return found ? 0 : -1;
}

/* kdig's +short answer for NAPTR at owner. */
static char *
naptr_at(char *out, size_t outlen, const char *owner)
{
	return test_run(out, outlen, "kdig @127.0.0.1 -p %d +short +tcp NAPTR"
	    " %s", port, owner);
}

static long
serial_of(struct dnsupd *u, const char *zone)
{
	char err[ENUMDR_ERRLEN];
	uint32_t serial;
	int found;

	if (dnsupd_soa_serial(u, zone, &serial, &found, err) == -1) {
		diag("%s", err);
		return -1;
	}
	return found ? (long)serial : -2;
}

/* Queue and flush changes of ZONE; the flush's result. */
static int
update(struct dnsupd *u, const struct dnsupd_change *c, size_t n, char *err)
{
	if (dnsupd_queue_zone(u, ZONE, 3600, &soa, c, n, err) == -1)
		return -1;
	return dnsupd_flush(u, err);
}

static int
setup(void)
{
	char conf[4096], line[256];
	FILE *f;

	if (mkdtemp(dir) == NULL || (port = test_free_port()) == -1)
		return -1;
	atexit(cleanup);
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	snprintf(sock, sizeof(sock), "%s/knot.sock", dir);
	snprintf(conf, sizeof(conf), "mkdir %s/db && keymgr -t enumdr"
	    " hmac-sha256 > %s/tsig.key && keymgr -t enumdr hmac-sha256 > %s/wrong.key",
	    dir, dir, dir);
	if (system(conf) != 0)
		return -1;
	/* kdig's -y from the comment keymgr writes first */
	snprintf(conf, sizeof(conf), "%s/tsig.key", dir);
	if ((f = fopen(conf, "r")) == NULL || fgets(line, sizeof(line), f) ==
	    NULL || strncmp(line, "# ", 2) != 0) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	snprintf(yflag, sizeof(yflag), "-y %s", line + 2);
	put_file("6.4.e164.arpa.zone",
	    "$ORIGIN 6.4.e164.arpa.\n$TTL 3600\n"
	    "@ SOA ns1.example. hostmaster.example. 5 3600 600 86400 60\n"
	    "@ NS ns1.example.\n");
	put_file("catalog.test.zone",
	    "$ORIGIN catalog.test.\n$TTL 0\n"
	    "@ SOA invalid. invalid. 1 3600 600 86400 60\n"
	    "@ NS invalid.\nversion TXT \"2\"\n");
	put_file("member.zone",
	    "$TTL 3600\n@ SOA ns1.example. hostmaster.example. 1 3600 600"
	    " 86400 60\n@ NS ns1.example.\n");
	snprintf(conf, sizeof(conf),
	    "include: %s/tsig.key\n"
	    "server:\n"
	    "    rundir: %s\n"
	    "    listen: 127.0.0.1@%d\n"
	    "    tcp-idle-timeout: 1\n"
	    "control:\n"
	    "    listen: %s\n"
	    "database:\n"
	    "    storage: %s/db\n"
	    "log:\n"
	    "  - target: stderr\n"
	    "    any: info\n"
	    "acl:\n"
	    "  - id: enumdr\n"
	    "    address: 127.0.0.1\n"
	    "    key: enumdr\n"
	    "    action: [update, transfer]\n"
	    "template:\n"
	    "  - id: default\n"
	    "    storage: %s\n"
	    "    zonefile-sync: -1\n"
	    "    acl: enumdr\n"
	    "  - id: member\n"
	    "    storage: %s\n"
	    "    file: %s/member.zone\n"
	    "    zonefile-sync: -1\n"
	    "    acl: enumdr\n"
	    "zone:\n"
	    "  - domain: 6.4.e164.arpa\n"
	    "    file: 6.4.e164.arpa.zone\n"
	    "  - domain: catalog.test\n"
	    "    file: catalog.test.zone\n"
	    "    catalog-role: interpret\n"
	    "    catalog-template: member\n",
	    dir, dir, port, sock, dir, dir, dir, dir);
	put_file("knot.conf", conf);
	return start_knotd();
}

/* Three numbers in one flush; a replace; a remove. */
static void
test_basic(struct dnsupd *u)
{
	char err[ENUMDR_ERRLEN], out[4096];
	struct dnsupd_change c[3] = {
		{ "4.3.2.1.6.4.e164.arpa.", sip, 6 },
		{ "5.3.2.1.6.4.e164.arpa.", sip, 7 },
		{ "6.3.2.1.6.4.e164.arpa.", sip, 8 },
	};

	is_int(serial_of(u, ZONE), 5, "the zone file's serial is served");
	ok(update(u, c, 3, err) == 0, "3 numbers in one flush");
	is_int(serial_of(u, ZONE), 8, "  the serial is the last change's");
	like(naptr_at(out, sizeof(out), "4.3.2.1.6.4.e164.arpa"),
	    "\"E2U+sip\" \"!^.*$!sip:+46123@ims.example!\" .",
	    "  kdig answers the NAPTR record");
	like(naptr_at(out, sizeof(out), "6.3.2.1.6.4.e164.arpa"), "E2U+sip",
	    "  and the third one's");

	c[0].naptr = "10 10 \"u\" \"E2U+h323\" \"!^.*$!h323:a@b.example!\" .\n"
	    "20 10 \"u\" \"E2U+mailto\" \"!^.*$!mailto:a\\\\b@c.example!\" .";
	c[0].serial = 9;
	ok(update(u, c, 1, err) == 0, "a replace by two records");
	naptr_at(out, sizeof(out), "4.3.2.1.6.4.e164.arpa");
	ok(strstr(out, "E2U+h323") && strstr(out, "mailto:a\\\\b@") &&
	    !strstr(out, "E2U+sip"), "  both served, the old one gone");
	if (strstr(out, "E2U+sip") || !strstr(out, "mailto:a\\\\b@"))
		diag("kdig: %s", out);
	c[0].naptr = "30 10 \"u\" \"E2U+sip\" \"!^.*$!sip:new@x.example!\" .";
	c[0].serial = 10;
	ok(update(u, c, 1, err) == 0, "a replace by one record");
	naptr_at(out, sizeof(out), "4.3.2.1.6.4.e164.arpa");
	ok(strstr(out, "sip:new@") && !strstr(out, "h323") &&
	    strchr(out, '\n') == out + strlen(out) - 1,
	    "  exactly the new record is served");
	c[0].naptr = NULL;
	c[0].serial = 11;
	ok(update(u, c, 1, err) == 0, "a remove");
	is_str(naptr_at(out, sizeof(out), "4.3.2.1.6.4.e164.arpa"), "",
	    "  nothing left at the name");
	is_int(serial_of(u, ZONE), 11, "  serial 11");
}

/* 2000 numbers in one queue: several messages, all land. */
static void
test_split(struct dnsupd *u)
{
	static char owner[2000][64], naptr[2000][200];
	struct dnsupd_change c[2000];
	char err[ENUMDR_ERRLEN], out[1024];
	size_t i;

	for (i = 0; i < 2000; i++) {
		snprintf(owner[i], sizeof(owner[i]), "%zu.%zu.%zu.%zu.9.6.4."
		    "e164.arpa.", i % 10, i / 10 % 10, i / 100 % 10, i / 1000);
		snprintf(naptr[i], sizeof(naptr[i]), "100 10 \"u\" \"E2U+sip\""
		    " \"!^.*$!sip:+469%04zu@a-long-host-name-to-fill-the-"
		    "messages.ims.example!\" .", i);
		c[i].owner = owner[i];
		c[i].naptr = naptr[i];
		c[i].serial = 12 + (uint32_t)i;
	}
	ok(dnsupd_queue_zone(u, ZONE, 3600, &soa, c, 2000, err) == 0,
	    "2000 changes queued");
	ok(dnsupd_pending(u) > 2, "  in several messages");
	diag("%zu messages", dnsupd_pending(u));
	if (!ok(dnsupd_flush(u, err) == 0, "  flushed"))
		diag("%s", err);
	is_int(serial_of(u, ZONE), 2011, "  the serial is the last change's");
	test_run(out, sizeof(out), "kdig @127.0.0.1 -p %d %s AXFR " ZONE
	    " +noall +answer | grep -c '^[0-9.]*9.6.4.e164.arpa.*NAPTR'",
	    port, yflag);
	is_int(atoi(out), 2000, "  the zone holds the 2000 numbers");
	like(naptr_at(out, sizeof(out), "9.9.9.1.9.6.4.e164.arpa"),
	    "sip:+4691999@", "  the last one is right");
}

static void
test_refused(struct dnsupd *u)
{
	char err[ENUMDR_ERRLEN], path[PATH_MAX];
	struct dnsupd_change c = { "1.7.4.e164.arpa.", sip, 2 };
	struct dnsupd *w;
	uint32_t serial;
	int found = 1;

	snprintf(path, sizeof(path), "%s/wrong.key", dir);
	ok(dnsupd_open(&w, server, path, TIMEOUT, err) == 0,
	    "open with a wrong key");
	c.owner = "1.6.4.e164.arpa.";
	ok(dnsupd_queue_zone(w, ZONE, 3600, &soa, &c, 1, err) == 0 &&
	    dnsupd_flush(w, err) == -1, "  an update is refused");
	like(err, "DNS UPDATE of zone 6.4.e164.arpa to 127.0.0.1:", "  err"
	    " names the zone and the server");
	like(err, "BADSIG", "  and the TSIG error");
	diag("%s", err);
	ok(dnsupd_soa_serial(w, ZONE, &serial, &found, err) == 0 && found,
	    "  a serial query still answers (it is unsigned: public data)");
	dnsupd_close(w);

	c.owner = "1.7.4.e164.arpa.";
	ok(dnsupd_queue_zone(u, "7.4.e164.arpa", 3600, &soa, &c, 1, err) ==
	    0 && dnsupd_flush(u, err) == -1,
	    "a zone the server does not serve: refused");
	like(err, "zone 7.4.e164.arpa to", "  err names the zone");
	like(err, "NOTAUTH", "  and the answer");
	diag("%s", err);
	ok(dnsupd_soa_serial(u, "7.4.e164.arpa.", &serial, &found, err) ==
	    0 && found == 0, "  its serial: found=0");
	c.owner = "1.6.4.e164.arpa.";
	ok(dnsupd_queue_zone(u, "7.4.e164.arpa.", 3600, &soa, &c, 1, err) ==
	    -1, "an owner outside the zone is refused at queueing");
	like(err, "1.6.4.e164.arpa. is not a name in the zone", "  err says so");
	ok(dnsupd_pending(u) == 0, "  nothing queued");
	c.naptr = "100 10 \"u\" \"E2U+sip\"";
	ok(dnsupd_queue_zone(u, ZONE, 3600, &soa, &c, 1, err) == -1,
	    "bad NAPTR text is refused at queueing");
	like(err, "1.6.4.e164.arpa.: NAPTR record 1", "  err names the number");
}

/* The server closes the connection (idle timeout, restart): the next
 * flush reconnects. */
static void
test_reconnect(struct dnsupd *u)
{
	char err[ENUMDR_ERRLEN];
	struct dnsupd_change c = { "7.7.7.6.4.e164.arpa.", sip, 2012 };

	sleep(3);
	if (!ok(update(u, &c, 1, err) == 0, "after knotd's idle timeout"))
		diag("%s", err);
	is_int(serial_of(u, ZONE), 2012, "  the update landed");
	stop_knotd();
	ok(start_knotd() == 0, "knotd restarted");
	c.serial = 2013;
	ok(update(u, &c, 1, err) == 0, "after a knotd restart");
	is_int(serial_of(u, ZONE), 2013, "  the update landed");
}

static void
test_reload(struct dnsupd *u)
{
	char err[ENUMDR_ERRLEN], out[1024];

	put_file("6.4.e164.arpa.zone",
	    "$ORIGIN 6.4.e164.arpa.\n$TTL 3600\n"
	    "@ SOA ns1.example. hostmaster.example. 100000 3600 600 86400 60\n"
	    "@ NS ns1.example.\n"
	    "1.1.1 NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:file@x!\" .\n");
	if (!ok(knotctl_zone_reload(sock, ZONE, TIMEOUT, err) == 0,
	    "zone-reload of the rewritten file"))
		diag("%s", err);
	is_int(serial_of(u, ZONE), 100000, "  its serial is served");
	like(naptr_at(out, sizeof(out), "1.1.1.6.4.e164.arpa"), "sip:file@",
	    "  and its records");
	ok(knotctl_zone_reload(sock, "nosuch.example", TIMEOUT, err) == -1,
	    "zone-reload of a zone knotd does not have fails");
	like(err, "nosuch.example", "  err names the zone");
	diag("%s", err);
	ok(knotctl_zone_reload(sock, NULL, TIMEOUT, err) == 0,
	    "zone-reload of every zone");
	ok(knotctl_zone_reload("/nonexistent/knot.sock", ZONE, TIMEOUT, err) ==
	    -1, "zone-reload on a missing socket fails");
	like(err, "/nonexistent/knot.sock", "  err names the socket");
	diag("%s", err);
}

/* Wait until the member zone is (want 1) or is not served. */
static int
member_is(struct dnsupd *u, int want)
{
	int i;

	for (i = 0; i < 50; i++) {
		if ((serial_of(u, "1.e164.arpa.") >= 0) == want)
			return 1;
		usleep(100000);
	}
	return 0;
}

static void
test_catalog(struct dnsupd *u)
{
	char err[ENUMDR_ERRLEN];
	long before = serial_of(u, "catalog.test.");

	ok(before >= 1, "the catalog's serial (TCP, signed: knotd answers)");
	ok(member_is(u, 0), "the member zone is not served before");
	ok(dnsupd_queue_catalog(u, "catalog.test.", "p1", "1.e164.arpa.", 1,
	    err) == 0 && dnsupd_flush(u, err) == 0, "catalog add");
	ok(member_is(u, 1), "  the member zone appears");
	is_int(serial_of(u, "catalog.test."), before + 1,
	    "  knotd incremented the catalog's serial");
	ok(dnsupd_queue_catalog(u, "catalog.test", "p1", "1.e164.arpa", 0,
	    err) == 0 && dnsupd_flush(u, err) == 0, "catalog remove");
	ok(member_is(u, 0), "  the member zone disappears");
}

/* A fake server on a port of its own: its first connection gets an
 * unsigned NOERROR answer, its second the request itself with QR set (a
 * MAC that is not the server's), its third no answer. */
static void
test_fake_server(const char *key)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[ENUMDR_ERRLEN], fake[64];
	struct dnsupd_change c = { "1.6.4.e164.arpa.", sip, 2 };
	struct dnsupd *w;
	uint8_t msg[2 + 65535];
	size_t len;
	pid_t pid;
	int lfd, fd, k;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 4) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) == -1) {
		ok(0, "a fake server");
		return;
	}
	if ((pid = fork()) == 0) {
		for (k = 0; k < 3; k++) {
			if ((fd = accept(lfd, NULL, NULL)) == -1 ||
			    read(fd, msg, 2) != 2)
				_exit(1);
			len = (size_t)msg[0] << 8 | msg[1];
			if (read(fd, msg + 2, len) != (ssize_t)len)
				_exit(1);
			msg[4] |= 0x80;  /* QR */
			if (k == 0) {
				msg[1] = 12;
				memset(msg + 6, 0, 8);  /* no records */
				len = 12;
			}
			if (k < 2 && util_write_all(fd, msg, 2 + len) == -1)
				_exit(1);
		}
		pause();
		_exit(0);
	}
	close(lfd);
	snprintf(fake, sizeof(fake), "127.0.0.1:%d", ntohs(sa.sin_port));
	ok(dnsupd_open(&w, fake, key, 300, err) == 0 &&
	    dnsupd_queue_zone(w, ZONE, 3600, &soa, &c, 1, err) == 0 &&
	    dnsupd_flush(w, err) == -1, "an unsigned NOERROR answer fails");
	like(err, "fails its TSIG check", "  err says why");
	diag("%s", err);
	dnsupd_close(w);
	ok(dnsupd_open(&w, fake, key, 300, err) == 0 &&
	    dnsupd_queue_zone(w, ZONE, 3600, &soa, &c, 1, err) == 0 &&
	    dnsupd_flush(w, err) == -1, "an answer with a bad MAC fails");
	like(err, "fails its TSIG check", "  err says why");
	diag("%s", err);
	dnsupd_close(w);
	ok(dnsupd_open(&w, fake, key, 300, err) == 0 &&
	    dnsupd_queue_zone(w, ZONE, 3600, &soa, &c, 1, err) == 0 &&
	    dnsupd_flush(w, err) == -1, "no answer fails");
	like(err, "no answer within 300 ms", "  within the timeout");
	diag("%s", err);
	dnsupd_close(w);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int
main(void)
{
	char err[ENUMDR_ERRLEN], path[PATH_MAX];
	const char *ci = getenv("CI");
	struct dnsupd *u;

	if (system("command -v knotd >/dev/null && command -v keymgr"
	    " >/dev/null && command -v kdig >/dev/null") != 0) {
		if (ci != NULL && strcmp(ci, "true") == 0) {
			ok(0, "knotd, keymgr and kdig are installed (CI=true)");
			return tap_done();
		}
		printf("1..0 # SKIP knotd, keymgr or kdig not installed\n");
		return 77;
	}
	if (!ok(setup() == 0, "knotd runs with a TSIG key")) {
		snprintf(path, sizeof(path), "cat %s/knotd.log", dir);
		if (system(path) != 0)
			diag("no knotd log");
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s/tsig.key", dir);
	if (!ok(dnsupd_open(&u, server, path, TIMEOUT, err) == 0, "open")) {
		diag("%s", err);
		return tap_done();
	}
	test_basic(u);
	test_split(u);
	test_refused(u);
	test_reconnect(u);
	test_reload(u);
	test_catalog(u);
	dnsupd_close(u);
	test_fake_server(path);

	snprintf(path, sizeof(path), "%s/missing.key", dir);
	ok(dnsupd_open(&u, server, path, TIMEOUT, err) == -1,
	    "a missing key file");
	like(err, "missing.key", "  err names it");
	put_file("bad.key", "key:\n  - id: enumdr\n    algorithm: hmac-sha256\n");
	snprintf(path, sizeof(path), "%s/bad.key", dir);
	ok(dnsupd_open(&u, server, path, TIMEOUT, err) == -1,
	    "a key file without a secret");
	like(err, "the key has no secret", "  err says so");
	put_file("bad.key", "key:\n  - id: enumdr\n    algorithm: hmac-sha256\n"
	    "    secret: not base64!\n");
	ok(dnsupd_open(&u, server, path, TIMEOUT, err) == -1,
	    "a key file with a bad secret");
	like(err, "bad.key: key enumdr", "  err names the file and key");
	diag("%s", err);
	return tap_done();
}
