/*
 * enumdr.c — the admin command: provisioning by hand, zones, serials,
 * snapshots and the serial-compare sync (S0.1, S0.2), status and alarms.
 * It is what an operator types.  The room agent enumdrd is the database's
 * only writer (issue 13): provision, zone add, snapshot export|import and
 * sync are requests on its control socket (agent_cmd.c, lib/control.c);
 * without an agent they say so (69), a change with the listener closed is
 * refused with the provisioning API's 503 reason (75).  The read-only
 * commands read the database directly; `init` creates it (and its --zone
 * zones while no agent runs).  Exit codes: lib/exitcodes.h, doc/enumdr.md.
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

#include "alarm_ids.h"
#include "agent_cmd.h"
#include "switchover_cmd.h"
#include "alarm.h"
#include "config.h"
#include "control.h"
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

/* a change waits for the writer lock: a transaction, or an export */
#define TIMEOUT_WRITE_MS 60000
/* refused by the room's state: provisioning closed, import/sync while open */
#define EXIT_REFUSED EX_TEMPFAIL

static const char *progname = "enumdr";
static int json_output;

static void
usage(FILE *out)
{
	fprintf(out,
"usage: enumdr [-c CONFIG] [--json] COMMAND [ARGS]\n"
"\n"
"  init [--zone ORIGIN[:SERIAL]]...  create the database and directories\n"
"                                    (and zones, before the agent first starts)\n"
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
"  dns-sync [--timeout MS]           the agent feeds its DNS server now and\n"
"                                    waits until it serves every change\n"
"                                    wait until SERVER serves every zone's serial\n"
"                                    (the database's, or the zone files' in DIR)\n"
"  status                            room, zones, journal, snapshots, alarms\n"
"  alarms                            active alarms\n"
"  conflicts [list] [--all]          numbers changed in two rooms (issue 14)\n"
"  conflicts keep ID served|other    decide one: that version is kept everywhere\n"
"  agent open|close|status|snapshot|role ROLE\n"
"                                    talk to the room agent enumdrd\n"
"  switchover [--to ROOM] [--timeout MS]\n"
"                                    planned switchover to ROOM (issue 15)\n"
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
"69 peer or room agent unreachable, 74 database or file I/O error,\n"
"75 refused by the room's state (provisioning closed; import/sync while\n"
"open), 77 permission denied, 78 configuration error.\n"
"provision, zone add, snapshot and sync write through the room agent\n"
"enumdrd (its control socket): it is the database's only writer.\n",
	    CONFIG_DEFAULT_PATH);
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

/* s as a JSON string; s came from the database, a file or a peer, so
 * bytes that are not UTF-8 (which jansson refuses) become '?'.  NULL only
 * when out of memory. */
static json_t *
json_text(const char *s)
{
	json_t *v;
	char *copy, *p;

	if ((v = json_string(s)) != NULL || (copy = strdup(s)) == NULL)
		return v;
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* Print o on one line, members in the order they were set, and release
 * it; EXIT_SOFTWARE when it could not be built (o NULL) or written. */
static int
print_json(json_t *o)
{
	int rc = EXIT_OK;

	if (o == NULL)
		return fail(EXIT_SOFTWARE, "out of memory");
	if (json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == -1 ||
	    putchar('\n') == EOF)
		rc = fail(EXIT_SOFTWARE, "cannot write the JSON output");
	json_decref(o);
	return rc;
}

/* The exit code of an agent's {"ok":false,...} reply: its "status" is
 * the provisioning API's HTTP status for the same failure; a failure
 * without one (the agent's own: out of memory, a bad request line) is an
 * I/O error. */
static int
reply_exit(const struct control_reply *r)
{
	if (r->closed || control_reply_has(r, "listener"))
		return EXIT_REFUSED;
	switch (r->status) {
	case 400: case 422: return EXIT_DATAERR;
	case 404: case 409: return EXIT_FAILED;
	default: return EXIT_IOERR;
	}
}

/* Print an agent's refusal (its "error": the parser made sure of it);
 * its exit code. */
static int
reply_fail(const struct control_reply *r)
{
	if (r->closed)
		fprintf(stderr, "%s: %s%s%s; change it in the active room, or"
		    " open this room's listener first (enumdr agent open)\n",
		    progname, r->error, r->active_room != NULL ?
		    ", the active room is " : "", r->active_room != NULL ?
		    r->active_room : "");
	else
		fprintf(stderr, "%s: %s\n", progname, r->error);
	return reply_exit(r);
}

/* A reply the caller could not read (a member it needs is missing or
 * mistyped): the message, and the exit code of an unreadable reply. */
static int
reply_unreadable(const char *what, const char *err)
{
	fprintf(stderr, "%s: %s: unreadable reply: %s\n", progname, what, err);
	return EXIT_SOFTWARE;
}

/* An absolute path for the agent, whose working directory is not ours;
 * -1 when it does not fit a request line. */
static int
abs_dir(const char *dir, char *out, size_t outlen)
{
	char cwd[PATH_MAX];

	if (dir[0] == '/')
		return strlcpy_(out, dir, outlen) < outlen &&
		    strchr(dir, '\n') == NULL ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s/%s", cwd, dir) >= outlen)
		return -1;
	return strchr(out, '\n') == NULL ? 0 : -1;
}
#define AGENT_DIR_MAX 224	/* a directory in a 256-byte request line */
#define AGENT_CONTROL_LINE 256

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

/* --zone ORIGIN[:SERIAL] of init. */
static int
parse_init_zone(const char *arg, char *origin, size_t originlen,
    uint32_t *serial)
{
	const char *colon = strchr(arg, ':');
	unsigned long long v = 1;
	size_t len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	char *end;

	if (len == 0 || len >= originlen)
		return -1;
	memcpy(origin, arg, len);
	origin[len] = '\0';
	if (colon != NULL) {
		errno = 0;
		v = strtoull(colon + 1, &end, 10);
		if (errno || *end || colon[1] < '0' || colon[1] > '9' ||
		    v > 4294967295ULL)
			return -1;
	}
	*serial = (uint32_t)v;
	return 0;
}

/* Does an agent answer on the control socket? */
static int
agent_running(const struct config *cfg)
{
	char err[ENUMDR_ERRLEN];
	struct control_reply r;
	int rc;

	/* Any answer, even one we cannot read, is an agent. */
	rc = control_request(cfg->control_socket, "status", 2000, &r, err) !=
	    CONTROL_EUNREACHABLE;
	control_reply_free(&r);
	return rc;
}

/* init [--zone ORIGIN[:SERIAL]]...: the database and directories, and the
 * room's zones before its agent first starts (no agent runs without a
 * database; while one runs, zones are added through it). */
static int
cmd_init(struct ctx *c, int argc, char **argv)
{
	const char *dirs[] = { c->cfg.snapshot_dir, c->cfg.incoming_dir,
	    c->cfg.state_dir };
	char err[ENUMDR_ERRLEN], dbdir[PATH_MAX], *slash,
	    origin[STORE_ORIGIN_MAX + 1];
	enum store_status s;
	uint32_t serial;
	size_t i;
	int a, rc;

	for (a = 0; a < argc; a += 2) {
		if (strcmp(argv[a], "--zone") != 0 || a + 1 >= argc)
			return usage_error("init: expected [--zone ORIGIN[:SERIAL]]...");
		if (parse_init_zone(argv[a + 1], origin, sizeof(origin),
		    &serial) == -1)
			return usage_error("init: --zone %s: expected ORIGIN or"
			    " ORIGIN:SERIAL (0..4294967295)", argv[a + 1]);
	}
	if (argc > 0 && agent_running(&c->cfg)) {
		fprintf(stderr, "%s: init --zone: the room agent enumdrd runs"
		    " (control socket %s) and is the only writer of the"
		    " database; add zones through it: enumdr zone add ORIGIN\n",
		    progname, c->cfg.control_socket);
		return EXIT_FAILED;
	}
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
	for (a = 0; a < argc; a += 2) {
		(void)parse_init_zone(argv[a + 1], origin, sizeof(origin),
		    &serial);
		s = store_add_zone(c->st, origin, serial, err);
		if (s != STORE_OK)
			return fail(store_exit(s), err);
		printf("zone %s added, serial %u\n", origin, serial);
	}
	return EXIT_OK;
}

static int
cmd_zone(struct ctx *c, int argc, char **argv)
{
	char line[AGENT_CONTROL_LINE], *end;
	unsigned long long serial = 1;
	struct control_reply r;
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
	if (strlen(argv[1]) > STORE_ORIGIN_MAX || strpbrk(argv[1], " \n") !=
	    NULL)
		return fail(EXIT_DATAERR, "zone add: invalid zone origin");
	snprintf(line, sizeof(line), "zone %s %llu", argv[1], serial);
	if ((rc = agent_write(&c->cfg, "zone add", line, NULL, 0,
	    TIMEOUT_WRITE_MS, &r)) != EXIT_OK)
		return rc;
	rc = r.ok ? EXIT_OK : reply_fail(&r);
	control_reply_free(&r);
	if (rc != EXIT_OK)
		return rc;
	printf("zone %s added, serial %llu\n", argv[1], serial);
	return EXIT_OK;
}

/* zones|serials --json: {"room", ["journal",] "zones": [{"origin",
 * "prefix", "serial", "numbers"}...]}. */
static json_t *
zones_json(const struct ctx *c, const struct zone_info *z, size_t n,
    int with_journal, int64_t pos)
{
	json_t *o, *arr;
	char prefix[sizeof(z->prefix) + 1];
	size_t i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "+%s", z[i].prefix);
		if (json_array_append_new(arr, json_pack("{s:o,s:o,s:I,s:I}",
		    "origin", json_text(z[i].origin), "prefix",
		    json_text(prefix), "serial", (json_int_t)z[i].serial,
		    "numbers", (json_int_t)z[i].numbers)) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	o = with_journal ? json_pack("{s:o,s:I}", "room",
	    json_text(c->cfg.room), "journal", (json_int_t)pos) :
	    json_pack("{s:o}", "room", json_text(c->cfg.room));
	if (json_object_set_new(o, "zones", arr) == -1) {	/* frees arr */
		json_decref(o);
		return NULL;
	}
	return o;
}

/* zones, serials (with_journal): the zones, as a table or JSON. */
static int
list_zones(struct ctx *c, int with_journal)
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
		rc = print_json(zones_json(c, z, n, with_journal, pos));
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
	return rc;
}

static int
cmd_zones(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return list_zones(c, 0);
}

static int
cmd_serials(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return list_zones(c, 1);
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

/* One change as the body of the agent's `provision` request: the shape
 * of POST /v1/batch, parsed by the agent as the HTTP API parses it. */
static char *
change_body(const struct store_change *ch)
{
	const struct number_entry *e = &ch->entry;
	json_t *o, *arr = NULL, *chg;
	char *text;
	size_t i;

	chg = json_pack("{s:s,s:s}", "op", ch->op == STORE_ADD ? "add" :
	    ch->op == STORE_REPLACE ? "replace" : "remove", "e164", e->e164);
	if (chg != NULL && ch->op != STORE_REMOVE) {
		arr = json_array();
		for (i = 0; arr != NULL && i < e->nnaptr; i++)
			json_array_append_new(arr, json_pack(
			    "{s:i,s:i,s:s,s:s,s:s,s:s}", "order",
			    (int)e->naptr[i].order, "preference",
			    (int)e->naptr[i].preference, "flags",
			    e->naptr[i].flags, "service", e->naptr[i].service,
			    "regexp", e->naptr[i].regexp, "replacement",
			    e->naptr[i].replacement));
		json_object_set_new(chg, "naptr", arr);
	}
	o = json_pack("{s:[o]}", "changes", chg);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* The change through the agent (the listener gate, S0.5): printed as
 * before, only after the agent's commit. */
static int
provision_through_agent(struct ctx *c, const char *action,
    const struct store_change *ch)
{
	char line[64], err[ENUMDR_ERRLEN], *body;
	struct control_reply r;
	const char *zone;
	long long serial, journal;
	int rc;

	if ((body = change_body(ch)) == NULL)
		return fail(EXIT_SOFTWARE, "out of memory");
	snprintf(line, sizeof(line), "provision %zu", strlen(body));
	rc = agent_write(&c->cfg, "provision", line, body, strlen(body),
	    TIMEOUT_WRITE_MS, &r);
	free(body);
	if (rc != EXIT_OK)
		return rc;
	if (!r.ok)
		rc = reply_fail(&r);
	else if (control_reply_string(&r, "results[0].zone", &zone,
	    err) == -1 || control_reply_integer(&r, "results[0].serial", 0,
	    4294967295LL, &serial, err) == -1 || control_reply_integer(&r,
	    "results[0].journal", 0, INT64_MAX, &journal, err) == -1)
		rc = reply_unreadable("provision", err);
	else
		printf("%s %s: zone %s serial %lld journal %lld\n", action,
		    ch->entry.e164, zone, serial, journal);
	control_reply_free(&r);
	return rc;
}

static int
cmd_provision(struct ctx *c, int argc, char **argv)
{
	struct store_change ch;
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
	return provision_through_agent(c, argv[0], &ch);
}

static int
cmd_snapshot(struct ctx *c, int argc, char **argv)
{
	char err[ENUMDR_ERRLEN], dir[PATH_MAX], line[AGENT_CONTROL_LINE];
	int rc, timeout = control_long_timeout_ms(c->cfg.transfer_timeout_ms);
	struct control_reply r;
	const char *sha256;
	long long zones, journal, size;

	if (argc < 1)
		return usage_error("snapshot: expected export [DIR] or import DIR");
	if (!((strcmp(argv[0], "export") == 0 && argc <= 2) ||
	    (strcmp(argv[0], "import") == 0 && argc == 2)))
		return usage_error("snapshot: expected export [DIR] or import DIR");
	if (argc == 2 && (abs_dir(argv[1], dir, sizeof(dir)) == -1 ||
	    strlen(dir) > AGENT_DIR_MAX))
		return fail(EXIT_USAGE, "snapshot: DIR must be an absolute path"
		    " of at most 224 bytes (the agent's request line)");
	if (argc == 2)
		snprintf(line, sizeof(line), "%s %s", argv[0], dir);
	else
		snprintf(line, sizeof(line), "export");
	if ((rc = agent_write(&c->cfg, argv[0][0] == 'e' ? "snapshot export" :
	    "snapshot import", line, NULL, 0, timeout, &r)) != EXIT_OK)
		return rc;
	if (argv[0][0] == 'e') {
		const char *d = argc == 2 ? argv[1] : c->cfg.snapshot_dir;

		if (!r.ok) {
			const char *fig[] = { "dir", d, NULL };

			alarm_raise(&c->alarms, ALARM_SNAPSHOT_EXPORT, ALARM_MAJOR,
			    r.error, fig, err);
			rc = reply_fail(&r);
			control_reply_free(&r);
			return rc;
		}
		if (control_reply_integer(&r, "zones", 0, INT64_MAX, &zones,
		    err) == -1 || control_reply_integer(&r, "journal", 0,
		    INT64_MAX, &journal, err) == -1 || control_reply_integer(&r,
		    "size", 0, INT64_MAX, &size, err) == -1 ||
		    control_reply_string(&r, "sha256", &sha256, err) == -1) {
			control_reply_free(&r);
			return reply_unreadable("snapshot export", err);
		}
		alarm_clear(&c->alarms, ALARM_SNAPSHOT_EXPORT, "snapshot exported",
		    NULL, err);
		printf("snapshot %s: %lld zones, journal %lld, %lld bytes,"
		    " sha256 %s\n", d, zones, journal, size, sha256);
		control_reply_free(&r);
		return EXIT_OK;
	}
	rc = r.ok ? EXIT_OK : reply_fail(&r);
	control_reply_free(&r);
	if (rc != EXIT_OK)
		return rc;
	printf("snapshot %s imported\n", argv[1]);
	return EXIT_OK;
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

/* One zone of an agent's sync report ("zones[i]"). */
struct sync_reply_zone {
	const char *origin, *verdict;
	long long own, peer;
	int no_own, no_peer;            /* "own" / "peer" null: side lacks it */
};

static int
sync_reply_zone(const struct control_reply *r, size_t i,
    struct sync_reply_zone *z, char *err)
{
	char k[4][48];

	snprintf(k[0], sizeof(k[0]), "zones[%zu].origin", i);
	snprintf(k[1], sizeof(k[1]), "zones[%zu].own", i);
	snprintf(k[2], sizeof(k[2]), "zones[%zu].peer", i);
	snprintf(k[3], sizeof(k[3]), "zones[%zu].verdict", i);
	if (control_reply_string(r, k[0], &z->origin, err) == -1 ||
	    control_reply_integer_or_null(r, k[1], 0, 4294967295LL, &z->own,
	    &z->no_own, err) == -1 || control_reply_integer_or_null(r, k[2], 0,
	    4294967295LL, &z->peer, &z->no_peer, err) == -1 ||
	    control_reply_string(r, k[3], &z->verdict, err) == -1)
		return -1;
	return 0;
}

/* The agent's sync report, printed as `enumdr sync` always printed it;
 * -1 and err, with nothing printed, when a member it needs is missing. */
static int
print_sync_report(const struct ctx *c, const struct control_reply *r,
    const char *from, char *err)
{
	struct sync_reply_zone z;
	const char *kept, *peer, *outcome;
	long long peer_journal;
	json_t *o, *arr;
	int imported;
	char *text;
	size_t i, nzones;

	if (control_reply_array(r, "zones", &nzones, err) == -1 ||
	    control_reply_string_or_null(r, "kept_dir", &kept, err) == -1 ||
	    control_reply_boolean(r, "imported", &imported, err) == -1 ||
	    control_reply_string(r, "peer", &peer, err) == -1 ||
	    control_reply_integer(r, "peer_journal", 0, INT64_MAX,
	    &peer_journal, err) == -1 || control_reply_string(r, "outcome",
	    &outcome, err) == -1)
		return -1;
	for (i = 0; i < nzones; i++)
		if (sync_reply_zone(r, i, &z, err) == -1)
			return -1;
	if (json_output) {
		arr = json_array();
		for (i = 0; arr != NULL && i < nzones; i++) {
			(void)sync_reply_zone(r, i, &z, err);
			json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:s}",
			    "origin", z.origin, "own", z.no_own ? json_null() :
			    json_integer(z.own), "peer", z.no_peer ? json_null() :
			    json_integer(z.peer), "verdict", z.verdict));
		}
		o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:o}", "room", c->cfg.room,
		    "from", from, "peer", peer, "outcome", outcome, "imported",
		    imported, "zones", arr != NULL ? arr : json_array());
		if (o != NULL && kept != NULL)
			json_object_set_new(o, "kept", json_string(kept));
		text = o != NULL ? json_dumps(o, JSON_COMPACT |
		    JSON_PRESERVE_ORDER) : NULL;
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(o);
		return 0;
	}
	printf("sync of room %s from %s (peer room %s, journal %lld)\n",
	    c->cfg.room, from, peer, peer_journal);
	printf("%-32s %12s %12s  %s\n", "ZONE", "OWN", "PEER", "VERDICT");
	for (i = 0; i < nzones; i++) {
		char own[16] = "-", peer_serial[16] = "-";

		(void)sync_reply_zone(r, i, &z, err);
		if (!z.no_own)
			snprintf(own, sizeof(own), "%lld", z.own);
		if (!z.no_peer)
			snprintf(peer_serial, sizeof(peer_serial), "%lld",
			    z.peer);
		printf("%-32s %12s %12s  %s\n", z.origin, own, peer_serial,
		    z.verdict);
	}
	printf("outcome: %s%s\n", outcome, imported ? " (imported)" : "");
	if (kept != NULL)
		printf("peer's snapshot kept in %s\n", kept);
	return 0;
}

