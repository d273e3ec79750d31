/*
 * config.c — the room's enumdr.yaml, read with libyaml's document API and
 * checked by one table-driven walker: every mapping of the file is a table
 * of fields (key, type, where the value goes, range, default), so adding a
 * key is adding a table row.  conf/enumdr.yaml documents every key.
 *
 * Every error names "FILE:LINE:COLUMN: KEY.PATH: problem" (1-based, like an
 * editor; libyaml's marks are 0-based), e.g.
 *   enumdr.yaml:21:7: peers[1].heartbeat_url: required key missing ...
 * A missing key points at the mapping that lacks it.  Values never get
 * truncated: a string longer than its field is an error.
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <yaml.h>

#include "config.h"
#include "log.h"
#include "naptr.h"
#include "util.h"

#define CONFIG_FILE_MAX (1024 * 1024)	/* a larger file is refused */
#define CONFIG_ARG_MAX  PATH_MAX	/* one argv string of a load step */
#define FIELDS_MAX      20		/* rows in one table */
#define KEYPATH_MAX     256		/* "load[7].argv[31]" and the like */

enum field_type {
	FT_NAME,	/* [A-Za-z0-9_-]{1,63} */
	FT_PATH,	/* an absolute path ("" when optional and absent) */
	FT_SOCKET,	/* an absolute path that fits sockaddr_un.sun_path */
	FT_URL,		/* scheme://rest */
	FT_DIRURL,	/* scheme://rest/ : a directory */
	FT_HOSTPORT,	/* ADDR:PORT or [V6ADDR]:PORT */
	FT_INT,		/* an integer in min..max */
	FT_FACILITY,	/* a syslog facility name */
	FT_POLICY,	/* merge | refuse | merge-zones */
	FT_REPLMODE,	/* off | async | sync | strict */
	FT_QUORUM,	/* off | majority */
	FT_BOOL,	/* true | false */
	FT_DOMAIN,	/* a domain name: labels of [A-Za-z0-9_-] */
	FT_ARGV,	/* a list of strings, argv[0] an absolute path */
	FT_MAP,		/* a nested mapping whose fields live in the same struct */
	FT_LIST		/* a list of mappings filling an array */
};

#define FL_REQUIRED 0x1	/* the key must be present */
#define FL_UNIQUE   0x2	/* no two entries of the list share the value */
#define FL_NOT_ROOM 0x4	/* the value must differ from room: */

struct field {
	const char *key;
	enum field_type type;
	unsigned flags;
	size_t off;			/* where the value goes in the struct */
	size_t size;			/* string: buffer size; list: entry size */
	long min, max;			/* int: range; list, argv: max in max */
	long def;			/* int, policy: the default */
	const char *defstr;		/* string, facility: the default */
	const struct field *sub;	/* map, list: the nested table */
	size_t countoff;		/* list, argv: where the count goes */
};

/* One walk over one document. */
struct walk {
	yaml_document_t *doc;
	const char *name;		/* file name for messages */
	struct config *cfg;
	char *list_base;		/* the list whose entry is being read */
	size_t list_size, list_index;
	char *err;
};

#define CFG  struct config
#define PEER struct config_peer
#define STEP struct config_step

#define STR(S, k, t, fl, m, d) { .key = (k), .type = (t), .flags = (fl), \
	.off = offsetof(S, m), .size = sizeof(((S *)0)->m), .defstr = (d) }
#define INT(S, k, m, lo, hi, d) { .key = (k), .type = FT_INT, \
	.off = offsetof(S, m), .min = (lo), .max = (hi), .def = (d) }
#define MAP(k, t) { .key = (k), .type = FT_MAP, .sub = (t) }
#define LIST(k, m, n, t) { .key = (k), .type = FT_LIST, \
	.off = offsetof(CFG, m), .size = sizeof(((CFG *)0)->m[0]), \
	.max = sizeof(((CFG *)0)->m) / sizeof(((CFG *)0)->m[0]), \
	.countoff = offsetof(CFG, n), .sub = (t) }
#define END { .key = NULL }

static const struct field alarm_fields[] = {
	{ .key = "facility", .type = FT_FACILITY,
	  .off = offsetof(CFG, alarm_facility), .defstr = "local3" },
	STR(CFG, "ident", FT_NAME, 0, alarm_ident, "enumdr"),
	END
};

