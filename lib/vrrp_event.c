/*
 * vrrp_event.c — keepalived's notify FIFO lines and notify arguments
 * (S0.6, S0.7): one strict parser each.  See vrrp_event.h.
 */
#include <string.h>

#include "util.h"
#include "vrrp_event.h"

const char *
vrrp_state_name(enum vrrp_state s)
{
	switch (s) {
	case VRRP_MASTER: return "MASTER";
	case VRRP_BACKUP: return "BACKUP";
	case VRRP_FAULT: return "FAULT";
	case VRRP_STOP: return "STOP";
	default: return "NONE";
	}
}

enum vrrp_state
vrrp_state_from(const char *s)
{
	if (strcmp(s, "MASTER") == 0) return VRRP_MASTER;
	if (strcmp(s, "BACKUP") == 0) return VRRP_BACKUP;
	if (strcmp(s, "FAULT") == 0) return VRRP_FAULT;
	if (strcmp(s, "STOP") == 0 || strcmp(s, "DELETED") == 0)
		return VRRP_STOP;
	return VRRP_NONE;
}

/* A PRIORITY: 1-3 digits, 0-255. */
static int
priority_parse(const char *s, size_t len, int *out)
{
	size_t i;
	int v = 0;

	if (len == 0 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 255)
		return -1;
	*out = v;
	return 0;
}

/* A NAME: 1 .. VRRP_NAME_MAX-1 bytes of printable ASCII, no '"'. */
static int
name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= VRRP_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e ||
		    s[i] == '"')
			return 0;
	return 1;
}

int
vrrp_event_parse_fifo(const char *line, size_t len, struct vrrp_event *ev,
    char *err)
{
	const char *p = line, *end = line + len, *q;
	char state[32];
	size_t n, i;

	memset(ev, 0, sizeof(*ev));
	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e) {
			errf(err, "byte %zu is not printable ASCII", i + 1);
			return VRRP_MALFORMED;
		}
	}
	/* TYPE */
	q = memchr(p, ' ', (size_t)(end - p));
	if (q == NULL || q == p || (size_t)(q - p) >= sizeof(ev->type)) {
		errf(err, "expected TYPE \"NAME\" STATE [PRIORITY]");
		return VRRP_MALFORMED;
	}
	memcpy(ev->type, p, (size_t)(q - p));
	p = q + 1;
	/* NAME, quoted or bare */
	if (p < end && *p == '"') {
		q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (q == NULL) {
			errf(err, "NAME has no closing '\"'");
			return VRRP_MALFORMED;
		}
		n = (size_t)(q - p - 1);
		if (n >= sizeof(ev->name)) {
			errf(err, "NAME longer than %d bytes", VRRP_NAME_MAX - 1);
			return VRRP_MALFORMED;
		}
		memcpy(ev->name, p + 1, n);
		p = q + 1;
	} else {
		q = memchr(p, ' ', (size_t)(end - p));
		if (q == NULL || q == p || (size_t)(q - p) >= sizeof(ev->name)) {
			errf(err, "expected TYPE NAME STATE [PRIORITY]");
			return VRRP_MALFORMED;
		}
		memcpy(ev->name, p, (size_t)(q - p));
		p = q;
	}
	if (p >= end || *p != ' ') {
		errf(err, "expected a space after NAME");
		return VRRP_MALFORMED;
	}
	while (p < end && *p == ' ')
		p++;
	/* STATE */
	q = memchr(p, ' ', (size_t)(end - p));
	n = (size_t)((q != NULL ? q : end) - p);
	if (n == 0 || n >= sizeof(state)) {
		errf(err, "expected STATE after NAME");
		return VRRP_MALFORMED;
	}
	memcpy(state, p, n);
	state[n] = '\0';
	p += n;
	/* keepalived's other lines (VS, RS ...) are not ours to judge */
	if (strcmp(ev->type, "INSTANCE") != 0 && strcmp(ev->type, "GROUP") != 0)
		return VRRP_IGNORED;
	if (!name_valid(ev->name, strlen(ev->name))) {
		errf(err, "NAME \"%.40s\" is not 1 to %d printable characters",
		    ev->name, VRRP_NAME_MAX - 1);
		return VRRP_MALFORMED;
	}
	ev->state = vrrp_state_from(state);
	if (ev->state == VRRP_NONE)
		return VRRP_IGNORED;    /* MASTER_RX_LOWER_PRI, *_PRIORITY ... */
	/* [PRIORITY], and nothing after it */
	while (p < end && *p == ' ')
		p++;
	if (p < end) {
		q = memchr(p, ' ', (size_t)(end - p));
		n = (size_t)((q != NULL ? q : end) - p);
		if (priority_parse(p, n, &ev->priority) == -1) {
			errf(err, "PRIORITY \"%.8s\" is not 0 to 255", p);
			return VRRP_MALFORMED;
		}
		for (p += n; p < end; p++) {
			if (*p != ' ') {
				errf(err, "unexpected text after PRIORITY");
				return VRRP_MALFORMED;
			}
		}
	}
	return VRRP_EVENT;
}

int
vrrp_event_parse_args(char *const *argv, int argc, struct vrrp_event *ev,
    char *err)
{
	memset(ev, 0, sizeof(*ev));
	if (argc < 3 || argc > 4) {
		errf(err, "expected TYPE NAME STATE [PRIORITY]");
		return -1;
	}
	if (strcmp(argv[0], "INSTANCE") != 0 && strcmp(argv[0], "GROUP") != 0) {
		errf(err, "TYPE must be INSTANCE or GROUP, not \"%.32s\"",
		    argv[0]);
		return -1;
	}
	if (!name_valid(argv[1], strlen(argv[1]))) {
		errf(err, "NAME must be 1 to %d printable characters",
		    VRRP_NAME_MAX - 1);
		return -1;
	}
	if (vrrp_state_from(argv[2]) == VRRP_NONE) {
		errf(err, "STATE must be MASTER, BACKUP, FAULT or STOP, not"
		    " \"%.32s\"", argv[2]);
		return -1;
	}
	if (argc == 4 && priority_parse(argv[3], strlen(argv[3]),
	    &ev->priority) == -1) {
		ev->priority = 0;
		errf(err, "PRIORITY must be 0 to 255, not \"%.32s\"", argv[3]);
		return -1;
	}
	/* only a whole event is filled in: on any error ev stays NONE */
	ev->state = vrrp_state_from(argv[2]);
	strlcpy_(ev->type, argv[0], sizeof(ev->type));
	strlcpy_(ev->name, argv[1], sizeof(ev->name));
	return 0;
}