/* A sync the agent answered with "ok": false: refused before it ran
 * (listener open, stopping: no "step"), a snapshot with an invalid row
 * ("invalid_row"), or a failed step; its alarm, message and exit code. */
static int
sync_failed(struct ctx *c, const struct control_reply *r, const char *from)
{
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN];
	const char *step = NULL, *row = NULL, *id;
	const char *fig[] = { "step", NULL, "from", from, NULL };
	const char *row_fig[] = { "step", NULL, "row", NULL, "from", from,
	    NULL };
	enum sync_step fs;

	if (!control_reply_has(r, "step"))	/* refused before it ran */
		return reply_fail(r);
	if (control_reply_string(r, "step", &step, err) == -1 ||
	    control_reply_string_or_null(r, "invalid_row", &row, err) == -1)
		return reply_unreadable("sync", err);
	fig[1] = row_fig[1] = step;
	row_fig[3] = row;
	if (row != NULL) {
		/* sound files, invalid data: refused whole (issue 12) */
		alarm_raise(&c->alarms, ALARM_SNAPSHOT_INVALID, ALARM_CRITICAL,
		    r->error, row_fig, aerr);
		fprintf(stderr, "%s: sync failed at step \"%s\": %s\n",
		    progname, step, r->error);
		return EXIT_DATAERR;
	}
	fs = sync_step_from_name(step);
	id = fs == SYNC_STEP_NONE ? ALARM_SYNC_IMPORT : sync_step_alarm(fs);
	alarm_raise(&c->alarms, id, ALARM_MAJOR, r->error, fig, aerr);
	fprintf(stderr, "%s: sync failed at step \"%s\": %s\n", progname,
	    step, r->error);
	return fs == SYNC_STEP_READ_SERIALS ? EXIT_NOINPUT : EXIT_IOERR;
}