static const struct field timeout_fields[] = {
	INT(CFG, "connect_ms", connect_timeout_ms, 1, 600000, 2000),
	INT(CFG, "transfer_ms", transfer_timeout_ms, 1, 3600000, 30000),
	END
};

static const struct field transfer_fields[] = {
	STR(CFG, "ssh_private_key", FT_PATH, 0, ssh_private_key, NULL),
	STR(CFG, "ssh_public_key", FT_PATH, 0, ssh_public_key, NULL),
	STR(CFG, "ssh_known_hosts", FT_PATH, 0, ssh_known_hosts, NULL),
	END
};

static const struct field sync_fields[] = {
	{ .key = "on_diverged", .type = FT_POLICY,
	  .off = offsetof(CFG, on_diverged), .def = DIVERGED_MERGE },
	END
};

static const struct field replication_fields[] = {
	{ .key = "mode", .type = FT_REPLMODE,
	  .off = offsetof(CFG, repl_mode), .def = REPL_ASYNC },
	INT(CFG, "sync_timeout_ms", repl_sync_timeout_ms, 1, 600000, 2000),
	INT(CFG, "max_lag_ms", repl_max_lag_ms, 1, 86400000, 5000),
	INT(CFG, "poll_wait_ms", repl_poll_wait_ms, 100, 25000, 10000),
	INT(CFG, "batch", repl_batch, 1, 10000, 1000),
	INT(CFG, "journal_keep", repl_journal_keep, 100, 1000000000, 1000000),
	END
};

static const struct field quorum_fields[] = {
	{ .key = "mode", .type = FT_QUORUM,
	  .off = offsetof(CFG, quorum_majority), .def = 0 },
	STR(CFG, "witness_url", FT_URL, 0, witness_url, NULL),
	INT(CFG, "stand_down_ms", quorum_stand_down_ms, 100, 3600000, 5000),
	END
};

static const struct field dns_fields[] = {
	STR(CFG, "server", FT_HOSTPORT, 0, dns_server, NULL),
	STR(CFG, "tsig_key", FT_PATH, 0, dns_tsig_key, NULL),
	STR(CFG, "control_socket", FT_SOCKET, 0, dns_control_socket, NULL),
	STR(CFG, "zone_dir", FT_PATH, 0, dns_zone_dir, NULL),
	STR(CFG, "catalog", FT_DOMAIN, 0, dns_catalog, NULL),
	{ .key = "zonemd", .type = FT_BOOL, .off = offsetof(CFG, dns_zonemd),
	  .def = 1 },
	INT(CFG, "timeout_ms", dns_timeout_ms, 1, 600000, 5000),
	END
};

static const struct field agent_fields[] = {
	STR(CFG, "provisioning_listen", FT_HOSTPORT, 0, provisioning_listen,
	    "127.0.0.1:8053"),
	STR(CFG, "peer_listen", FT_HOSTPORT, 0, peer_listen,
	    "127.0.0.1:8054"),
	STR(CFG, "control_socket", FT_SOCKET, 0, control_socket, NULL),
	INT(CFG, "snapshot_interval_s", snapshot_interval_s, 0, 86400, 300),
	INT(CFG, "header_timeout_s", header_timeout_s, 1, 300, 10),
	INT(CFG, "body_timeout_s", body_timeout_s, 1, 3600, 30),
	INT(CFG, "transfer_min_bytes_per_s", transfer_min_rate, 1, 1073741824,
	    65536),
	INT(CFG, "provisioning_connections_per_address",
	    provisioning_per_address, 1, 1024, 16),
	INT(CFG, "peer_connections_per_address", peer_per_address, 1, 1024,
	    8),
	END
};

static const struct field peer_fields[] = {
	STR(PEER, "name", FT_NAME, FL_REQUIRED | FL_UNIQUE | FL_NOT_ROOM,
	    name, NULL),
	STR(PEER, "heartbeat_url", FT_URL, FL_REQUIRED, heartbeat_url, NULL),
	STR(PEER, "transfer_url", FT_DIRURL, FL_REQUIRED, transfer_url, NULL),
	STR(PEER, "fetch_url", FT_URL, 0, fetch_url, NULL),
	STR(PEER, "journal_url", FT_URL, 0, journal_url, NULL),
	STR(PEER, "switchover_url", FT_URL, 0, switchover_url, NULL),
	END
};

