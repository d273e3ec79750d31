/*
 * enumdr.c — the admin command: provisioning by hand, zones, serials,
 * snapshots and the serial-compare sync (S0.1, S0.2), status and alarms.
 * It is what an operator types; the agent and the notify program use the
 * same lib/ modules.  Exit codes: lib/exitcodes.h, doc/enumdr.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "agent_cmd.h"
#include "alarm.h"
#include "config.h"
#include "dnsprobe.h"
#include "exitcodes.h"
#include "naptr.h"
#include "rfc1982.h"
#include "snapshot.h"
#include "store.h"
#include "sync.h"
#include "transfer.h"
#include "util.h"
#include "zonefile.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/enumdr/enumdr.yaml"

static const char *progname = "enumdr";
static int json_output;

static void
usage(FILE *out)
{
	fprintf(out,
"usage: enumdr [-c CONFIG] [--json] COMMAND [ARGS]\n"
"\n"
"  init                              create the database and directories\n"
"  zone add ORIGIN [--serial N]      add an ENUM zone, e.g. 6.4.e164.arpa\n"
"  zones                             list zones: serial, number count\n"
"  provision add NUMBER (--sip URI | --naptr RECORD)...\n"
"  provision replace NUMBER (--sip URI | --naptr RECORD)...\n"
"  provision remove NUMBER\n"
"  provision show NUMBER\n"
"  serials                           zone serials and journal position\n"
"  snapshot export [DIR]             snapshot + serial file (default snapshot_dir)\n"
"  snapshot import DIR               replace all data from a snapshot\n"
"  sync --from DIR|URL [--dry-run]   serial-compare sync with a peer (S0.2)\n"
"  zonefiles DIR [ORIGIN]            write the zone files (foreground load, S0.6)\n"
"  dns-wait SERVER[:PORT] [--zonefiles DIR] [--timeout MS]\n"
"                                    wait until SERVER serves every zone's serial\n"
"                                    (the database's, or the zone files' in DIR)\n"
"  status                            room, zones, journal, snapshots, alarms\n"
"  alarms                            active alarms\n"
"  agent open|close|status|snapshot|role ROLE\n"
"                                    talk to the room agent enumdrd\n"
"\n"
"  -c, --config FILE   configuration (default $ENUMDR_CONFIG or %s)\n"
"      --json          machine-readable output (zones, serials, status, alarms)\n"
"  -h, --help          this text\n"
"  -V, --version       version\n"
"\n"
"A NAPTR RECORD is ORDER PREFERENCE \"FLAGS\" \"SERVICE\" \"REGEXP\" REPLACEMENT\n"
"(RFC 3403); --sip URI stands for 100 10 \"u\" \"E2U+sip\" \"!^.*$!URI!\" .\n"
"\n"
"Exit codes: 0 done, 1 failed, 3 sync diverged (split brain), 4 sync\n"
"undefined (RFC 1982), 64 usage, 65 invalid data, 66 unreadable input,\n"
"69 peer unreachable, 74 database or file I/O error, 78 configuration error.\n",
	    DEFAULT_CONFIG);
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'enumdr --help'.\n");
	return EXIT_USAGE;
}

static int
fail(int code, const char *msg)
{
	fprintf(stderr, "%s: %s\n", progname, msg);
	return code;
}

/* Exit code for a store status. */
static int
store_exit(enum store_status s)
{
	switch (s) {
	case STORE_OK: return EXIT_OK;
	case STORE_EINVAL: case STORE_ENOZONE: return EXIT_DATAERR;
	case STORE_EEXIST: case STORE_ENOENT: return EXIT_FAILED;
	default: return EXIT_IOERR;
	}
}

/* Print s as a JSON string. */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

struct ctx {
	struct config cfg;
	struct alarm_ctx alarms;
	struct store *st;
};

static int
load_config(struct ctx *c, const char *path)
{
	char err[ENUMDR_ERRLEN];

	if (config_load(path, &c->cfg, err) == -1)
		return fail(EXIT_CONFIG, err);
	alarm_ctx_init(&c->alarms, c->cfg.room, "-", c->cfg.alarm_ident,
	    c->cfg.alarm_facility, c->cfg.state_dir);
	return EXIT_OK;
}