/* The snapshot directory a sync --from DIR|URL reads: DIR, or the peer's
 * snapshot fetched from URL into STATE_DIR/fetched. */
static int
sync_source(struct ctx *c, const char *from, char *dir, size_t dirlen)
{
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN];

	if (strstr(from, "://") == NULL) {
		strlcpy_(dir, from, dirlen);
		return EXIT_OK;
	}
	if (util_path_join(dir, dirlen, c->cfg.state_dir, "fetched",
	    err) == -1)
		return fail(EXIT_CONFIG, err);
	if (fetch_snapshot(c, from, dir, err) == -1) {
		const char *fig[] = { "url", from, NULL };
		alarm_raise(&c->alarms, ALARM_TRANSFER, ALARM_MAJOR, err, fig,
		    aerr);
		return fail(EXIT_UNAVAILABLE, err);
	}
	alarm_clear(&c->alarms, ALARM_TRANSFER, "peer snapshot fetched",
	    NULL, aerr);
	return EXIT_OK;
}

/* The alarms of a sync's outcome; its exit code (70 when the reply lacks
 * a member they need). */
static int
sync_outcome(struct ctx *c, const struct control_reply *r)
{
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN];
	const char *outcome, *peer, *kept;
	int code = EXIT_OK;

	if (control_reply_string(r, "outcome", &outcome, err) == -1 ||
	    control_reply_string(r, "peer", &peer, err) == -1 ||
	    control_reply_string_or_null(r, "kept_dir", &kept, err) == -1)
		return reply_unreadable("sync", err);
	if (strcmp(outcome, "diverged") == 0 &&
	    control_reply_has(r, "merged")) {
		/* merged number by number (sync.on_diverged merge): resolved;
		 * conflicts are the agent's CONFLICT alarm */
		long long taken = 0, kept_n = 0, conflicts = 0;

		if (control_reply_integer(r, "merged.taken", 0, LLONG_MAX,
		    &taken, err) == -1 || control_reply_integer(r,
		    "merged.kept", 0, LLONG_MAX, &kept_n, err) == -1 ||
		    control_reply_integer(r, "merged.conflicts", 0, LLONG_MAX,
		    &conflicts, err) == -1)
			return reply_unreadable("sync", err);
		printf("merged number by number: %lld versions taken, %lld kept"
		    " as newer here, %lld conflicts%s\n", taken, kept_n,
		    conflicts, conflicts > 0 ?
		    " (see enumdr conflicts)" : "");
		alarm_clear(&c->alarms, ALARM_SYNC_DIVERGED, "rooms merged",
		    NULL, aerr);
	} else if (strcmp(outcome, "diverged") == 0 ||
	    strcmp(outcome, "undefined") == 0) {
		int div = strcmp(outcome, "diverged") == 0;
		const char *id = div ? ALARM_SYNC_DIVERGED : ALARM_SYNC_UNDEFINED;
		/* kept_dir null: the peer's copy was not kept (on_diverged) */
		const char *fig[] = { "peer", peer, "kept", kept != NULL ? kept :
		    "", NULL };
		alarm_raise(&c->alarms, id, ALARM_CRITICAL, div ?
		    "both rooms have newer zones (split brain); peer data kept" :
		    "zone serials 2^31 apart: comparison undefined (RFC 1982)",
		    fig, aerr);
		code = div ? EXIT_DIVERGED : EXIT_UNDEFINED;
	} else {
		alarm_clear(&c->alarms, ALARM_SYNC_DIVERGED, "rooms agree again",
		    NULL, aerr);
		alarm_clear(&c->alarms, ALARM_SYNC_UNDEFINED, "serials comparable",
		    NULL, aerr);
	}
	return code;
}