static const struct field step_fields[] = {
	STR(STEP, "name", FT_NAME, FL_REQUIRED | FL_UNIQUE, name, NULL),
	{ .key = "argv", .type = FT_ARGV, .flags = FL_REQUIRED,
	  .off = offsetof(STEP, argv), .countoff = offsetof(STEP, argc),
	  .max = CONFIG_MAX_ARGV },
	INT(STEP, "timeout_ms", timeout_ms, 1, 3600000, 30000),
	END
};

static const struct field top_fields[] = {
	STR(CFG, "room", FT_NAME, FL_REQUIRED, room, NULL),
	STR(CFG, "database", FT_PATH, FL_REQUIRED, database, NULL),
	STR(CFG, "snapshot_dir", FT_PATH, FL_REQUIRED, snapshot_dir, NULL),
	STR(CFG, "incoming_dir", FT_PATH, FL_REQUIRED, incoming_dir, NULL),
	STR(CFG, "state_dir", FT_PATH, FL_REQUIRED, state_dir, NULL),
	MAP("alarm", alarm_fields),
	MAP("timeouts", timeout_fields),
	MAP("transfer", transfer_fields),
	MAP("sync", sync_fields),
	MAP("replication", replication_fields),
	MAP("quorum", quorum_fields),
	MAP("dns", dns_fields),
	MAP("agent", agent_fields),
	LIST("peers", peers, npeers, peer_fields),
	LIST("load", steps, nsteps, step_fields),
	END
};

static int walk_mapping(struct walk *, const yaml_node_t *,
    const struct field *, char *, const char *);
static int walk_err(struct walk *, yaml_mark_t, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));

/* "FILE:LINE:COL: PATH: message" into w->err; returns -1. */
static int
walk_err(struct walk *w, yaml_mark_t mark, const char *path,
    const char *fmt, ...)
{
	char msg[ENUMDR_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errf(w->err, "%s:%zu:%zu: %s%s%s", w->name, mark.line + 1,
	    mark.column + 1, path, path[0] != '\0' ? ": " : "", msg);
	return -1;
}

/* path.key, or path[index] when key is NULL, into out (KEYPATH_MAX);
 * a cut-off path only shortens a message. */
static void
child_path(char *out, const char *path, const char *key, size_t index)
{
	int n;

	if (key != NULL)
		n = snprintf(out, KEYPATH_MAX, "%s%s%s", path,
		    path[0] != '\0' ? "." : "", key);
	else
		n = snprintf(out, KEYPATH_MAX, "%s[%zu]", path, index);
	if (n < 0)
		out[0] = '\0';
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static int
is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)n->data.scalar.value;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* What a node is, for "expected X, found Y". */
static const char *
node_kind(const yaml_node_t *n)
{
	if (is_null(n))
		return "an empty value";
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* Set every default of table (and its nested mappings) in base. */
static void
apply_defaults(const struct field *table, char *base)
{
	const struct field *f;
	char *p;

	for (f = table; f->key != NULL; f++) {
		p = base + f->off;
		switch (f->type) {
		case FT_MAP:
			apply_defaults(f->sub, base);
			break;
		case FT_INT:
			*(int *)(void *)p = (int)f->def;
			break;
		case FT_POLICY:
			*(enum config_diverged_policy *)(void *)p =
			    (enum config_diverged_policy)f->def;
			break;
		case FT_REPLMODE:
			*(enum config_repl_mode *)(void *)p =
			    (enum config_repl_mode)f->def;
			break;
		case FT_QUORUM:
		case FT_BOOL:
			*(int *)(void *)p = (int)f->def;
			break;
		case FT_FACILITY:
			*(int *)(void *)p = log_facility_from_name(f->defstr);
			break;
		case FT_LIST:
		case FT_ARGV:
			break;
		default:
			if (f->defstr != NULL)
				strlcpy_(p, f->defstr, f->size);
			break;
		}
	}
}

static int
valid_name(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' &&
		    s[n] != '-')
			return 0;
	return n >= 1 && n <= 63;
}

/* scheme://something (and a trailing '/' when dir). */
static int
valid_url(const char *s, int dir)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0 || p[3] == '\0')
		return 0;
	return !dir || s[strlen(s) - 1] == '/';
}

