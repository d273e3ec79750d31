/*
 * test_config.c — enumdr.yaml (lib/config.c): the shipped example
 * conf/enumdr.yaml parses with every value, defaults fill what is left
 * out, and every kind of error names FILE:LINE:COLUMN and the key path:
 * unknown and duplicate keys, wrong types, bad or out-of-range values,
 * missing required keys (pointing at the mapping that lacks them), too
 * many entries, over-long strings, malformed YAML, a second document, a
 * file over 1 MiB.  Runs clean under ASan/UBSan (config_free everywhere).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "util.h"
#include "tap.h"

/* The five required keys, lines 1-5; a test's own lines start at 6. */
#define BASE "room: A\n" \
	"database: /d/db\n" \
	"snapshot_dir: /d/s\n" \
	"incoming_dir: /d/i\n" \
	"state_dir: /d/st\n"

#define PEER_B "  - name: B\n" \
	"    heartbeat_url: http://b/v1/heartbeat\n" \
	"    transfer_url: sftp://b/in/\n"

static int
load(const char *yaml, struct config *cfg, char *err)
{
	err[0] = '\0';
	return config_load_string("t.yaml", yaml, strlen(yaml), cfg, err);
}

/* yaml must be refused with exactly the message want. */
/* Nothing left for config_free to release: every load step's argv NULL,
 * no steps counted. */
static int
all_released(const struct config *cfg)
{
	size_t i, j;

	if (cfg->nsteps != 0)
		return 0;
	for (i = 0; i < CONFIG_MAX_STEPS; i++) {
		if (cfg->steps[i].argc != 0)
			return 0;
		for (j = 0; j < CONFIG_MAX_ARGV + 1; j++)
			if (cfg->steps[i].argv[j] != NULL)
				return 0;
	}
	return 1;
}

static void
fails_with(const char *yaml, const char *want, const char *what)
{
	struct config cfg;
	char err[ENUMDR_ERRLEN];

	is_int(load(yaml, &cfg, err), -1, what);
	is_str(err, want, what);
	is_int((int)cfg.nsteps, 0, "nothing left allocated after the error");
	config_free(&cfg);
}

/* yaml must be refused with a message that starts with prefix. */
static void
fails_prefix(const char *yaml, const char *prefix, const char *what)
{
	struct config cfg;
	char err[ENUMDR_ERRLEN];

	is_int(load(yaml, &cfg, err), -1, what);
	ok(strncmp(err, prefix, strlen(prefix)) == 0, what);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		diag("got \"%s\", want prefix \"%s\"", err, prefix);
	config_free(&cfg);
}

