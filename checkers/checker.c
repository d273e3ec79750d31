/*
 * checker.c — what enumdr-check-service and enumdr-check-peer share: the
 * configuration path, option numbers, the own agent's heartbeat URL and a
 * bounded heartbeat GET (S0.3, S0.4, S4.1).  See checker.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checker.h"
#include "exitcodes.h"
#include "log.h"
#include "transfer.h"
#include "util.h"

const char *
checker_config_path(const char *option)
{
	const char *env;

	if (option != NULL)
		return option;
	env = getenv("ENUMDR_CONFIG");
	if (env != NULL && *env != '\0')
		return env;
	return CHECKER_DEFAULT_CONFIG;
}

int
checker_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;	/* no sign, no blanks, no empty string */
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
checker_agent_url(const char *listen, char *url, size_t urllen, char *err)
{
	const char *colon, *host;
	char addr[128];
	size_t alen;
	int n;

	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || colon[1] == '\0') {
		errf(err, "agent.peer_listen \"%s\" is not ADDRESS:PORT",
		    listen);
		return -1;
	}
	alen = (size_t)(colon - listen);
	if (alen >= sizeof(addr)) {
		errf(err, "agent.peer_listen \"%s\": address too long", listen);
		return -1;
	}
	memcpy(addr, listen, alen);
	addr[alen] = '\0';
	/* The agent listens on every address: ask it on loopback. */
	if (strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "*") == 0)
		host = "127.0.0.1";
	else if (strcmp(addr, "[::]") == 0)
		host = "[::1]";
	else
		host = addr;
	n = snprintf(url, urllen, "http://%s:%s%s", host, colon + 1,
	    CHECKER_HEARTBEAT_PATH);
	if (n < 0 || (size_t)n >= urllen) {
		errf(err, "agent.peer_listen \"%s\": URL too long", listen);
		return -1;
	}
	return 0;
}

/* Copy the string member key of obj into out; absent is fine unless
 * required.  -1 with err when it is not a string or does not fit. */
static int
copy_member(json_t *obj, const char *key, int required, char *out,
    size_t outlen, char *err)
{
	json_t *v;
	const char *s;

	out[0] = '\0';
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		errf(err, "no \"%s\" member", key);
		return -1;
	}
	if (!json_is_string(v)) {
		errf(err, "\"%s\" is not a string", key);
		return -1;
	}
	s = json_string_value(v);
	if (strlen(s) >= outlen) {
		errf(err, "\"%s\" is longer than %zu bytes", key, outlen - 1);
		return -1;
	}
	strlcpy_(out, s, outlen);
	/* It came from another process and goes into a one-line message. */
	for (; *out != '\0'; out++)
		if ((unsigned char)*out < 0x20 || *out == 0x7f)
			*out = '?';
	return 0;
}

int
checker_heartbeat_parse(const char *body, size_t len,
    struct checker_heartbeat *hb, char *err)
{
	json_error_t jerr;
	json_t *root;
	int ret = -1;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		errf(err, "not JSON: %s at line %d column %d", jerr.text,
		    jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		errf(err, "not a JSON object");
		goto fail;
	}
	if (copy_member(root, "room", 1, hb->room, sizeof(hb->room),
	    err) == -1 ||
	    copy_member(root, "role", 1, hb->role, sizeof(hb->role),
	    err) == -1 ||
	    copy_member(root, "listener", 0, hb->listener,
	    sizeof(hb->listener), err) == -1 ||
	    copy_member(root, "error", 0, hb->reason, sizeof(hb->reason),
	    err) == -1 ||
	    copy_member(root, "storage", 0, hb->storage, sizeof(hb->storage),
	    err) == -1 ||
	    copy_member(root, "storage_error", 0, hb->storage_error,
	    sizeof(hb->storage_error), err) == -1)
		goto fail;
	if (hb->reason[0] == '\0' && copy_member(root, "reason", 0,
	    hb->reason, sizeof(hb->reason), err) == -1)
		goto fail;
	ret = 0;
fail:
	json_decref(root);
	return ret;
}

int
checker_heartbeat_get(const char *url, long connect_ms, long timeout_ms,
    struct checker_heartbeat *hb, char *err)
{
	struct transfer_opts opts;
	char perr[ENUMDR_ERRLEN], shown[CONFIG_URL_MAX];
	char *body = NULL;
	size_t len = 0;
	long status = 0;
	int ret = -1;

	memset(hb, 0, sizeof(*hb));
	memset(&opts, 0, sizeof(opts));
	if (timeout_ms < 1)
		timeout_ms = 1;
	opts.total_timeout_ms = timeout_ms;
	opts.connect_timeout_ms = connect_ms > 0 && connect_ms < timeout_ms ?
	    connect_ms : timeout_ms;
	if (transfer_http_get(url, &opts, CHECKER_HEARTBEAT_MAX, &body, &len,
	    &status, err) == -1)
		goto fail;	/* err: "GET URL: reason" */
	hb->status = status;
	if (checker_heartbeat_parse(body, len, hb, perr) == -1) {
		transfer_url_show(url, shown, sizeof(shown));
		if (status != 200)
			errf(err, "GET %s: HTTP status %ld", shown, status);
		else
			errf(err, "GET %s: not a heartbeat: %s", shown, perr);
		goto fail;
	}
	ret = 0;
fail:
	free(body);
	return ret;
}

int
checker_usage_error(const char *prog, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s (try '%s --help')", msg, prog);
	return EXIT_USAGE;
}