/* ADDR:PORT or [V6ADDR]:PORT with a port in 1..65535. */
static int
valid_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	long port = 0;
	const char *p;

	if (colon == NULL || colon == s || colon[1] == '\0' ||
	    strlen(colon + 1) > 5)
		return 0;
	for (p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535)
		return 0;
	if (s[0] == '[')
		return colon - s > 2 && colon[-1] == ']';
	return strchr(s, ':') == colon;
}

/* Check a string value for its type: NULL when fine, else the problem. */
static const char *
string_problem(const struct field *f, const char *s)
{
	if (s[0] == '\0' && !(f->flags & FL_REQUIRED) && f->type != FT_NAME &&
	    f->type != FT_HOSTPORT)
		return NULL;	/* an optional path or URL left unset */
	switch (f->type) {
	case FT_NAME:
		return valid_name(s) ? NULL :
		    "is not a name: want [A-Za-z0-9_-]{1,63}";
	case FT_PATH:
	case FT_SOCKET:
		if (s[0] != '/')
			return "is not an absolute path";
		if (f->type == FT_SOCKET &&
		    strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return "is too long for a unix socket path";
		return NULL;
	case FT_URL:
		return valid_url(s, 0) ? NULL : "is not a URL (scheme://...)";
	case FT_DIRURL:
		return valid_url(s, 1) ? NULL :
		    "is not a directory URL (scheme://.../ ending in '/')";
	case FT_HOSTPORT:
		return valid_hostport(s) ? NULL :
		    "is not ADDRESS:PORT (port 1..65535)";
	case FT_DOMAIN:
		return naptr_domain_valid(s) && strcmp(s, ".") != 0 ? NULL :
		    "is not a domain name (labels of [A-Za-z0-9_-], at most"
		    " 253 bytes)";
	default:
		return "has no string type";	/* not reached */
	}
}

/* Copy a checked string value into its field. */
static int
set_string(struct walk *w, const struct field *f, const yaml_node_t *n,
    const char *s, size_t len, char *base, const char *path)
{
	const char *problem, *other;
	size_t i;

	if (len >= f->size)
		return walk_err(w, n->start_mark, path,
		    "value is %zu bytes long, more than the %zu allowed", len,
		    f->size - 1);
	if ((problem = string_problem(f, s)) != NULL)
		return walk_err(w, n->start_mark, path, "\"%s\" %s", s,
		    problem);
	for (i = 0; (f->flags & FL_UNIQUE) && i < w->list_index; i++) {
		other = w->list_base + i * w->list_size + f->off;
		if (strcmp(other, s) == 0)
			return walk_err(w, n->start_mark, path,
			    "\"%s\" is already used by entry [%zu]", s, i);
	}
	if ((f->flags & FL_NOT_ROOM) && strcmp(s, w->cfg->room) == 0)
		return walk_err(w, n->start_mark, path,
		    "\"%s\" is this room's own name", s);
	memcpy(base + f->off, s, len);
	base[f->off + len] = '\0';
	return 0;
}

/* A decimal integer in f->min..f->max. */
static int
set_int(struct walk *w, const struct field *f, const yaml_node_t *n,
    const char *s, char *base, const char *path)
{
	const char *p = s[0] == '-' ? s + 1 : s;
	long long v;

	if (*p == '\0' || strlen(p) > 12 || strspn(p, "0123456789") !=
	    strlen(p))
		return walk_err(w, n->start_mark, path,
		    "\"%s\" is not an integer", s);
	v = strtoll(s, NULL, 10);
	if (v < f->min || v > f->max)
		return walk_err(w, n->start_mark, path,
		    "%lld is out of range %ld..%ld", v, f->min, f->max);
	*(int *)(void *)(base + f->off) = (int)v;
	return 0;
}

/* A scalar value: its string (NULL when the node is no scalar). */
static const char *
scalar(struct walk *w, const yaml_node_t *n, const char *path, size_t *len)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE)
		return NULL;
	s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	if (memchr(s, '\0', *len) != NULL) {
		walk_err(w, n->start_mark, path, "value contains a NUL byte");
		return NULL;
	}
	if (is_null(n)) {
		*len = 0;
		return "";
	}
	return s;
}