static int
open_store(struct ctx *c, int flags)
{
	char err[ENUMDR_ERRLEN];
	enum store_status s;

	s = store_open(c->cfg.database, flags, &c->st, err);
	if (s != STORE_OK)
		return fail(EXIT_IOERR, err);
	return EXIT_OK;
}

static int
cmd_init(struct ctx *c)
{
	const char *dirs[] = { c->cfg.snapshot_dir, c->cfg.incoming_dir,
	    c->cfg.state_dir };
	char err[ENUMDR_ERRLEN], dbdir[PATH_MAX], *slash;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (util_mkdir_p(dirs[i], 0750, err) == -1)
			return fail(EXIT_IOERR, err);
	strlcpy_(dbdir, c->cfg.database, sizeof(dbdir));
	if ((slash = strrchr(dbdir, '/')) != NULL && slash != dbdir) {
		*slash = '\0';
		if (util_mkdir_p(dbdir, 0750, err) == -1)
			return fail(EXIT_IOERR, err);
	}
	if ((rc = open_store(c, STORE_CREATE)) != EXIT_OK)
		return rc;
	printf("room %s: database %s ready\n", c->cfg.room, c->cfg.database);
	return EXIT_OK;
}

static int
cmd_zone(struct ctx *c, int argc, char **argv)
{
	char err[ENUMDR_ERRLEN], *end;
	unsigned long long serial = 1;
	enum store_status s;
	int rc;

	if (argc < 2 || strcmp(argv[0], "add") != 0)
		return usage_error("zone: expected 'zone add ORIGIN [--serial N]'");
	if (argc == 4 && strcmp(argv[2], "--serial") == 0) {
		errno = 0;
		serial = strtoull(argv[3], &end, 10);
		if (errno || *end || argv[3][0] == '-' || serial > 4294967295ULL)
			return usage_error("zone add: --serial must be 0..4294967295, not '%s'", argv[3]);
	} else if (argc != 2) {
		return usage_error("zone add: unexpected argument '%s'", argv[2]);
	}
	if ((rc = open_store(c, 0)) != EXIT_OK)
		return rc;
	s = store_add_zone(c->st, argv[1], (uint32_t)serial, err);
	if (s != STORE_OK)
		return fail(store_exit(s), err);
	printf("zone %s added, serial %llu\n", argv[1], serial);
	return EXIT_OK;
}

static int
cmd_zones(struct ctx *c, int with_journal)
{
	char err[ENUMDR_ERRLEN];
	struct zone_info *z;
	size_t n, i;
	int64_t pos = 0;
	int rc;

	if ((rc = open_store(c, STORE_READONLY)) != EXIT_OK)
		return rc;
	if (store_list_zones(c->st, &z, &n, err) != STORE_OK)
		return fail(EXIT_IOERR, err);
	if (with_journal && store_journal_position(c->st, &pos, err) != STORE_OK) {
		free(z);
		return fail(EXIT_IOERR, err);
	}
	if (json_output) {
		printf("{\"room\":");
		json_str(c->cfg.room);
		if (with_journal)
			printf(",\"journal\":%lld", (long long)pos);
		printf(",\"zones\":[");
		for (i = 0; i < n; i++) {
			printf("%s{\"origin\":", i ? "," : "");
			json_str(z[i].origin);
			printf(",\"prefix\":\"+%s\",\"serial\":%u,\"numbers\":%lld}",
			    z[i].prefix, z[i].serial, (long long)z[i].numbers);
		}
		printf("]}\n");
	} else {
		printf("%-32s %-10s %10s %10s\n", "ZONE", "PREFIX", "SERIAL",
		    "NUMBERS");
		for (i = 0; i < n; i++)
			printf("%-32s +%-9s %10u %10lld\n", z[i].origin,
			    z[i].prefix, z[i].serial, (long long)z[i].numbers);
		if (with_journal)
			printf("journal position %lld\n", (long long)pos);
	}
	free(z);
	return EXIT_OK;
}