static int
cmd_sync(struct ctx *c, int argc, char **argv)
{
	char err[ENUMDR_ERRLEN], aerr[ENUMDR_ERRLEN], dir[PATH_MAX],
	    adir[PATH_MAX], line[AGENT_CONTROL_LINE];
	const char *from = NULL;
	struct control_reply r;
	int i, rc, code, dry_run = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = 1;
		else
			return usage_error("sync: unexpected argument '%s'", argv[i]);
	}
	if (from == NULL)
		return usage_error("sync: --from DIR|URL is required");

	if ((rc = sync_source(c, from, dir, sizeof(dir))) != EXIT_OK)
		return rc;
	if (abs_dir(dir, adir, sizeof(adir)) == -1 ||
	    strlen(adir) > AGENT_DIR_MAX)
		return fail(EXIT_USAGE, "sync: the snapshot directory must be"
		    " a path of at most 224 bytes (the agent's request line)");
	snprintf(line, sizeof(line), "sync %s%s", dry_run ? "--dry-run " : "",
	    adir);
	if ((rc = agent_write(&c->cfg, "sync", line, NULL, 0,
	    control_long_timeout_ms(c->cfg.transfer_timeout_ms), &r)) !=
	    EXIT_OK)
		return rc;
	if (!r.ok) {
		rc = sync_failed(c, &r, from);
		control_reply_free(&r);
		return rc;
	}
	/* The report is checked whole before a line of it is printed. */
	if (print_sync_report(c, &r, from, err) == -1) {
		control_reply_free(&r);
		return reply_unreadable("sync", err);
	}
	alarm_clear(&c->alarms, ALARM_SYNC_READ, "peer serial file read", NULL, aerr);
	alarm_clear(&c->alarms, ALARM_SYNC_QUERY, "own serials read", NULL, aerr);
	alarm_clear(&c->alarms, ALARM_SYNC_IMPORT, "sync completed", NULL, aerr);
	alarm_clear(&c->alarms, ALARM_SNAPSHOT_INVALID, "sync completed: nothing"
	    " invalid to import", NULL, aerr);
	code = sync_outcome(c, &r);
	control_reply_free(&r);
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
	/* with its ZONEMD (RFC 8976) unless dns.zonemd is false */
	if (zonefile_write(c->st, argv[0], argc == 2 ? argv[1] : NULL,
	    c->cfg.dns_zonemd ? ZONEFILE_ZONEMD : 0, &res, &n, err) == -1)
		return fail(EXIT_IOERR, err);
	for (i = 0; i < n; i++)
		printf("%s/%s.zone serial %u, %lld numbers\n", argv[0],
		    res[i].origin, res[i].serial, (long long)res[i].numbers);
	free(res);
	return EXIT_OK;
}