/* A load step's argv: 1..CONFIG_MAX_ARGV strings, malloc'd. */
static int
walk_argv(struct walk *w, const struct field *f, const yaml_node_t *n,
    char *base, const char *path)
{
	char **argv = (char **)(void *)(base + f->off);
	size_t *argc = (size_t *)(void *)(base + f->countoff);
	char child[KEYPATH_MAX];
	const yaml_node_item_t *item;
	const yaml_node_t *v;
	const char *s;
	size_t i, len;

	if (n->type != YAML_SEQUENCE_NODE)
		return walk_err(w, n->start_mark, path,
		    "expected a list of strings, found %s", node_kind(n));
	if (n->data.sequence.items.start == n->data.sequence.items.top)
		return walk_err(w, n->start_mark, path,
		    "empty: the first entry is the program to run");
	for (item = n->data.sequence.items.start, i = 0;
	    item < n->data.sequence.items.top; item++, i++) {
		child_path(child, path, NULL, i);
		v = yaml_document_get_node(w->doc, *item);
		if (i >= (size_t)f->max)
			return walk_err(w, v->start_mark, child,
			    "more than %ld arguments", f->max);
		if ((s = scalar(w, v, child, &len)) == NULL)
			return v->type == YAML_SCALAR_NODE ? -1 :
			    walk_err(w, v->start_mark, child,
			    "expected a string, found %s", node_kind(v));
		if (len > CONFIG_ARG_MAX)
			return walk_err(w, v->start_mark, child,
			    "value is %zu bytes long, more than the %d allowed",
			    len, CONFIG_ARG_MAX);
		if (i == 0 && s[0] != '/')
			return walk_err(w, v->start_mark, child,
			    "\"%s\" is not an absolute path (no shell, no PATH "
			    "search)", s);
		if ((argv[i] = malloc(len + 1)) == NULL)
			return walk_err(w, v->start_mark, child,
			    "out of memory");
		memcpy(argv[i], s, len + 1);
		argv[i + 1] = NULL;
		*argc = i + 1;
	}
	return 0;
}

/* A list of mappings into the array at base + f->off. */
static int
walk_list(struct walk *w, const struct field *f, const yaml_node_t *n,
    char *base, const char *path)
{
	size_t *count = (size_t *)(void *)(base + f->countoff);
	char child[KEYPATH_MAX], *entry;
	const yaml_node_item_t *item;
	const yaml_node_t *v;
	size_t i;
	int r;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return walk_err(w, n->start_mark, path,
		    "expected a list of mappings, found %s", node_kind(n));
	for (item = n->data.sequence.items.start, i = 0;
	    item < n->data.sequence.items.top; item++, i++) {
		child_path(child, path, NULL, i);
		v = yaml_document_get_node(w->doc, *item);
		if (i >= (size_t)f->max)
			return walk_err(w, v->start_mark, child,
			    "more than %ld entries", f->max);
		entry = base + f->off + i * f->size;
		apply_defaults(f->sub, entry);
		*count = i + 1;
		w->list_base = base + f->off;
		w->list_size = f->size;
		w->list_index = i;
		r = walk_mapping(w, v, f->sub, entry, child);
		w->list_base = NULL;
		w->list_size = w->list_index = 0;
		if (r == -1)
			return -1;
	}
	return 0;
}