/* --sip URI -> the usual terminal E2U+sip NAPTR record. */
static int
sip_record(const char *uri, struct naptr_record *r, char *err)
{
	memset(r, 0, sizeof(*r));
	r->order = 100;
	r->preference = 10;
	strlcpy_(r->flags, "u", sizeof(r->flags));
	strlcpy_(r->service, "E2U+sip", sizeof(r->service));
	if (strncmp(uri, "sip:", 4) != 0 && strncmp(uri, "sips:", 5) != 0) {
		errf(err, "--sip %s: a SIP URI starts with sip: or sips:", uri);
		return -1;
	}
	if (strchr(uri, '!') != NULL) {
		errf(err, "--sip %s: '!' is the regexp delimiter; use --naptr",
		    uri);
		return -1;
	}
	if ((size_t)snprintf(r->regexp, sizeof(r->regexp), "!^.*$!%s!", uri) >=
	    sizeof(r->regexp)) {
		errf(err, "--sip %s: URI too long", uri);
		return -1;
	}
	strlcpy_(r->replacement, ".", sizeof(r->replacement));
	return naptr_valid(r, err);
}

static int
cmd_provision(struct ctx *c, int argc, char **argv)
{
	struct store_change ch;
	struct store_change_result res;
	struct number_entry *e = &ch.entry;
	char err[ENUMDR_ERRLEN], *text;
	enum store_status s;
	int i, rc;

	if (argc < 2)
		return usage_error("provision: expected add|replace|remove|show NUMBER");
	memset(&ch, 0, sizeof(ch));
	if (strlcpy_(e->e164, argv[1], sizeof(e->e164)) >= sizeof(e->e164) ||
	    store_e164_valid(argv[1], err) == -1) {
		if (store_e164_valid(argv[1], err) == 0)
			errf(err, "invalid E.164 number \"%s\"", argv[1]);
		return fail(EXIT_DATAERR, err);
	}
	if (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "remove") == 0) {
		if (argc != 2)
			return usage_error("provision: unexpected argument '%s'", argv[2]);
		if (strcmp(argv[0], "show") == 0) {
			if ((rc = open_store(c, STORE_READONLY)) != EXIT_OK)
				return rc;
			s = store_get_number(c->st, argv[1], e, err);
			if (s != STORE_OK)
				return fail(store_exit(s), err);
			if (naptr_format(e->naptr, e->nnaptr, &text) == -1)
				return fail(EXIT_SOFTWARE, "out of memory");
			printf("%s zone %s\n%s\n", e->e164, e->zone, text);
			free(text);
			return EXIT_OK;
		}
		ch.op = STORE_REMOVE;
	} else if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "replace") == 0) {
		ch.op = argv[0][0] == 'a' ? STORE_ADD : STORE_REPLACE;
		for (i = 2; i < argc; i += 2) {
			if (i + 1 >= argc)
				return usage_error("provision: %s needs a value", argv[i]);
			if (e->nnaptr >= NAPTR_MAX)
				return fail(EXIT_DATAERR, "too many NAPTR records");
			if (strcmp(argv[i], "--sip") == 0) {
				if (sip_record(argv[i + 1], &e->naptr[e->nnaptr], err) == -1)
					return fail(EXIT_DATAERR, err);
				e->nnaptr++;
			} else if (strcmp(argv[i], "--naptr") == 0) {
				size_t got;
				if (strchr(argv[i + 1], '\n') != NULL ||
				    naptr_parse(argv[i + 1], &e->naptr[e->nnaptr],
				    &got, err) == -1)
					return fail(EXIT_DATAERR, err);
				e->nnaptr += got;
			} else {
				return usage_error("provision: unknown option '%s'", argv[i]);
			}
		}
		if (e->nnaptr == 0)
			return usage_error("provision %s: give at least one --sip or --naptr", argv[0]);
	} else {
		return usage_error("provision: unknown action '%s'", argv[0]);
	}
	if ((rc = open_store(c, 0)) != EXIT_OK)
		return rc;
	s = store_apply(c->st, &ch, 1, &res, NULL, err);
	if (s != STORE_OK)
		return fail(store_exit(s), err);
	printf("%s %s: zone %s serial %u journal %lld\n", argv[0], e->e164,
	    res.zone, res.serial, (long long)res.journal_seq);
	return EXIT_OK;
}

