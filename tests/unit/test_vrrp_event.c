/*
 * test_vrrp_event.c — keepalived's notify FIFO lines and notify arguments
 * (lib/vrrp_event.c), enumdr-notify's input (S0.6, S0.7): well-formed
 * events, keepalived's other lines told apart, and malformed, truncated,
 * oversized and binary input refused with a reason.
 */
#include <string.h>

#include "tap.h"
#include "util.h"
#include "vrrp_event.h"

static int
fifo(const char *line, struct vrrp_event *ev, char *err)
{
	return vrrp_event_parse_fifo(line, strlen(line), ev, err);
}

int
main(void)
{
	static const char *const ignored[] = {
		"INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100",
		"INSTANCE \"VI_1\" MASTER_PRIORITY 50",
		"VS [192.168.201.15]:tcp:80 UP",
		"RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN",
		"GROUP \"G1\" FROBNICATE 1",
	};
	static const struct { const char *line, *why; } bad[] = {
		{ "hello", "expected TYPE" },
		{ "", "expected TYPE" },
		{ "INSTANCE \"VI_1 BACKUP 90", "closing" },
		{ "INSTANCE \"VI_1\"BACKUP 90", "space after NAME" },
		{ "INSTANCE \"VI_1\"", "space after NAME" },
		{ "INSTANCE \"VI_1\" ", "STATE" },
		{ "INSTANCE \"VI_1\" MASTER 256", "PRIORITY" },
		{ "INSTANCE \"VI_1\" MASTER -1", "PRIORITY" },
		{ "INSTANCE \"VI_1\" MASTER 99999999999999999999", "PRIORITY" },
		{ "INSTANCE \"VI_1\" MASTER 100 extra", "after PRIORITY" },
		{ "INSTANCE \"VI_1\" MASTER 1x", "PRIORITY" },
		{ "INSTANCE \"\" MASTER 100", "NAME" },
		{ "INSTANCE \"VI\t1\" MASTER 100", "printable" },
		{ "INSTANCE \"VI_1\" MASTER 100\r", "printable" },
		{ "VERYLONGTYPENAME123 \"x\" MASTER", "expected TYPE" },
	};
	struct vrrp_event ev;
	char err[ENUMDR_ERRLEN], line[512], name[200];
	char buf[4][32], *argv[5] = { buf[0], buf[1], buf[2], buf[3], NULL };
	size_t i;

	is_int(fifo("INSTANCE \"VI_1\" MASTER 100", &ev, err), VRRP_EVENT,
	    "INSTANCE \"VI_1\" MASTER 100");
	is_str(ev.type, "INSTANCE", "  type");
	is_str(ev.name, "VI_1", "  name");
	is_int(ev.state, VRRP_MASTER, "  state");
	is_int(ev.priority, 100, "  priority");
	is_int(fifo("GROUP \"G1\" BACKUP", &ev, err), VRRP_EVENT,
	    "GROUP without a priority");
	is_int(ev.priority, 0, "  priority 0");
	is_int(fifo("INSTANCE VI_2 FAULT 0", &ev, err), VRRP_EVENT,
	    "a bare NAME");
	is_str(ev.name, "VI_2", "  its name");
	is_int(fifo("INSTANCE \"VI_3\" STOP 255", &ev, err), VRRP_EVENT,
	    "priority 255");
	is_int(fifo("INSTANCE \"VI 3\" STOP 255", &ev, err), VRRP_MALFORMED,
	    "a NAME with a space (keepalived's names are one word)");
	is_int(fifo("INSTANCE \"VI_1\" DELETED 0", &ev, err), VRRP_EVENT,
	    "DELETED is an event");
	is_int(ev.state, VRRP_STOP, "  taken as STOP");

	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		is_int(fifo(ignored[i], &ev, err), VRRP_IGNORED, ignored[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		is_int(fifo(bad[i].line, &ev, err), VRRP_MALFORMED,
		    bad[i].line[0] ? bad[i].line : "(empty line)");
		like(err, bad[i].why, "  the reason");
	}
	/* a NUL inside the line, binary bytes, an overlong NAME */
	is_int(vrrp_event_parse_fifo("INSTANCE \"VI_1\0x\" MASTER 1", 27, &ev,
	    err), VRRP_MALFORMED, "a NUL byte inside the line");
	is_int(fifo("\001\002\377 junk", &ev, err), VRRP_MALFORMED,
	    "binary bytes");
	memset(name, 'a', 150);
	name[150] = '\0';
	snprintf(line, sizeof(line), "INSTANCE \"%s\" MASTER 1", name);
	is_int(fifo(line, &ev, err), VRRP_MALFORMED, "a 150-byte NAME");
	like(err, "longer than", "  the reason");
	/* every truncation of a good line is refused or ignored, never an
	 * event with garbage in it */
	strcpy(line, "INSTANCE \"VI_1\" MASTER 100");
	for (i = 0; i < strlen(line); i++) {
		int rc = vrrp_event_parse_fifo(line, i, &ev, err);

		if (rc == VRRP_EVENT && !(strcmp(ev.name, "VI_1") == 0 &&
		    ev.state == VRRP_MASTER && (ev.priority == 0 ||
		    ev.priority == 1 || ev.priority == 10))) {
			ok(0, "a truncation gave a wrong event");
			break;
		}
	}
	ok(i == strlen(line), "every truncation is refused, ignored or a"
	    " prefix of the event");

	/* notify arguments */
	strcpy(buf[0], "INSTANCE");
	strcpy(buf[1], "VI_1");
	strcpy(buf[2], "MASTER");
	strcpy(buf[3], "100");
	ok(vrrp_event_parse_args(argv, 4, &ev, err) == 0 && ev.priority == 100
	    && ev.state == VRRP_MASTER, "args: INSTANCE VI_1 MASTER 100");
	ok(vrrp_event_parse_args(argv, 3, &ev, err) == 0 && ev.priority == 0,
	    "args: without PRIORITY");
	strcpy(buf[2], "BOGUS");
	ok(vrrp_event_parse_args(argv, 3, &ev, err) == -1, "args: BOGUS");
	like(err, "STATE must be MASTER, BACKUP, FAULT or STOP", "  the reason");
	strcpy(buf[2], "BACKUP");
	strcpy(buf[3], "high");
	ok(vrrp_event_parse_args(argv, 4, &ev, err) == -1 &&
	    ev.state == VRRP_NONE, "args: PRIORITY high (no event filled in)");
	like(err, "PRIORITY must be 0 to 255", "  the reason");
	strcpy(buf[0], "WHATEVER");
	ok(vrrp_event_parse_args(argv, 3, &ev, err) == -1, "args: WHATEVER");
	like(err, "TYPE must be INSTANCE or GROUP", "  the reason");
	strcpy(buf[0], "GROUP");
	strcpy(buf[1], "");
	ok(vrrp_event_parse_args(argv, 3, &ev, err) == -1, "args: empty NAME");
	ok(vrrp_event_parse_args(argv, 2, &ev, err) == -1, "args: two only");
	is_str(vrrp_state_name(VRRP_FAULT), "FAULT", "state name");
	return tap_done();
}