/* One key's value. */
static int
walk_value(struct walk *w, const struct field *f, const yaml_node_t *n,
    char *base, const char *path)
{
	const char *s;
	size_t len;
	int fac;

	switch (f->type) {
	case FT_MAP:
		return walk_mapping(w, n, f->sub, base, path);
	case FT_LIST:
		return walk_list(w, f, n, base, path);
	case FT_ARGV:
		return walk_argv(w, f, n, base, path);
	default:
		break;
	}
	if ((s = scalar(w, n, path, &len)) == NULL)
		return n->type == YAML_SCALAR_NODE ? -1 :
		    walk_err(w, n->start_mark, path, "expected %s, found %s",
		    f->type == FT_INT ? "an integer" : "a string",
		    node_kind(n));
	switch (f->type) {
	case FT_INT:
		return set_int(w, f, n, s, base, path);
	case FT_FACILITY:
		if ((fac = log_facility_from_name(s)) == -1)
			return walk_err(w, n->start_mark, path,
			    "\"%s\" is not a syslog facility (daemon, user, "
			    "local0..local7)", s);
		*(int *)(void *)(base + f->off) = fac;
		return 0;
	case FT_REPLMODE:
		if (strcmp(s, "off") == 0)
			fac = REPL_OFF;
		else if (strcmp(s, "async") == 0)
			fac = REPL_ASYNC;
		else if (strcmp(s, "sync") == 0)
			fac = REPL_SYNC;
		else if (strcmp(s, "strict") == 0)
			fac = REPL_STRICT;
		else
			return walk_err(w, n->start_mark, path,
			    "\"%s\" is not a replication mode (off, async, "
			    "sync, strict)", s);
		*(enum config_repl_mode *)(void *)(base + f->off) =
		    (enum config_repl_mode)fac;
		return 0;
	case FT_BOOL:
		if (strcmp(s, "true") == 0)
			fac = 1;
		else if (strcmp(s, "false") == 0)
			fac = 0;
		else
			return walk_err(w, n->start_mark, path,
			    "\"%s\" is not true or false", s);
		*(int *)(void *)(base + f->off) = fac;
		return 0;
	case FT_QUORUM:
		if (strcmp(s, "off") == 0)
			fac = 0;
		else if (strcmp(s, "majority") == 0)
			fac = 1;
		else
			return walk_err(w, n->start_mark, path,
			    "\"%s\" is not a quorum mode (off, majority)", s);
		*(int *)(void *)(base + f->off) = fac;
		return 0;
	case FT_POLICY:
		if (strcmp(s, "refuse") == 0)
			*(enum config_diverged_policy *)(void *)(base +
			    f->off) = DIVERGED_REFUSE;
		else if (strcmp(s, "merge-zones") == 0)
			*(enum config_diverged_policy *)(void *)(base +
			    f->off) = DIVERGED_MERGE_ZONES;
		else if (strcmp(s, "merge") == 0)
			*(enum config_diverged_policy *)(void *)(base +
			    f->off) = DIVERGED_MERGE;
		else
			return walk_err(w, n->start_mark, path,
			    "\"%s\" is not a policy (merge, refuse,"
			    " merge-zones)", s);
		return 0;
	default:
		return set_string(w, f, n, s, len, base, path);
	}
}

/*
 * A mapping described by table, values into base.  Pass 0 checks every
 * key (unknown, duplicate) and reads scalars and nested mappings; pass 1
 * reads the lists, so that a list entry can be checked against room:.
 */
static int
walk_mapping(struct walk *w, const yaml_node_t *n, const struct field *table,
    char *base, const char *path)
{
	yaml_mark_t seen_at[FIELDS_MAX];
	int seen[FIELDS_MAX] = { 0 };
	char child[KEYPATH_MAX];
	const yaml_node_pair_t *pair, *start = NULL, *top = NULL;
	const yaml_node_t *k, *v;
	const struct field *f;
	size_t i;
	int pass;

	for (i = 0; table[i].key != NULL; i++)
		continue;
	assert(i <= FIELDS_MAX);
	if (n->type == YAML_MAPPING_NODE) {
		start = n->data.mapping.pairs.start;
		top = n->data.mapping.pairs.top;
	} else if (!is_null(n))
		return walk_err(w, n->start_mark, path,
		    "expected a mapping, found %s", node_kind(n));
	for (pass = 0; pass < 2; pass++) {
		for (pair = start; pair < top; pair++) {
			k = yaml_document_get_node(w->doc, pair->key);
			v = yaml_document_get_node(w->doc, pair->value);
			if (k->type != YAML_SCALAR_NODE)
				return walk_err(w, k->start_mark, path,
				    "a key must be a scalar, found %s",
				    node_kind(k));
			child_path(child, path,
			    (const char *)k->data.scalar.value, 0);
			for (f = table; f->key != NULL; f++)
				if (strcmp(f->key,
				    (const char *)k->data.scalar.value) == 0)
					break;
			if (f->key == NULL)
				return walk_err(w, k->start_mark, child,
				    "unknown key");
			i = (size_t)(f - table);
			if (pass == 0 && seen[i])
				return walk_err(w, k->start_mark, child,
				    "duplicate key (first at line %zu)",
				    seen_at[i].line + 1);
			if (pass == 0) {
				seen[i] = 1;
				seen_at[i] = k->start_mark;
			}
			if ((f->type == FT_LIST) != (pass == 1))
				continue;
			if (walk_value(w, f, v, base, child) == -1)
				return -1;
		}
	}
	for (f = table, i = 0; f->key != NULL; f++, i++) {
		if ((f->flags & FL_REQUIRED) && !seen[i]) {
			child_path(child, path, f->key, 0);
			return walk_err(w, n->start_mark, child,
			    "required key missing from this mapping");
		}
	}
	return 0;
}