static int
cmd_snapshot(struct ctx *c, int argc, char **argv)
{
	struct serial_file sf;
	char err[ENUMDR_ERRLEN];
	const char *dir;
	int rc;

	if (argc < 1)
		return usage_error("snapshot: expected export [DIR] or import DIR");
	if (strcmp(argv[0], "export") == 0 && argc <= 2) {
		dir = argc == 2 ? argv[1] : c->cfg.snapshot_dir;
		if ((rc = open_store(c, 0)) != EXIT_OK)
			return rc;
		memset(&sf, 0, sizeof(sf));
		if (snapshot_export(c->st, dir, c->cfg.room, &sf, err) == -1) {
			const char *fig[] = { "dir", dir, NULL };
			char aerr[ENUMDR_ERRLEN];
			alarm_raise(&c->alarms, "SNAPSHOT_EXPORT", ALARM_MAJOR,
			    err, fig, aerr);
			return fail(EXIT_IOERR, err);
		}
		alarm_clear(&c->alarms, "SNAPSHOT_EXPORT", "snapshot exported",
		    NULL, err);
		printf("snapshot %s: %zu zones, journal %lld, %llu bytes,"
		    " sha256 %s\n", dir, sf.nzones, (long long)sf.journal_pos,
		    (unsigned long long)sf.snapshot_size, sf.snapshot_sha256);
		serial_file_free(&sf);
		return EXIT_OK;
	}
	if (strcmp(argv[0], "import") == 0 && argc == 2) {
		if ((rc = open_store(c, 0)) != EXIT_OK)
			return rc;
		if (snapshot_import(c->st, argv[1], NULL, 0, err) == -1)
			return fail(EXIT_DATAERR, err);
		printf("snapshot %s imported\n", argv[1]);
		return EXIT_OK;
	}
	return usage_error("snapshot: expected export [DIR] or import DIR");
}

/* Fetch a peer's snapshot directory URL into dir (database first). */
static int
fetch_snapshot(struct ctx *c, const char *url, const char *dir, char *err)
{
	struct transfer_opts o;
	int rc;

	transfer_opts_from_config(&o, &c->cfg);
	if (transfer_global_init(err) == -1)
		return -1;
	rc = snapshot_fetch(url, dir, &o, err);
	transfer_global_cleanup();
	return rc;
}

static void
print_sync_report(const struct ctx *c, const struct sync_report *rep,
    const char *from)
{
	size_t i;

	if (json_output) {
		printf("{\"room\":");
		json_str(c->cfg.room);
		printf(",\"from\":");
		json_str(from);
		printf(",\"peer\":");
		json_str(rep->peer_room);
		printf(",\"outcome\":\"%s\",\"imported\":%s,\"zones\":[",
		    sync_outcome_name(rep->outcome), rep->imported ? "true" : "false");
		for (i = 0; i < rep->nzones; i++) {
			const struct sync_zone *z = &rep->zones[i];
			printf("%s{\"origin\":", i ? "," : "");
			json_str(z->origin);
			if (z->own_present)
				printf(",\"own\":%u", z->own_serial);
			else
				printf(",\"own\":null");
			if (z->peer_present)
				printf(",\"peer\":%u", z->peer_serial);
			else
				printf(",\"peer\":null");
			printf(",\"verdict\":\"%s\"}",
			    sync_zone_verdict_name(z->verdict));
		}
		printf("]");
		if (rep->kept_dir[0]) {
			printf(",\"kept\":");
			json_str(rep->kept_dir);
		}
		printf("}\n");
		return;
	}
	printf("sync of room %s from %s (peer room %s, journal %lld)\n",
	    c->cfg.room, from, rep->peer_room, (long long)rep->peer_journal);
	printf("%-32s %12s %12s  %s\n", "ZONE", "OWN", "PEER", "VERDICT");
	for (i = 0; i < rep->nzones; i++) {
		const struct sync_zone *z = &rep->zones[i];
		char own[16] = "-", peer[16] = "-";
		if (z->own_present)
			snprintf(own, sizeof(own), "%u", z->own_serial);
		if (z->peer_present)
			snprintf(peer, sizeof(peer), "%u", z->peer_serial);
		printf("%-32s %12s %12s  %s\n", z->origin, own, peer,
		    sync_zone_verdict_name(z->verdict));
	}
	printf("outcome: %s%s\n", sync_outcome_name(rep->outcome),
	    rep->imported ? " (imported)" : "");
	if (rep->kept_dir[0])
		printf("peer's snapshot kept in %s\n", rep->kept_dir);
}

