/*
 * test_load.c — load steps (S0.6): argv without a shell, exit codes, the
 * last output line kept, and the timeout enforced (TERM, then KILL).
 */
#include <string.h>

#include "load.h"
#include "tap.h"
#include "util.h"

static void
step_of(struct config_step *s, int timeout_ms, char *a0, char *a1, char *a2)
{
	memset(s, 0, sizeof(*s));
	strlcpy_(s->name, "test", sizeof(s->name));
	s->argv[0] = a0;
	s->argv[1] = a1;
	s->argv[2] = a2;
	s->argc = a2 ? 3 : a1 ? 2 : 1;
	s->timeout_ms = timeout_ms;
}

int
main(void)
{
	struct config_step s;
	struct load_result r;
	char err[ENUMDR_ERRLEN];
	char sh[] = "/bin/sh", c[] = "-c", t[] = "/bin/true", f[] = "/bin/false";
	char msg[] = "echo first; echo 'last line' >&2; exit 3";
	char slow[] = "echo going to sleep; exec sleep 30";
	char stubborn[] = "trap '' TERM; echo ignoring TERM; while :; do sleep 1; done";
	char missing[] = "/nonexistent/step";
	char daemon[] = "sleep 3 & echo started";

	step_of(&s, 5000, t, NULL, NULL);
	ok(load_run_step(&s, &r, err) == 0 && r.exit_code == 0, "true succeeds");

	step_of(&s, 5000, f, NULL, NULL);
	ok(load_run_step(&s, &r, err) == -1, "false fails");
	like(err, "exited 1", "error gives the exit code");

	step_of(&s, 5000, sh, c, msg);
	ok(load_run_step(&s, &r, err) == -1 && r.exit_code == 3, "exit 3 reported");
	is_str(r.output, "last line", "last output line kept");
	like(err, "load step test (/bin/sh) exited 3: last line", "error names step, program, code, output");

	step_of(&s, 300, sh, c, slow);
	ok(load_run_step(&s, &r, err) == -1 && r.timed_out, "slow step times out");
	like(err, "timed out after 300 ms", "error names the timeout");
	ok(r.duration_ms < 2500, "TERM ended it well before the sleep");

	step_of(&s, 300, sh, c, stubborn);
	ok(load_run_step(&s, &r, err) == -1 && r.timed_out, "TERM-ignoring step killed");
	ok(r.duration_ms < 5000, "KILL followed the grace period");

	step_of(&s, 5000, missing, NULL, NULL);
	ok(load_run_step(&s, &r, err) == -1, "missing program fails");
	like(err, "cannot run /nonexistent/step", "error names the program");

	step_of(&s, 5000, sh, c, daemon);
	ok(load_run_step(&s, &r, err) == 0, "a step that leaves a daemon behind succeeds");
	ok(r.duration_ms < 2000, "and does not wait for the daemon");
	is_str(r.output, "started", "its output kept");

	step_of(&s, 5000, NULL, NULL, NULL);
	s.argc = 0;
	ok(load_run_step(&s, &r, err) == -1, "empty step refused");
	return tap_done();
}