/* dns-sync [--timeout MS]: the agent feeds its DNS server now and answers
 * once it serves every change committed before (issue 16: the takeover's
 * load step when dns.server is set; doc/dns.md). */
static int
cmd_dns_sync(struct ctx *c, int argc, char **argv)
{
	char err[ENUMDR_ERRLEN], line[64], *end;
	struct control_reply r;
	long timeout = 20000;
	int rc;

	if (argc == 2 && strcmp(argv[0], "--timeout") == 0) {
		timeout = strtol(argv[1], &end, 10);
		if (*end || timeout < 1 || timeout > 3600000)
			return usage_error("dns-sync: --timeout must be"
			    " 1..3600000 ms");
	} else if (argc != 0)
		return usage_error("dns-sync: expected [--timeout MS]");
	snprintf(line, sizeof(line), "dns-sync %ld", timeout);
	switch (control_request(c->cfg.control_socket, line, (int)timeout +
	    5000, &r, err)) {
	case CONTROL_OK:
		break;
	case CONTROL_EUNREACHABLE:
		control_reply_free(&r);
		return fail(EXIT_UNAVAILABLE, err);
	default:
		control_reply_free(&r);
		return fail(EXIT_SOFTWARE, err);
	}
	if (r.ok)
		printf("room %s: DNS server in step\n", c->cfg.room);
	else
		fprintf(stderr, "%s: %s\n", progname, r.error ? r.error :
		    "the agent refused dns-sync");
	rc = r.ok ? EXIT_OK : EXIT_UNAVAILABLE;
	control_reply_free(&r);
	return rc;
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
			usleep(10000);
		}
		printf("%s serves %s serial %u\n", argv[0], z[i].origin, served);
	}
	free(z);
	return EXIT_OK;
}