static int
cmd_sync(struct ctx *c, int argc, char **argv)
{
	struct sync_report rep;
	struct sync_opts opts;
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN], dir[PATH_MAX],
	    quarantine[PATH_MAX];
	const char *from = NULL;
	int i, rc, code;

	memset(&opts, 0, sizeof(opts));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--dry-run") == 0)
			opts.dry_run = 1;
		else
			return usage_error("sync: unexpected argument '%s'", argv[i]);
	}
	if (from == NULL)
		return usage_error("sync: --from DIR|URL is required");
	if (util_path_join(quarantine, sizeof(quarantine), c->cfg.state_dir,
	    "diverged", err) == -1)
		return fail(EXIT_CONFIG, err);
	opts.quarantine_dir = quarantine;
	opts.on_diverged = c->cfg.on_diverged;

	if (strstr(from, "://") != NULL) {
		if (util_path_join(dir, sizeof(dir), c->cfg.state_dir, "fetched",
		    err) == -1)
			return fail(EXIT_CONFIG, err);
		if (fetch_snapshot(c, from, dir, err) == -1) {
			const char *fig[] = { "url", from, NULL };
			alarm_raise(&c->alarms, "TRANSFER", ALARM_MAJOR, err, fig,
			    aerr);
			return fail(EXIT_UNAVAILABLE, err);
		}
		alarm_clear(&c->alarms, "TRANSFER", "peer snapshot fetched",
		    NULL, aerr);
	} else {
		strlcpy_(dir, from, sizeof(dir));
	}
	if ((rc = open_store(c, 0)) != EXIT_OK) {
		const char *fig[] = { "database", c->cfg.database, NULL };
		alarm_raise(&c->alarms, "SYNC_QUERY", ALARM_MAJOR,
		    "own database unreadable", fig, aerr);
		return rc;
	}
	memset(&rep, 0, sizeof(rep));
	if (sync_run(c->st, dir, &opts, &rep, err) == -1) {
		if (rep.invalid_row[0] != '\0') {
			/* sound files, invalid data: refused whole (issue 12) */
			const char *fig[] = { "step", rep.step, "row",
			    rep.invalid_row, "from", from, NULL };
			alarm_raise(&c->alarms, "SNAPSHOT_INVALID",
			    ALARM_CRITICAL, err, fig, aerr);
			fprintf(stderr, "%s: sync failed at step \"%s\": %s\n",
			    progname, rep.step, err);
			sync_report_free(&rep);
			return EXIT_DATAERR;
		}
		const char *id = strstr(rep.step, "own") ? "SYNC_QUERY" :
		    strstr(rep.step, "serial file") ? "SYNC_READ" : "SYNC_IMPORT";
		const char *fig[] = { "step", rep.step, "from", from, NULL };
		alarm_raise(&c->alarms, id, ALARM_MAJOR, err, fig, aerr);
		sync_report_free(&rep);
		fprintf(stderr, "%s: sync failed at step \"%s\": %s\n", progname,
		    rep.step, err);
		return strcmp(id, "SYNC_READ") == 0 ? EXIT_NOINPUT : EXIT_IOERR;
	}
	alarm_clear(&c->alarms, "SYNC_READ", "peer serial file read", NULL, aerr);
	alarm_clear(&c->alarms, "SYNC_QUERY", "own serials read", NULL, aerr);
	alarm_clear(&c->alarms, "SYNC_IMPORT", "sync completed", NULL, aerr);
	alarm_clear(&c->alarms, "SNAPSHOT_INVALID", "sync completed: nothing"
	    " invalid to import", NULL, aerr);
	print_sync_report(c, &rep, from);
	code = EXIT_OK;
	if (rep.outcome == SYNC_DIVERGED || rep.outcome == SYNC_UNDEFINED) {
		const char *id = rep.outcome == SYNC_DIVERGED ? "SYNC_DIVERGED" :
		    "SYNC_UNDEFINED";
		const char *fig[] = { "peer", rep.peer_room, "kept", rep.kept_dir,
		    NULL };
		alarm_raise(&c->alarms, id, ALARM_CRITICAL,
		    rep.outcome == SYNC_DIVERGED ?
		    "both rooms have newer zones (split brain); peer data kept" :
		    "zone serials 2^31 apart: comparison undefined (RFC 1982)",
		    fig, aerr);
		code = rep.outcome == SYNC_DIVERGED ? EXIT_DIVERGED : EXIT_UNDEFINED;
	} else {
		alarm_clear(&c->alarms, "SYNC_DIVERGED", "rooms agree again",
		    NULL, aerr);
		alarm_clear(&c->alarms, "SYNC_UNDEFINED", "serials comparable",
		    NULL, aerr);
	}
	sync_report_free(&rep);
	return code;
}