static void
test_example(void)
{
	struct config cfg;
	char err[ENUMDR_ERRLEN], path[PATH_MAX];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/conf/enumdr.yaml",
	    top != NULL && top[0] != '\0' ? top : ".");
	if (!ok(config_load(path, &cfg, err) == 0, "conf/enumdr.yaml loads")) {
		diag("%s", err);
		return;
	}
	is_str(cfg.path, path, "path remembered");
	is_str(cfg.room, "A", "room");
	is_str(cfg.database, "/var/lib/enumdr/enumdr.db", "database");
	is_str(cfg.snapshot_dir, "/var/lib/enumdr/snapshot", "snapshot_dir");
	is_str(cfg.incoming_dir, "/var/lib/enumdr/incoming", "incoming_dir");
	is_str(cfg.state_dir, "/var/lib/enumdr/state", "state_dir");
	is_int(cfg.alarm_facility, LOG_LOCAL3, "alarm.facility");
	is_str(cfg.alarm_ident, "enumdr", "alarm.ident");
	is_int(cfg.connect_timeout_ms, 2000, "timeouts.connect_ms");
	is_int(cfg.transfer_timeout_ms, 30000, "timeouts.transfer_ms");
	is_str(cfg.ssh_private_key, "/etc/enumdr/id_ed25519",
	    "transfer.ssh_private_key");
	is_str(cfg.ssh_public_key, "/etc/enumdr/id_ed25519.pub",
	    "transfer.ssh_public_key");
	is_str(cfg.ssh_known_hosts, "/etc/enumdr/known_hosts",
	    "transfer.ssh_known_hosts");
	is_int(cfg.on_diverged, DIVERGED_MERGE, "sync.on_diverged");
	is_str(cfg.provisioning_listen, "127.0.0.1:8053",
	    "agent.provisioning_listen");
	is_str(cfg.peer_listen, "127.0.0.1:8054", "agent.peer_listen");
	is_str(cfg.control_socket, "/run/enumdr/control.sock",
	    "agent.control_socket");
	is_int(cfg.snapshot_interval_s, 300, "agent.snapshot_interval_s");
	is_int(cfg.header_timeout_s, 10, "agent.header_timeout_s");
	is_int(cfg.body_timeout_s, 30, "agent.body_timeout_s");
	is_int(cfg.transfer_min_rate, 65536, "agent.transfer_min_bytes_per_s");
	is_int(cfg.provisioning_per_address, 16,
	    "agent.provisioning_connections_per_address");
	is_int(cfg.peer_per_address, 8, "agent.peer_connections_per_address");
	is_int((int)cfg.repl_mode, REPL_ASYNC, "replication.mode async");
	is_int(cfg.repl_sync_timeout_ms, 2000, "replication.sync_timeout_ms");
	is_int(cfg.repl_max_lag_ms, 5000, "replication.max_lag_ms");
	is_int(cfg.repl_poll_wait_ms, 10000, "replication.poll_wait_ms");
	is_int(cfg.repl_journal_keep, 1000000, "replication.journal_keep");
	is_str(cfg.peers[0].journal_url, "http://192.0.2.2:8054/v1/journal",
	    "peers[0].journal_url derived from heartbeat_url");
	is_str(cfg.peers[0].switchover_url,
	    "http://192.0.2.2:8054/v1/switchover",
	    "peers[0].switchover_url derived from heartbeat_url");
	is_int(cfg.quorum_majority, 0, "quorum.mode off");
	is_int(cfg.quorum_stand_down_ms, 5000, "quorum.stand_down_ms");
	is_int((int)cfg.npeers, 1, "one peer");
	is_str(cfg.peers[0].name, "B", "peers[0].name");
	is_str(cfg.peers[0].heartbeat_url, "http://192.0.2.2:8054/v1/heartbeat",
	    "peers[0].heartbeat_url");
	is_str(cfg.peers[0].transfer_url,
	    "sftp://enumdr@192.0.2.2/var/lib/enumdr/incoming/",
	    "peers[0].transfer_url");
	is_str(cfg.peers[0].fetch_url, "http://192.0.2.2:8054/v1/snapshot/",
	    "peers[0].fetch_url");
	is_int((int)cfg.nsteps, 2, "two load steps");
	is_str(cfg.steps[0].name, "foreground", "load[0].name");
	is_int((int)cfg.steps[0].argc, 6, "load[0] argc");
	is_str(cfg.steps[0].argv[0], "/usr/bin/enumdr", "load[0].argv[0]");
	is_str(cfg.steps[0].argv[2], "/etc/enumdr/enumdr.yaml",
	    "load[0].argv[2]");
	is_str(cfg.steps[0].argv[3], "dns-sync", "load[0].argv[3]");
	ok(cfg.steps[0].argv[6] == NULL, "load[0].argv NULL-terminated");
	is_int(cfg.steps[0].timeout_ms, 25000, "load[0].timeout_ms");
	is_str(cfg.steps[1].name, "background", "load[1].name");
	is_str(cfg.steps[1].argv[3], "dns-wait", "load[1].argv[3]");
	is_int(cfg.steps[1].timeout_ms, 25000, "load[1].timeout_ms");
	/* dns: (issue 16) */
	is_str(cfg.dns_server, "127.0.0.1:53", "dns.server");
	is_str(cfg.dns_tsig_key, "/etc/enumdr/tsig.key", "dns.tsig_key");
	is_str(cfg.dns_control_socket, "/run/knot/knot.sock",
	    "dns.control_socket");
	is_str(cfg.dns_zone_dir, "/var/lib/enumdr/zones", "dns.zone_dir");
	is_str(cfg.dns_catalog, "catalog.enumdr", "dns.catalog");
	is_int(cfg.dns_zonemd, 1, "dns.zonemd");
	is_int(cfg.dns_timeout_ms, 5000, "dns.timeout_ms");
	config_free(&cfg);
	ok(cfg.steps[0].argv[0] == NULL && cfg.nsteps == 0,
	    "config_free releases the argv strings");
	config_free(&cfg);
	ok(all_released(&cfg), "config_free twice is safe (every argv NULL;"
	    " a double free would stop the sanitizer run)");
}