/* alarms --json: [{"id", "severity", "raised_at", "line"}...]; with
 * brief, as status has them: [{"id", "severity"}...]. */
static json_t *
alarms_json(const struct alarm_active *a, size_t n, int brief)
{
	json_t *arr, *o;
	size_t i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		o = json_pack("{s:o,s:s}", "id", json_text(a[i].id),
		    "severity", alarm_severity_name(a[i].severity));
		if (o != NULL && !brief &&
		    (json_object_set_new(o, "raised_at",
		    json_text(a[i].raised_at)) == -1 ||
		    json_object_set_new(o, "line", json_text(a[i].line)) == -1)) {
			json_decref(o);
			o = NULL;
		}
		if (json_array_append_new(arr, o) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int
cmd_alarms(struct ctx *c, int argc, char **argv)
{
	struct alarm_active *a;
	char err[ENUMDR_ERRLEN];
	size_t n, i;
	int rc = EXIT_OK;

	(void)argc;
	(void)argv;
	if (alarm_list(&c->alarms, &a, &n, err) == -1)
		return fail(EXIT_IOERR, err);
	if (json_output) {
		rc = print_json(alarms_json(a, n, 0));
	} else if (n == 0) {
		printf("no active alarms in room %s\n", c->cfg.room);
	} else {
		for (i = 0; i < n; i++)
			printf("%s %-9s %s\n", a[i].raised_at,
			    alarm_severity_name(a[i].severity), a[i].line);
	}
	free(a);
	return rc;
}

/* What the serial file in dir says, for status: JSON {"room", "created",
 * "journal", "size", "sha256", "zones"} or null when there is none. */
static json_t *
snapshot_json(const char *dir)
{
	struct serial_file sf;
	char err[ENUMDR_ERRLEN], path[PATH_MAX];
	json_t *o;

	memset(&sf, 0, sizeof(sf));
	if (util_path_join(path, sizeof(path), dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 || serial_file_read(path, &sf, err) == -1)
		return json_null();
	o = json_pack("{s:o,s:o,s:I,s:I,s:o,s:I}", "room", json_text(sf.room),
	    "created", json_text(sf.created_at), "journal",
	    (json_int_t)sf.journal_pos, "size", (json_int_t)sf.snapshot_size,
	    "sha256", json_text(sf.snapshot_sha256), "zones",
	    (json_int_t)sf.nzones);
	serial_file_free(&sf);
	return o;
}

/* Print what the serial file in dir says, for status. */
static void
status_snapshot(const char *label, const char *dir)
{
	struct serial_file sf;
	char err[ENUMDR_ERRLEN], path[PATH_MAX];

	memset(&sf, 0, sizeof(sf));
	if (util_path_join(path, sizeof(path), dir, SNAPSHOT_SERIALS_NAME,
	    err) == -1 || serial_file_read(path, &sf, err) == -1) {
		printf("%-10s none (%s)\n", label, err);
		return;
	}
	printf("%-10s room %s, created %s, journal %lld, %zu zones,"
	    " sha256 %.16s...\n", label, sf.room, sf.created_at,
	    (long long)sf.journal_pos, sf.nzones, sf.snapshot_sha256);
	serial_file_free(&sf);
}

/* What status gathered. */
struct status {
	struct alarm_active *alarms;
	struct zone_info *zones;
	size_t nzones, nalarms;
	int64_t journal;
	int dbok;			/* the database could be read */
	char dberr[ENUMDR_ERRLEN];	/* why not */
};

/* status --json: {"room", "database", "database_ok", ["database_error",]
 * "journal", "zones": [{"origin", "serial", "numbers"}...], "snapshot",
 * "incoming", "alarms": [{"id", "severity"}...]}. */
static json_t *
status_json(const struct ctx *c, const struct status *s)
{
	json_t *o, *zones;
	size_t i;

	o = json_pack("{s:o,s:o,s:b}", "room", json_text(c->cfg.room),
	    "database", json_text(c->cfg.database), "database_ok", s->dbok);
	if (o == NULL || (!s->dbok && json_object_set_new(o, "database_error",
	    json_text(s->dberr)) == -1) || json_object_set_new(o, "journal",
	    json_integer(s->journal)) == -1 || (zones = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	for (i = 0; i < s->nzones; i++)
		json_array_append_new(zones, json_pack("{s:o,s:I,s:I}",
		    "origin", json_text(s->zones[i].origin), "serial",
		    (json_int_t)s->zones[i].serial, "numbers",
		    (json_int_t)s->zones[i].numbers));
	if (json_object_set_new(o, "zones", zones) == -1 ||
	    json_object_set_new(o, "snapshot",
	    snapshot_json(c->cfg.snapshot_dir)) == -1 ||
	    json_object_set_new(o, "incoming",
	    snapshot_json(c->cfg.incoming_dir)) == -1 ||
	    json_object_set_new(o, "alarms",
	    alarms_json(s->alarms, s->nalarms, 1)) == -1 ||
	    json_array_size(zones) != s->nzones) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
status_text(const struct ctx *c, const struct status *s)
{
	size_t i;

	printf("room       %s\n", c->cfg.room);
	printf("database   %s (%s)\n", c->cfg.database,
	    s->dbok ? "readable" : s->dberr);
	printf("journal    %lld\n", (long long)s->journal);
	for (i = 0; i < s->nzones; i++)
		printf("zone       %-28s serial %10u  %lld numbers\n",
		    s->zones[i].origin, s->zones[i].serial,
		    (long long)s->zones[i].numbers);
	status_snapshot("snapshot", c->cfg.snapshot_dir);
	status_snapshot("incoming", c->cfg.incoming_dir);
	if (s->nalarms == 0)
		printf("alarms     none\n");
	for (i = 0; i < s->nalarms; i++)
		printf("alarm      %s %s since %s\n", s->alarms[i].id,
		    alarm_severity_name(s->alarms[i].severity),
		    s->alarms[i].raised_at);
}

static int
cmd_status(struct ctx *c, int argc, char **argv)
{
	struct status s;
	char err[ENUMDR_ERRLEN];
	int rc;

	(void)argc;
	(void)argv;
	memset(&s, 0, sizeof(s));
	s.dbok = store_open(c->cfg.database, STORE_READONLY, &c->st,
	    s.dberr) == STORE_OK && store_list_zones(c->st, &s.zones,
	    &s.nzones, s.dberr) == STORE_OK &&
	    store_journal_position(c->st, &s.journal, s.dberr) == STORE_OK;
	if (alarm_list(&c->alarms, &s.alarms, &s.nalarms, err) == -1)
		s.nalarms = 0;
	rc = s.dbok ? EXIT_OK : EXIT_IOERR;
	if (json_output) {
		if (print_json(status_json(c, &s)) != EXIT_OK)
			rc = EXIT_SOFTWARE;
	} else {
		status_text(c, &s);
	}
	free(s.zones);
	free(s.alarms);
	return rc;
}

/* One version of a conflict, printed: "room A, 2026-...: RECORDS". */
static void
print_version(const char *label, json_t *v)
{
	json_t *records = json_object_get(v, "records");
	json_t *room = json_object_get(v, "room");
	const char *text = json_is_string(records) ? json_string_value(records) :
	    "";

	printf("  %-6s room %s, origin sequence %lld: %s\n", label,
	    json_is_string(room) ? json_string_value(room) : "?",
	    (long long)json_integer_value(json_object_get(v, "oseq")),
	    *text == '\0' ? "(removed)" : "");
	for (; *text != '\0';) {
		const char *nl = strchr(text, '\n');
		int len = nl != NULL ? (int)(nl - text) : (int)strlen(text);

		printf("           %.*s\n", len, text);
		text += len + (nl != NULL);
	}
}

/* conflicts [list] [--all] | conflicts keep ID served|other (issue 14):
 * through the agent, which holds the decision's change like any other. */
static int
cmd_conflicts(struct ctx *c, int argc, char **argv)
{
	struct control_reply r;
	char line[96], *end;
	long long id;
	json_t *arr, *k;
	size_t i;
	int rc, all = 0;

	if (argc >= 1 && strcmp(argv[0], "keep") == 0) {
		if (argc != 3)
			return usage_error("conflicts keep ID served|other");
		errno = 0;
		id = strtoll(argv[1], &end, 10);
		if (errno || *end || id < 1)
			return usage_error("conflicts keep: ID must be a"
			    " conflict number, not '%s'", argv[1]);
		if (strcmp(argv[2], "served") != 0 &&
		    strcmp(argv[2], "other") != 0)
			return usage_error("conflicts keep: keep 'served' or"
			    " 'other', not '%s'", argv[2]);
		snprintf(line, sizeof(line), "conflict-keep %lld %s", id,
		    argv[2]);
		if ((rc = agent_write(&c->cfg, "conflicts keep", line, NULL, 0,
		    TIMEOUT_WRITE_MS, &r)) != EXIT_OK)
			return rc;
		if (!r.ok) {
			rc = reply_fail(&r);
		} else if (json_output) {
			rc = print_json(json_incref(r.root));
		} else {
			printf("conflict %lld decided: the %s version is kept"
			    " (journal %lld); it reaches the other rooms like"
			    " any change\n", id, argv[2], (long long)
			    json_integer_value(json_object_get(r.root,
			    "journal")));
			rc = EXIT_OK;
		}
		control_reply_free(&r);
		return rc;
	}
	if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		argc--;
		argv++;
	}
	if (argc == 1 && strcmp(argv[0], "--all") == 0)
		all = 1;
	else if (argc != 0)
		return usage_error("conflicts [list] [--all] | conflicts keep ID"
		    " served|other");
	if ((rc = agent_write(&c->cfg, "conflicts", all ? "conflicts all" :
	    "conflicts", NULL, 0, TIMEOUT_WRITE_MS, &r)) != EXIT_OK)
		return rc;
	if (!r.ok) {
		rc = reply_fail(&r);
		control_reply_free(&r);
		return rc;
	}
	if (json_output) {
		rc = print_json(json_incref(r.root));
		control_reply_free(&r);
		return rc;
	}
	arr = json_object_get(r.root, "conflicts");
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		printf("no %sconflicts in room %s\n", all ? "" : "open ",
		    c->cfg.room);
	json_array_foreach(arr, i, k) {
		json_t *e = json_object_get(k, "e164");

		printf("conflict %lld: %s, %s since %s\n", (long long)
		    json_integer_value(json_object_get(k, "id")),
		    json_is_string(e) ? json_string_value(e) : "?",
		    json_is_true(json_object_get(k, "open")) ? "open" :
		    "decided", json_string_value(json_object_get(k,
		    "detected_at")) ? json_string_value(json_object_get(k,
		    "detected_at")) : "?");
		print_version("served", json_object_get(k, "served"));
		print_version("other", json_object_get(k, "other"));
	}
	control_reply_free(&r);
	return EXIT_OK;
}

static int
cmd_agent(struct ctx *c, int argc, char **argv)
{
	return agent_cmd(&c->cfg, argc, argv, json_output);
}

static int
cmd_switchover(struct ctx *c, int argc, char **argv)
{
	return switchover_cmd(&c->cfg, &c->alarms, argc, argv);
}

/* The commands, as usage() lists them. */
static const struct command {
	const char *name;
	int (*run)(struct ctx *, int argc, char **argv); /* after the name */
	int no_args;			/* takes no arguments */
} commands[] = {
	{ "init", cmd_init, 0 },
	{ "zone", cmd_zone, 0 },
	{ "zones", cmd_zones, 1 },
	{ "provision", cmd_provision, 0 },
	{ "serials", cmd_serials, 1 },
	{ "snapshot", cmd_snapshot, 0 },
	{ "sync", cmd_sync, 0 },
	{ "zonefiles", cmd_zonefiles, 0 },
	{ "dns-wait", cmd_dns_wait, 0 },
	{ "dns-sync", cmd_dns_sync, 0 },
	{ "status", cmd_status, 1 },
	{ "alarms", cmd_alarms, 1 },
	{ "conflicts", cmd_conflicts, 0 },
	{ "agent", cmd_agent, 0 },
	{ "switchover", cmd_switchover, 0 },
};

/* The command argv[0] names with the arguments it was given; NULL when
 * there is none. */
static const struct command *
command_find(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			return commands[i].no_args && argc != 1 ? NULL :
			    &commands[i];
	return NULL;
}

/* The global options: -c, --json, --help, --version, and --json after the
 * command too.  On return *argcp and *argvp hold the command and its
 * arguments; -1 to go on, else the exit code. */
static int
parse_options(int *argcp, char ***argvp, const char **config)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int argc = *argcp, ch, i;
	char **argv = *argvp;

	*config = NULL;
	while ((ch = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*config = optarg;
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
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json_output = 1;
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	*argcp = argc;
	*argvp = argv;
	*config = config_path(*config);
	return -1;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	const char *config;
	struct ctx c;
	int rc;

	if ((rc = parse_options(&argc, &argv, &config)) != -1)
		return rc;
	memset(&c, 0, sizeof(c));
	if ((rc = load_config(&c, config)) != EXIT_OK)
		return rc;
	if ((cmd = command_find(argc, argv)) != NULL)
		rc = cmd->run(&c, argc - 1, argv + 1);
	else
		rc = usage_error("unknown command or arguments: '%s'", argv[0]);
	store_close(c.st);
	config_free(&c.cfg);
	return rc;
}