static int
cmd_zonefiles(struct ctx *c, int argc, char **argv)
{
	struct zonefile_result *res;
	char err[ENUMDR_ERRLEN];
	size_t n, i;
	int rc;

	if (argc < 1 || argc > 2)
		return usage_error("zonefiles: expected DIR [ORIGIN]");
	if ((rc = open_store(c, STORE_READONLY)) != EXIT_OK)
		return rc;
	if (zonefile_write_all(c->st, argv[0], argc == 2 ? argv[1] : NULL,
	    &res, &n, err) == -1)
		return fail(EXIT_IOERR, err);
	for (i = 0; i < n; i++)
		printf("%s/%s.zone serial %u, %lld numbers\n", argv[0],
		    res[i].origin, res[i].serial, (long long)res[i].numbers);
	free(res);
	return EXIT_OK;
}

/* The serial a zone file written by zonefile_write_all says it carries
 * (its first line: "; enumdr zone ORIGIN serial N ..."). */
static int
zonefile_serial(const char *dir, const char *origin, uint32_t *serial,
    char *err)
{
	char path[PATH_MAX], line[512], name[STORE_ORIGIN_MAX + 1];
	unsigned long long v;
	FILE *f;
	int n;

	if (snprintf(path, sizeof(path), "%s/%s.zone", dir, origin) >=
	    (int)sizeof(path)) {
		errf(err, "zone file path too long for %s", origin);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		errf_errno(err, "open %s", path);
		return -1;
	}
	n = fgets(line, sizeof(line), f) != NULL ?
	    sscanf(line, "; enumdr zone %128s serial %llu", name, &v) : 0;
	fclose(f);
	if (n != 2 || strcmp(name, origin) != 0 || v > 4294967295ULL) {
		errf(err, "%s was not written by enumdr zonefiles", path);
		return -1;
	}
	*serial = (uint32_t)v;
	return 0;
}

/* Wait until the DNS server serves, for every zone, the serial of the
 * database — or with --zonefiles DIR the serial of the zone files written
 * there (the agent's DNS job: changes that commit while the DNS server
 * reloads belong to its next run, not to this wait). */