static void
test_defaults(void)
{
	struct config cfg;
	char err[ENUMDR_ERRLEN];

	if (!ok(load(BASE, &cfg, err) == 0, "the five required keys suffice"))
		diag("%s", err);
	is_str(cfg.path, "t.yaml", "name used as path");
	is_int(cfg.alarm_facility, LOG_LOCAL3, "default facility local3");
	is_str(cfg.alarm_ident, "enumdr", "default ident enumdr");
	is_int(cfg.connect_timeout_ms, 2000, "default connect_ms");
	is_int(cfg.transfer_timeout_ms, 30000, "default transfer_ms");
	is_str(cfg.ssh_private_key, "", "no ssh key by default");
	is_int(cfg.on_diverged, DIVERGED_MERGE, "default on_diverged merge");
	is_str(cfg.provisioning_listen, "127.0.0.1:8053",
	    "default provisioning_listen");
	is_str(cfg.peer_listen, "127.0.0.1:8054", "default peer_listen");
	is_str(cfg.control_socket, "/d/st/control.sock",
	    "default control_socket in state_dir");
	is_int(cfg.snapshot_interval_s, 300, "default snapshot_interval_s");
	is_int(cfg.header_timeout_s, 10, "default header_timeout_s");
	is_int(cfg.body_timeout_s, 30, "default body_timeout_s");
	is_int(cfg.transfer_min_rate, 65536,
	    "default transfer_min_bytes_per_s");
	is_int(cfg.provisioning_per_address, 16,
	    "default provisioning_connections_per_address");
	is_int(cfg.peer_per_address, 8,
	    "default peer_connections_per_address");
	is_int((int)cfg.npeers, 0, "no peers");
	is_int((int)cfg.nsteps, 0, "no steps");
	config_free(&cfg);

	if (!ok(load(BASE "alarm:\n  facility: daemon\n  ident: enumdr-B\n"
	    "timeouts: {connect_ms: \"1500\", transfer_ms: 3600000}\n"
	    "sync:\n  on_diverged: merge-zones\n"
	    "agent:\n  provisioning_listen: \"[2001:db8::1]:53\"\n"
	    "  snapshot_interval_s: 0\n"
	    "  header_timeout_s: 300\n  body_timeout_s: 1\n"
	    "  transfer_min_bytes_per_s: 1073741824\n"
	    "  provisioning_connections_per_address: 1\n"
	    "  peer_connections_per_address: 1024\n"
	    "peers:\n" PEER_B
	    "load:\n  - name: x\n    argv: [/bin/true]\n", &cfg, err) == 0,
	    "other values"))
		diag("%s", err);
	is_int(cfg.alarm_facility, LOG_DAEMON, "facility daemon");
	is_str(cfg.alarm_ident, "enumdr-B", "ident");
	is_int(cfg.connect_timeout_ms, 1500, "a quoted integer");
	is_int(cfg.transfer_timeout_ms, 3600000, "largest transfer_ms");
	is_int(cfg.on_diverged, DIVERGED_MERGE_ZONES, "merge-zones");
	is_str(cfg.provisioning_listen, "[2001:db8::1]:53", "IPv6 listen");
	is_int(cfg.snapshot_interval_s, 0, "snapshots off");
	is_int(cfg.header_timeout_s, 300, "largest header_timeout_s");
	is_int(cfg.body_timeout_s, 1, "smallest body_timeout_s");
	is_int(cfg.transfer_min_rate, 1073741824,
	    "largest transfer_min_bytes_per_s");
	is_int(cfg.provisioning_per_address, 1,
	    "smallest provisioning_connections_per_address");
	is_int(cfg.peer_per_address, 1024,
	    "largest peer_connections_per_address");
	is_str(cfg.peers[0].fetch_url, "", "fetch_url optional");
	is_int(cfg.steps[0].timeout_ms, 30000, "default step timeout_ms");
	is_int((int)cfg.steps[0].argc, 1, "argc 1");
	ok(cfg.steps[0].argv[1] == NULL, "argv NULL-terminated");
	config_free(&cfg);

	if (!ok(load(BASE "alarm:\npeers:\nload: []\ntransfer:\n"
	    "  ssh_private_key:\n  ssh_known_hosts: ~\n", &cfg, err) == 0,
	    "empty values: empty mapping, list, optional path"))
		diag("%s", err);
	is_str(cfg.alarm_ident, "enumdr", "defaults under an empty mapping");
	config_free(&cfg);
}