/* libyaml's problem, with its position, into err. */
static void
parse_error(const yaml_parser_t *p, const char *name, const char *yaml,
    size_t len, char *err)
{
	size_t line = 1, col = 1, i;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		errf(err, "%s: out of memory reading YAML", name);
		return;
	case YAML_READER_ERROR:
		/* The reader has an offset, not a mark. */
		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (yaml[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)yaml[i] & 0xc0) != 0x80)
				col++;
		}
		if (p->problem_value != -1)
			errf(err, "%s:%zu:%zu: malformed YAML: %s (#%X)", name,
			    line, col, p->problem, (unsigned)p->problem_value);
		else
			errf(err, "%s:%zu:%zu: malformed YAML: %s", name, line,
			    col, p->problem);
		return;
	default:
		if (p->context != NULL)
			errf(err, "%s:%zu:%zu: malformed YAML: %s (%s at line "
			    "%zu, column %zu)", name, p->problem_mark.line + 1,
			    p->problem_mark.column + 1,
			    p->problem != NULL ? p->problem : "error",
			    p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
		else
			errf(err, "%s:%zu:%zu: malformed YAML: %s", name,
			    p->problem_mark.line + 1,
			    p->problem_mark.column + 1,
			    p->problem != NULL ? p->problem : "error");
		return;
	}
}