static int
cmd_dns_wait(struct ctx *c, int argc, char **argv)
{
	char err[ENUMDR_ERRLEN], addr[128], *end;
	const char *zonedir = NULL;
	struct zone_info *z;
	size_t n, i;
	long timeout = 30000;
	int64_t deadline;
	uint32_t served = 0, want;
	int port, rc, a;

	if (argc < 1)
		return usage_error("dns-wait: expected SERVER[:PORT] [--zonefiles DIR] [--timeout MS]");
	for (a = 1; a < argc; a += 2) {
		if (a + 1 >= argc)
			return usage_error("dns-wait: %s needs a value", argv[a]);
		if (strcmp(argv[a], "--timeout") == 0) {
			timeout = strtol(argv[a + 1], &end, 10);
			if (*end || timeout < 1 || timeout > 3600000)
				return usage_error("dns-wait: --timeout must be 1..3600000 ms");
		} else if (strcmp(argv[a], "--zonefiles") == 0) {
			zonedir = argv[a + 1];
		} else {
			return usage_error("dns-wait: unknown option '%s'", argv[a]);
		}
	}
	if (dnsprobe_parse_server(argv[0], addr, sizeof(addr), &port, err) == -1)
		return fail(EXIT_USAGE, err);
	if ((rc = open_store(c, STORE_READONLY)) != EXIT_OK)
		return rc;
	if (store_list_zones(c->st, &z, &n, err) != STORE_OK)
		return fail(EXIT_IOERR, err);
	deadline = util_now_ms() + timeout;
	for (i = 0; i < n; i++) {
		want = z[i].serial;
		if (zonedir != NULL && zonefile_serial(zonedir, z[i].origin,
		    &want, err) == -1) {
			free(z);
			return fail(EXIT_NOINPUT, err);
		}
		for (;;) {
			int64_t left = deadline - util_now_ms();

			if (left <= 0) {
				fprintf(stderr, "%s: %s serves %s serial %u, not"
				    " %u (waited %ld ms)%s%s\n", progname,
				    argv[0], z[i].origin, served, want, timeout,
				    err[0] ? ": " : "", err);
				free(z);
				return EXIT_UNAVAILABLE;
			}
			err[0] = '\0';
			if (dnsprobe_soa_serial(addr, port, z[i].origin,
			    left < 1000 ? (int)left : 1000, &served, err) == 0 &&
			    rfc1982_cmp(served, want) == RFC1982_EQUAL)
				break;
			usleep(50000);
		}
		printf("%s serves %s serial %u\n", argv[0], z[i].origin, served);
	}
	free(z);
	return EXIT_OK;
}

static int
cmd_alarms(struct ctx *c)
{
	struct alarm_active *a;
	char err[ENUMDR_ERRLEN];
	size_t n, i;

	if (alarm_list(&c->alarms, &a, &n, err) == -1)
		return fail(EXIT_IOERR, err);
	if (json_output) {
		printf("[");
		for (i = 0; i < n; i++) {
			printf("%s{\"id\":", i ? "," : "");
			json_str(a[i].id);
			printf(",\"severity\":\"%s\",\"raised_at\":",
			    alarm_severity_name(a[i].severity));
			json_str(a[i].raised_at);
			printf(",\"line\":");
			json_str(a[i].line);
			printf("}");
		}
		printf("]\n");
	} else if (n == 0) {
		printf("no active alarms in room %s\n", c->cfg.room);
	} else {
		for (i = 0; i < n; i++)
			printf("%s %-9s %s\n", a[i].raised_at,
			    alarm_severity_name(a[i].severity), a[i].line);
	}
	free(a);
	return EXIT_OK;
}