static void
test_errors(void)
{
	struct config cfg;
	char yaml[8192], big[80], err[ENUMDR_ERRLEN];
	size_t i;

	fails_with(BASE "colour: blue\n", "t.yaml:6:1: colour: unknown key",
	    "unknown key");
	fails_with(BASE "alarm:\n  facilty: local3\n",
	    "t.yaml:7:3: alarm.facilty: unknown key", "unknown nested key");
	fails_with(BASE "room: B\n",
	    "t.yaml:6:1: room: duplicate key (first at line 1)",
	    "duplicate key");
	fails_with(BASE "timeouts:\n  connect_ms: 1\n  connect_ms: 2\n",
	    "t.yaml:8:3: timeouts.connect_ms: duplicate key (first at line 7)",
	    "duplicate nested key");

	/* Wrong types. */
	fails_with("room: {name: A}\n",
	    "t.yaml:1:7: room: expected a string, found a mapping",
	    "mapping where a string belongs");
	fails_with(BASE "alarm: [local3]\n",
	    "t.yaml:6:8: alarm: expected a mapping, found a list",
	    "list where a mapping belongs");
	fails_with(BASE "alarm: local3\n",
	    "t.yaml:6:8: alarm: expected a mapping, found a scalar",
	    "scalar where a mapping belongs");
	fails_with(BASE "peers: B\n",
	    "t.yaml:6:8: peers: expected a list of mappings, found a scalar",
	    "scalar where a list belongs");
	fails_with(BASE "peers:\n  - B\n",
	    "t.yaml:7:5: peers[0]: expected a mapping, found a scalar",
	    "list entry not a mapping");
	fails_with(BASE "timeouts:\n  connect_ms: [1]\n",
	    "t.yaml:7:15: timeouts.connect_ms: expected an integer, found a "
	    "list", "list where an integer belongs");
	fails_with("[room]: A\n",
	    "t.yaml:1:1: a key must be a scalar, found a list",
	    "key not a scalar");
	fails_with("- room: A\n", "t.yaml:1:1: expected a mapping, found a list",
	    "top level not a mapping");

	/* Integers. */
	fails_with(BASE "timeouts:\n  connect_ms: 0\n",
	    "t.yaml:7:15: timeouts.connect_ms: 0 is out of range 1..600000",
	    "integer below range");
	fails_with(BASE "timeouts:\n  transfer_ms: 3600001\n",
	    "t.yaml:7:16: timeouts.transfer_ms: 3600001 is out of range "
	    "1..3600000", "integer above range");
	fails_with(BASE "timeouts:\n  transfer_ms: 30s\n",
	    "t.yaml:7:16: timeouts.transfer_ms: \"30s\" is not an integer",
	    "not an integer");
	fails_with(BASE "agent:\n  snapshot_interval_s: -1\n",
	    "t.yaml:7:24: agent.snapshot_interval_s: -1 is out of range "
	    "0..86400", "negative integer");
	fails_with(BASE "agent:\n  snapshot_interval_s: 99999999999999999999\n",
	    "t.yaml:7:24: agent.snapshot_interval_s: \"99999999999999999999\" "
	    "is not an integer", "huge integer");
	fails_with(BASE "agent:\n  header_timeout_s: 0\n",
	    "t.yaml:7:21: agent.header_timeout_s: 0 is out of range 1..300",
	    "header_timeout_s 0");
	fails_with(BASE "agent:\n  body_timeout_s: 3601\n",
	    "t.yaml:7:19: agent.body_timeout_s: 3601 is out of range 1..3600",
	    "body_timeout_s above range");
	fails_with(BASE "agent:\n  transfer_min_bytes_per_s: 64KiB\n",
	    "t.yaml:7:29: agent.transfer_min_bytes_per_s: \"64KiB\" is not an"
	    " integer", "transfer_min_bytes_per_s with a unit");
	fails_with(BASE "agent:\n  transfer_min_bytes_per_s: 0\n",
	    "t.yaml:7:29: agent.transfer_min_bytes_per_s: 0 is out of range "
	    "1..1073741824", "transfer_min_bytes_per_s 0");
	fails_with(BASE "agent:\n  peer_connections_per_address: 0\n",
	    "t.yaml:7:33: agent.peer_connections_per_address: 0 is out of "
	    "range 1..1024", "peer_connections_per_address 0");
	fails_with(BASE "agent:\n  provisioning_connections_per_address: [8]\n",
	    "t.yaml:7:41: agent.provisioning_connections_per_address: expected"
	    " an integer, found a list", "per-address limit as a list");
	fails_with(BASE "agent:\n  header_timeout: 10\n",
	    "t.yaml:7:3: agent.header_timeout: unknown key",
	    "header_timeout without its unit");
	fails_with(BASE "timeouts:\n  connect_ms:\n",
	    "t.yaml:7:14: timeouts.connect_ms: \"\" is not an integer",
	    "empty integer");

	/* Missing required keys point at the mapping that lacks them. */
	fails_with("room: A\nsnapshot_dir: /d/s\nincoming_dir: /d/i\n"
	    "state_dir: /d/st\n",
	    "t.yaml:1:1: database: required key missing from this mapping",
	    "missing database");
	fails_with(BASE "peers:\n" PEER_B "  - name: C\n"
	    "    transfer_url: sftp://c/in/\n",
	    "t.yaml:10:5: peers[1].heartbeat_url: required key missing from "
	    "this mapping", "missing key in peers[1]");
	fails_with(BASE "load:\n  - name: x\n    timeout_ms: 5\n",
	    "t.yaml:7:5: load[0].argv: required key missing from this mapping",
	    "missing argv");
	fails_with("", "t.yaml:1:1: no configuration: the file holds no YAML "
	    "document", "empty file");
	fails_with("# only a comment\n", "t.yaml:1:1: no configuration: the "
	    "file holds no YAML document", "only a comment");
	fails_with("---\n", "t.yaml:2:1: no configuration: the document is "
	    "empty", "empty document");
	fails_with("~\n", "t.yaml:1:1: no configuration: the document is "
	    "empty", "null document");

	/* Strings. */
	memset(big, 'r', 64);
	big[64] = '\0';
	snprintf(yaml, sizeof(yaml), "room: %s\n", big);
	fails_with(yaml, "t.yaml:1:7: room: value is 64 bytes long, more "
	    "than the 63 allowed", "room too long: an error, not cut short");
	fails_with("room: A.1\n", "t.yaml:1:7: room: \"A.1\" is not a name: "
	    "want [A-Za-z0-9_-]{1,63}", "room with a dot");
	fails_with("room: \"\"\n", "t.yaml:1:7: room: \"\" is not a name: "
	    "want [A-Za-z0-9_-]{1,63}", "empty room");
	fails_with("room: \"A\\0B\"\n",
	    "t.yaml:1:7: room: value contains a NUL byte", "NUL in a value");
	fails_with("room: A\ndatabase: d/db\n",
	    "t.yaml:2:11: database: \"d/db\" is not an absolute path",
	    "relative database path");
	fails_with(BASE "transfer:\n  ssh_known_hosts: known_hosts\n",
	    "t.yaml:7:20: transfer.ssh_known_hosts: \"known_hosts\" is not an "
	    "absolute path", "relative optional path");
	i = (size_t)snprintf(yaml, sizeof(yaml), "room: A\ndatabase: /");
	memset(yaml + i, 'd', PATH_MAX);
	strcpy(yaml + i + PATH_MAX - 1, "\n");
	fails_with(yaml, "t.yaml:2:11: database: value is 4096 bytes long, "
	    "more than the 4095 allowed", "path longer than PATH_MAX");
	fails_with(BASE "agent:\n  peer_listen: 127.0.0.1\n",
	    "t.yaml:7:16: agent.peer_listen: \"127.0.0.1\" is not ADDRESS:PORT "
	    "(port 1..65535)", "listen without a port");
	fails_with(BASE "agent:\n  peer_listen: \"::1:80\"\n",
	    "t.yaml:7:16: agent.peer_listen: \"::1:80\" is not ADDRESS:PORT "
	    "(port 1..65535)", "IPv6 listen without brackets");
	fails_with(BASE "agent:\n  provisioning_listen: a:65536\n",
	    "t.yaml:7:24: agent.provisioning_listen: \"a:65536\" is not "
	    "ADDRESS:PORT (port 1..65535)", "port out of range");
	fails_with(BASE "alarm:\n  facility: local9\n",
	    "t.yaml:7:13: alarm.facility: \"local9\" is not a syslog facility "
	    "(daemon, user, local0..local7)", "unknown facility");
	if (!ok(load(BASE "replication:\n  mode: strict\n  sync_timeout_ms: 50\n"
	    "peers:\n  - name: B\n    heartbeat_url: http://b/hb\n"
	    "    journal_url: http://b/j\n    transfer_url: ftp://b/\n", &cfg,
	    err) == 0, "replication: strict, an explicit journal_url"))
		diag("%s", err);
	is_int((int)cfg.repl_mode, REPL_STRICT, "replication.mode strict");
	is_int(cfg.repl_sync_timeout_ms, 50, "replication.sync_timeout_ms 50");
	is_str(cfg.peers[0].journal_url, "http://b/j", "journal_url as given");
	config_free(&cfg);
	fails_with(BASE "dns:\n  server: 127.0.0.1:53\n",
	    "t.yaml:1:1: dns: dns.server is set, so dns.zone_dir and"
	    " dns.control_socket are needed too (full loads are written there"
	    " and reloaded through Knot's control socket)",
	    "dns.server without zone_dir and control_socket");
	fails_with(BASE "dns:\n  catalog: cat..x\n",
	    "t.yaml:7:12: dns.catalog: \"cat..x\" is not a domain name"
	    " (labels of [A-Za-z0-9_-], at most 253 bytes)",
	    "dns.catalog not a domain name");
	fails_with(BASE "dns:\n  zonemd: maybe\n",
	    "t.yaml:7:11: dns.zonemd: \"maybe\" is not true or false",
	    "dns.zonemd not a boolean");
	if (!ok(load(BASE "dns:\n  server: 127.0.0.1:5353\n  control_socket:"
	    " /k.sock\n  zone_dir: /z\n  catalog: catalog.enumdr.\n  zonemd:"
	    " false\n", &cfg, err) == 0, "dns: a full section"))
		diag("%s", err);
	is_str(cfg.dns_catalog, "catalog.enumdr", "dns.catalog without its final"
	    " dot");
	is_int(cfg.dns_zonemd, 0, "dns.zonemd false");
	is_int(cfg.dns_timeout_ms, 5000, "dns.timeout_ms default");
	config_free(&cfg);
	fails_with(BASE "quorum:\n  mode: most\n",
	    "t.yaml:7:9: quorum.mode: \"most\" is not a quorum mode (off,"
	    " majority)", "unknown quorum mode");
	fails_with(BASE "replication:\n  mode: sometimes\n",
	    "t.yaml:7:9: replication.mode: \"sometimes\" is not a replication"
	    " mode (off, async, sync, strict)", "unknown replication mode");
	fails_with(BASE "peers:\n  - name: B\n    heartbeat_url: http://b/hb\n"
	    "    transfer_url: ftp://b/\n", "t.yaml:1:1: peers: peer B:"
	    " heartbeat_url does not end in /v1/heartbeat, so its journal URL"
	    " cannot be derived: set journal_url (or replication.mode: off)",
	    "journal URL not derivable");
	fails_with(BASE "sync:\n  on_diverged: union\n",
	    "t.yaml:7:16: sync.on_diverged: \"union\" is not a policy (merge, "
	    "refuse, merge-zones)", "unknown policy");
	memset(big, 's', 70);
	big[70] = '\0';
	snprintf(yaml, sizeof(yaml), BASE "agent:\n  control_socket: /%s/%s\n",
	    big, big);
	fails_with(yaml, "t.yaml:7:19: agent.control_socket: \"/" "sss"
	    "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "ss/ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "ssssssss\" is too long for a unix socket path",
	    "control socket too long for sun_path");
	snprintf(yaml, sizeof(yaml), "room: A\ndatabase: /d/db\n"
	    "snapshot_dir: /d/s\nincoming_dir: /d/i\nstate_dir: /%s/%s\n", big,
	    big);
	fails_with(yaml, "t.yaml:1:1: agent.control_socket: the default "
	    "STATE_DIR/control.sock is too long for a unix socket path: set "
	    "agent.control_socket", "default control socket too long");

	/* Peers. */
	fails_with(BASE "peers:\n  - name: B\n    heartbeat_url: b/hb\n"
	    "    transfer_url: sftp://b/in/\n",
	    "t.yaml:8:20: peers[0].heartbeat_url: \"b/hb\" is not a URL "
	    "(scheme://...)", "heartbeat_url not a URL");
	fails_with(BASE "peers:\n  - name: B\n    heartbeat_url: http://b/hb\n"
	    "    transfer_url: sftp://b/in\n",
	    "t.yaml:9:19: peers[0].transfer_url: \"sftp://b/in\" is not a "
	    "directory URL (scheme://.../ ending in '/')",
	    "transfer_url without a trailing slash");
	fails_with(BASE "peers:\n  - name: A\n    heartbeat_url: http://a/hb\n"
	    "    transfer_url: sftp://a/in/\n",
	    "t.yaml:7:11: peers[0].name: \"A\" is this room's own name",
	    "peer named like the room");
	fails_with("peers:\n  - name: A\n    heartbeat_url: http://a/hb\n"
	    "    transfer_url: sftp://a/in/\n"
	    "room: A\ndatabase: /d/db\nsnapshot_dir: /d/s\n"
	    "incoming_dir: /d/i\nstate_dir: /d/st\n",
	    "t.yaml:2:11: peers[0].name: \"A\" is this room's own name",
	    "peer named like the room, room: written after peers:");
	fails_with(BASE "peers:\n" PEER_B PEER_B,
	    "t.yaml:10:11: peers[1].name: \"B\" is already used by entry [0]",
	    "duplicate peer name");
	i = (size_t)snprintf(yaml, sizeof(yaml), "%s", BASE "peers:\n");
	for (int p = 0; p < 9; p++)
		i += (size_t)snprintf(yaml + i, sizeof(yaml) - i,
		    "  - {name: P%d, heartbeat_url: \"http://p/v1/heartbeat\", "
		    "transfer_url: \"ftp://p/\"}\n", p);
	fails_with(yaml, "t.yaml:15:5: peers[8]: more than 8 entries",
	    "too many peers");

	/* Load steps. */
	fails_with(BASE "load:\n  - name: a\n    argv: [/bin/true]\n"
	    "  - name: b\n    argv: [true, x]\n",
	    "t.yaml:10:12: load[1].argv[0]: \"true\" is not an absolute path "
	    "(no shell, no PATH search)", "relative argv[0], after a good step");
	fails_with(BASE "load:\n  - name: a\n    argv: []\n",
	    "t.yaml:8:11: load[0].argv: empty: the first entry is the program "
	    "to run", "empty argv");
	fails_with(BASE "load:\n  - name: a\n    argv: /bin/true\n",
	    "t.yaml:8:11: load[0].argv: expected a list of strings, found a "
	    "scalar", "argv not a list");
	fails_with(BASE "load:\n  - name: a\n    argv: [/bin/echo, [x]]\n",
	    "t.yaml:8:23: load[0].argv[1]: expected a string, found a list",
	    "argv entry not a string");
	i = (size_t)snprintf(yaml, sizeof(yaml), "%s",
	    BASE "load:\n  - name: a\n    argv: [/bin/echo");
	for (int p = 0; p < 32; p++)
		i += (size_t)snprintf(yaml + i, sizeof(yaml) - i, ", a%d", p);
	snprintf(yaml + i, sizeof(yaml) - i, "]\n");
	fails_prefix(yaml, "t.yaml:8:", "33 arguments refused");
	fails_with(BASE "load:\n  - name: a\n    argv: [/bin/true]\n"
	    "  - name: a\n    argv: [/bin/false]\n",
	    "t.yaml:9:11: load[1].name: \"a\" is already used by entry [0]",
	    "duplicate step name");
	fails_with(BASE "load:\n  - name: a\n    argv: [/bin/true]\n"
	    "    timeout_ms: 0\n",
	    "t.yaml:9:17: load[0].timeout_ms: 0 is out of range 1..3600000",
	    "step timeout out of range");

	/* Malformed YAML: libyaml's problem and position. */
	fails_with("room: \"A\ndatabase: /d/db\n",
	    "t.yaml:3:1: malformed YAML: found unexpected end of stream "
	    "(while scanning a quoted scalar at line 1, column 7)",
	    "unclosed quote");
	fails_with("room: A\n  database: /d/db\n",
	    "t.yaml:2:11: malformed YAML: mapping values are not allowed in "
	    "this context", "bad indentation");
	fails_prefix("room: A\n\tdatabase: /d/db\n", "t.yaml:2:1: malformed YAML",
	    "tab indentation");
	fails_with("room: A\xff\n",
	    "t.yaml:1:8: malformed YAML: invalid leading UTF-8 octet (#FF)",
	    "invalid UTF-8");
	fails_with("room: *nowhere\n",
	    "t.yaml:1:7: malformed YAML: found undefined alias",
	    "undefined alias");
	fails_with(BASE "---\nroom: B\n",
	    "t.yaml:6:1: a second YAML document: the configuration is one "
	    "document", "two documents");
	fails_prefix(BASE "...\n: : :\n", "t.yaml:7:", "garbage after the document");
}

