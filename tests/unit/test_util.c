/*
 * test_util.c — util.c helpers that other tests do not reach: removal of
 * the temporaries a crashed process left behind (issue 12: "every
 * temporary file has an owner that cleans it up, also after a crash").
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

static void
touch(const char *dir, const char *name)
{
	char path[PATH_MAX], err[ENUMDR_ERRLEN];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (util_write_file_atomic(path, "x", 1, 0600, err) == -1)
		diag("touch %s: %s", path, err);
}

static int
exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0;
}

int
main(void)
{
	char dir[] = "/tmp/enumdr-util-XXXXXX", err[ENUMDR_ERRLEN], name[64],
	    cmd[PATH_MAX + 16];
	pid_t dead;
	size_t n = 0;

	ok(mkdtemp(dir) != NULL, "temp dir");
	/* a pid that surely does not run: a child that has exited and been
	 * reaped */
	if ((dead = fork()) == 0)
		_exit(0);
	waitpid(dead, NULL, 0);

	snprintf(name, sizeof(name), "enumdr-snapshot.db.tmp.%ld", (long)dead);
	touch(dir, name);
	snprintf(name, sizeof(name), "enumdr-snapshot.db.tmp.%ld-journal",
	    (long)dead);
	touch(dir, name);
	snprintf(name, sizeof(name), "6.4.e164.arpa.zone.tmp.%ld", (long)dead);
	touch(dir, name);
	snprintf(name, sizeof(name), "enumdr-serials.part.%ld", (long)dead);
	touch(dir, name);
	snprintf(name, sizeof(name), "mine.tmp.%ld", (long)getpid());
	touch(dir, name);
	touch(dir, "init.tmp.1");                 /* pid 1 always runs */
	touch(dir, "enumdr-snapshot.db.part.aB3xZ9");
	touch(dir, "enumdr-snapshot.db");
	touch(dir, "notes.tmp.txt");
	touch(dir, ".tmp.123");

	ok(util_remove_stale_temps(dir, 0, &n, err) == 0, "scan");
	is_int(n, 4, "the four temporaries of a dead process removed");
	snprintf(name, sizeof(name), "enumdr-snapshot.db.tmp.%ld", (long)dead);
	ok(!exists(dir, name), "a dead export's copy is gone");
	snprintf(name, sizeof(name), "enumdr-snapshot.db.tmp.%ld-journal",
	    (long)dead);
	ok(!exists(dir, name), "and its -journal");
	snprintf(name, sizeof(name), "mine.tmp.%ld", (long)getpid());
	ok(exists(dir, name), "the caller's own temporary is kept");
	ok(exists(dir, "init.tmp.1"), "a running process's temporary is kept");
	ok(exists(dir, "enumdr-snapshot.db.part.aB3xZ9"),
	    "an upload's part file is kept unless the caller owns them");
	ok(exists(dir, "enumdr-snapshot.db") && exists(dir, "notes.tmp.txt") &&
	    exists(dir, ".tmp.123"), "other files are never touched");
	ok(util_remove_stale_temps(dir, 1, &n, err) == 0 && n == 1 &&
	    !exists(dir, "enumdr-snapshot.db.part.aB3xZ9"),
	    "own_random: the caller's upload part files removed too");
	ok(util_remove_stale_temps("/nonexistent/enumdr", 0, &n, err) == 0 &&
	    n == 0, "a missing directory is not an error");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "cleanup");
	return tap_done();
}