/* What follows the walk: values that depend on other keys. */
static int
finish(struct walk *w, const yaml_node_t *root)
{
	struct config *cfg = w->cfg;
	char sock[PATH_MAX];
	size_t i, len;

	/* A peer's change journal: the heartbeat's sibling by default. */
	for (i = 0; i < cfg->npeers; i++) {
		struct config_peer *p = &cfg->peers[i];
		static const char hb[] = "/v1/heartbeat";

		len = strlen(p->heartbeat_url);
		if (p->switchover_url[0] == '\0' && len >= sizeof(hb) - 1 &&
		    strcmp(p->heartbeat_url + len - (sizeof(hb) - 1), hb) == 0 &&
		    len + 3 < sizeof(p->switchover_url)) {
			memcpy(p->switchover_url, p->heartbeat_url,
			    len - (sizeof(hb) - 1));
			strlcpy_(p->switchover_url + len - (sizeof(hb) - 1),
			    "/v1/switchover", sizeof(p->switchover_url) -
			    (len - (sizeof(hb) - 1)));
		}
		if (p->journal_url[0] != '\0')
			continue;
		if (len < sizeof(hb) - 1 || strcmp(p->heartbeat_url + len -
		    (sizeof(hb) - 1), hb) != 0) {
			if (cfg->repl_mode == REPL_OFF)
				continue;
			return walk_err(w, root->start_mark, "peers",
			    "peer %s: heartbeat_url does not end in %s, so its"
			    " journal URL cannot be derived: set journal_url"
			    " (or replication.mode: off)", p->name, hb);
		}
		memcpy(p->journal_url, p->heartbeat_url, len - (sizeof(hb) - 1));
		strlcpy_(p->journal_url + len - (sizeof(hb) - 1), "/v1/journal",
		    sizeof(p->journal_url) - (len - (sizeof(hb) - 1)));
	}
	/* dns: an incremental feed needs somewhere to write full loads and
	 * Knot's control socket to reload them. */
	if (cfg->dns_server[0] != '\0' && (cfg->dns_zone_dir[0] == '\0' ||
	    cfg->dns_control_socket[0] == '\0'))
		return walk_err(w, root->start_mark, "dns",
		    "dns.server is set, so dns.zone_dir and dns.control_socket"
		    " are needed too (full loads are written there and"
		    " reloaded through Knot's control socket)");
	if (cfg->dns_catalog[0] != '\0') {
		len = strlen(cfg->dns_catalog);
		if (cfg->dns_catalog[len - 1] == '.')
			cfg->dns_catalog[len - 1] = '\0';
	}
	if (cfg->control_socket[0] != '\0')
		return 0;
	if (util_path_join(sock, sizeof(sock), cfg->state_dir, "control.sock",
	    NULL) == -1 || strlen(sock) >= sizeof(cfg->control_socket) ||
	    strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return walk_err(w, root->start_mark, "agent.control_socket",
		    "the default STATE_DIR/control.sock is too long for a "
		    "unix socket path: set agent.control_socket");
	strlcpy_(cfg->control_socket, sock, sizeof(cfg->control_socket));
	return 0;
}

int
config_load_string(const char *name, const char *yaml, size_t len,
    struct config *cfg, char *err)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	const yaml_node_t *root;
	struct walk w;
	int ret = -1, have_doc = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (strlcpy_(cfg->path, name, sizeof(cfg->path)) >= sizeof(cfg->path)) {
		errf(err, "configuration file name too long: %s", name);
		return -1;
	}
	if (len > CONFIG_FILE_MAX) {
		errf(err, "%s is %zu bytes, more than the %d allowed", name,
		    len, CONFIG_FILE_MAX);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		errf(err, "%s: out of memory reading YAML", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		parse_error(&parser, name, yaml, len, err);
		goto fail;
	}
	have_doc = 1;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		errf(err, "%s:1:1: no configuration: the file holds no YAML "
		    "document", name);
		goto fail;
	}
	if (is_null(root)) {
		errf(err, "%s:%zu:%zu: no configuration: the document is empty",
		    name, root->start_mark.line + 1,
		    root->start_mark.column + 1);
		goto fail;
	}
	/* A second document, or garbage after the first, is an error. */
	if (!yaml_parser_load(&parser, &extra)) {
		parse_error(&parser, name, yaml, len, err);
		goto fail;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		errf(err, "%s:%zu:%zu: a second YAML document: the "
		    "configuration is one document", name,
		    extra.start_mark.line + 1, extra.start_mark.column + 1);
		yaml_document_delete(&extra);
		goto fail;
	}
	yaml_document_delete(&extra);

	memset(&w, 0, sizeof(w));
	w.doc = &doc;
	w.name = name;
	w.cfg = cfg;
	w.err = err;
	apply_defaults(top_fields, (char *)cfg);
	if (walk_mapping(&w, root, top_fields, (char *)cfg, "") == -1 ||
	    finish(&w, root) == -1)
		goto fail;
	ret = 0;
fail:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret == -1)
		config_free(cfg);
	return ret;
}

int
config_load(const char *path, struct config *cfg, char *err)
{
	char *buf;
	size_t len;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (util_read_file(path, CONFIG_FILE_MAX, &buf, &len, err) == -1)
		return -1;
	ret = config_load_string(path, buf, len, cfg, err);
	free(buf);
	return ret;
}

const char *
config_repl_mode_name(enum config_repl_mode m)
{
	switch (m) {
	case REPL_OFF: return "off";
	case REPL_ASYNC: return "async";
	case REPL_SYNC: return "sync";
	case REPL_STRICT: return "strict";
	}
	return "?";
}

const char *
config_path(const char *option)
{
	const char *env;

	if (option != NULL)
		return option;
	env = getenv("ENUMDR_CONFIG");
	if (env != NULL && *env != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

void
config_free(struct config *cfg)
{
	size_t i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < CONFIG_MAX_STEPS; i++) {
		for (j = 0; j < CONFIG_MAX_ARGV + 1; j++) {
			free(cfg->steps[i].argv[j]);
			cfg->steps[i].argv[j] = NULL;
		}
		cfg->steps[i].argc = 0;
	}
	cfg->nsteps = 0;
}