static void
test_files(void)
{
	struct config cfg;
	char err[ENUMDR_ERRLEN], dir[] = "/tmp/test_config.XXXXXX";
	char path[PATH_MAX], *buf;
	size_t max = 1024 * 1024;

	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	ok(all_released(&cfg), "config_free on a zeroed config leaves it"
	    " released");

	is_int(config_load("/nonexistent/enumdr.yaml", &cfg, err), -1,
	    "missing file");
	like(err, "/nonexistent/enumdr.yaml: No such file or directory",
	    "error names the file and errno");
	config_free(&cfg);

	if (mkdtemp(dir) == NULL) {
		diag("mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	if ((buf = malloc(max + 1)) == NULL)
		return;
	memset(buf, '#', max + 1);
	memcpy(buf, BASE, strlen(BASE));
	buf[max - 1] = '\n';
	ok(util_write_file_atomic(path, buf, max, 0600, err) == 0,
	    "write a 1 MiB file");
	is_int(config_load(path, &cfg, err), 0, "exactly 1 MiB is accepted");
	config_free(&cfg);
	ok(util_write_file_atomic(path, buf, max + 1, 0600, err) == 0,
	    "write a 1 MiB + 1 byte file");
	is_int(config_load(path, &cfg, err), -1, "over 1 MiB is refused");
	like(err, "is 1048577 bytes, more than the 1048576 allowed",
	    "and says how large it is");
	config_free(&cfg);
	is_int(config_load_string("s.yaml", buf, max + 1, &cfg, err), -1,
	    "over 1 MiB refused from a string too");
	is_str(err, "s.yaml is 1048577 bytes, more than the 1048576 allowed",
	    "string size message");
	config_free(&cfg);
	free(buf);

	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	util_write_file_atomic(path, BASE "peers: 1\n", strlen(BASE) + 9, 0600,
	    err);
	is_int(config_load(path, &cfg, err), -1, "error from a file");
	ok(strncmp(err, path, strlen(path)) == 0 &&
	    strcmp(err + strlen(path), ":6:8: peers: expected a list of "
	    "mappings, found a scalar") == 0, "file error names FILE:6:8");
	config_free(&cfg);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_example();
	test_defaults();
	test_errors();
	test_files();
	return tap_done();
}