/* Print what a serial file in dir says, for status. */
static void
status_snapshot(const char *label, const char *dir)
{
	struct serial_file sf;
	char err[ENUMDR_ERRLEN], path[PATH_MAX];

	memset(&sf, 0, sizeof(sf));
	if (util_path_join(path, sizeof(path), dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 || serial_file_read(path, &sf, err) == -1) {
		if (json_output)
			printf("null");
		else
			printf("%-10s none (%s)\n", label, err);
		return;
	}
	if (json_output) {
		printf("{\"room\":");
		json_str(sf.room);
		printf(",\"created\":");
		json_str(sf.created_at);
		printf(",\"journal\":%lld,\"size\":%llu,\"sha256\":\"%s\",\"zones\":%zu}",
		    (long long)sf.journal_pos, (unsigned long long)sf.snapshot_size,
		    sf.snapshot_sha256, sf.nzones);
	} else {
		printf("%-10s room %s, created %s, journal %lld, %zu zones,"
		    " sha256 %.16s...\n", label, sf.room, sf.created_at,
		    (long long)sf.journal_pos, sf.nzones, sf.snapshot_sha256);
	}
	serial_file_free(&sf);
}

static int
cmd_status(struct ctx *c)
{
	struct alarm_active *a = NULL;
	struct zone_info *z = NULL;
	char err[ENUMDR_ERRLEN], dberr[ENUMDR_ERRLEN] = "";
	size_t nz = 0, na = 0, i;
	int64_t pos = 0;
	int dbok;

	dbok = store_open(c->cfg.database, STORE_READONLY, &c->st, dberr) ==
	    STORE_OK && store_list_zones(c->st, &z, &nz, dberr) == STORE_OK &&
	    store_journal_position(c->st, &pos, dberr) == STORE_OK;
	if (alarm_list(&c->alarms, &a, &na, err) == -1)
		na = 0;
	if (json_output) {
		printf("{\"room\":");
		json_str(c->cfg.room);
		printf(",\"database\":");
		json_str(c->cfg.database);
		printf(",\"database_ok\":%s", dbok ? "true" : "false");
		if (!dbok) {
			printf(",\"database_error\":");
			json_str(dberr);
		}
		printf(",\"journal\":%lld,\"zones\":[", (long long)pos);
		for (i = 0; i < nz; i++) {
			printf("%s{\"origin\":", i ? "," : "");
			json_str(z[i].origin);
			printf(",\"serial\":%u,\"numbers\":%lld}", z[i].serial,
			    (long long)z[i].numbers);
		}
		printf("],\"snapshot\":");
		status_snapshot("snapshot", c->cfg.snapshot_dir);
		printf(",\"incoming\":");
		status_snapshot("incoming", c->cfg.incoming_dir);
		printf(",\"alarms\":[");
		for (i = 0; i < na; i++) {
			printf("%s{\"id\":", i ? "," : "");
			json_str(a[i].id);
			printf(",\"severity\":\"%s\"}",
			    alarm_severity_name(a[i].severity));
		}
		printf("]}\n");
	} else {
		printf("room       %s\n", c->cfg.room);
		printf("database   %s (%s)\n", c->cfg.database,
		    dbok ? "readable" : dberr);
		printf("journal    %lld\n", (long long)pos);
		for (i = 0; i < nz; i++)
			printf("zone       %-28s serial %10u  %lld numbers\n",
			    z[i].origin, z[i].serial, (long long)z[i].numbers);
		status_snapshot("snapshot", c->cfg.snapshot_dir);
		status_snapshot("incoming", c->cfg.incoming_dir);
		if (na == 0)
			printf("alarms     none\n");
		for (i = 0; i < na; i++)
			printf("alarm      %s %s since %s\n", a[i].id,
			    alarm_severity_name(a[i].severity), a[i].raised_at);
	}
	free(z);
	free(a);
	return dbok ? EXIT_OK : EXIT_IOERR;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = getenv("ENUMDR_CONFIG");
	const char *cmd;
	struct ctx c;
	int ch, rc;

	if (config == NULL || *config == '\0')
		config = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'j':
			json_output = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("enumdr %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'enumdr --help'.\n");
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* --json may also follow the command. */
	for (ch = 1; ch < argc; ch++) {
		if (strcmp(argv[ch], "--json") == 0) {
			json_output = 1;
			memmove(&argv[ch], &argv[ch + 1],
			    (size_t)(argc - ch) * sizeof(*argv));
			argc--;
			ch--;
		}
	}
	cmd = argv[0];
	memset(&c, 0, sizeof(c));
	if ((rc = load_config(&c, config)) != EXIT_OK)
		return rc;
	if (strcmp(cmd, "init") == 0 && argc == 1)
		rc = cmd_init(&c);
	else if (strcmp(cmd, "zone") == 0)
		rc = cmd_zone(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "zones") == 0 && argc == 1)
		rc = cmd_zones(&c, 0);
	else if (strcmp(cmd, "serials") == 0 && argc == 1)
		rc = cmd_zones(&c, 1);
	else if (strcmp(cmd, "provision") == 0)
		rc = cmd_provision(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "snapshot") == 0)
		rc = cmd_snapshot(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "sync") == 0)
		rc = cmd_sync(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "zonefiles") == 0)
		rc = cmd_zonefiles(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "dns-wait") == 0)
		rc = cmd_dns_wait(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "status") == 0 && argc == 1)
		rc = cmd_status(&c);
	else if (strcmp(cmd, "agent") == 0)
		rc = agent_cmd(&c.cfg, argc - 1, argv + 1, json_output);
	else if (strcmp(cmd, "alarms") == 0 && argc == 1)
		rc = cmd_alarms(&c);
	else
		rc = usage_error("unknown command or arguments: '%s'", cmd);
	store_close(c.st);
	config_free(&c.cfg);
	return rc;
}
