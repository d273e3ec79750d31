#!/bin/sh
# alarm-syslog.sh — alarm lines (lib/alarm.c, S0.6) through syslog(3) into a
# real rsyslogd: the exact line of a raise and of its clear, the facility
# (local3), the priority of each severity, the ident with the pid, that
# clearing an inactive alarm sends nothing, and that the program's own
# log.c lines (syslog mode) keep their ident and facility around alarms.  Driven by
# `test_alarm --send ID ROOM [SEVERITY]` (raise, clear, clear again).
#
# How the receiver gets the lines without touching the machine's syslog:
# syslog(3) always writes to /dev/log, and /dev/log may be missing (a fresh
# machine) or belong to the system's syslog daemon.  So the test re-runs
# itself in a private mount namespace (unshare --mount --propagation
# private) and mounts an overlay over /dev there: the lower layer is the
# real /dev (so /dev/null etc. work), the upper layer lives on a small
# tmpfs of the test's own.  Removing and creating /dev/log inside the
# overlay changes only the upper layer, invisible outside the namespace.
# A private rsyslogd (-n -f CONF -i PIDFILE, backgrounded by the shell)
# listens on that /dev/log with imuxsock and writes every message to a file
# in the temp dir with a template that keeps facility, severity, tag and
# message.  Everything is undone at exit (rsyslogd killed by pid, overlay
# and tmpfs unmounted, temp dir removed); the namespace's mounts vanish
# with its last process in any case.  Needs root; otherwise skipped (a
# failure under CI=true).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
prog="$top_builddir/tests/unit/test_alarm"

if [ "${ENUMDR_ALARM_NS:-}" != 1 ]; then
	need_root
	need_built "$prog"
fi
reexec_private_mount_ns ENUMDR_ALARM_NS "$0" "$@"

# --- in the private mount namespace from here on -----------------------------
make_tmpdir T enumdr-alarm
syslog_receiver "$T"
ok 0 "rsyslogd creates /dev/log in the namespace"
# pid 1 lives outside this namespace: its /dev/log (if any) is the host's.
host_log=$(stat -Lc %d:%i /proc/1/root/dev/log 2>/dev/null)
[ "$host_log" != "$(stat -Lc %d:%i /dev/log)" ]
ok $? "this /dev/log is not the host's (host: ${host_log:-none})"

# --- drive the alarms ---------------------------------------------------------
send() {  # send ID ROOM SEVERITY — sets PID_<n> via the "pid N" line
	ALARM_STATE_DIR="$T/state" "$prog" --send "$@" >"$T/send.out" 2>&1
	_rc=$?
	sed -n 's/^pid //p' "$T/send.out"
	return $_rc
}
pid1=$(send PEER_DOWN A major); ok $? "test_alarm --send PEER_DOWN A major"
pid2=$(send SYNC_DIVERGED B critical); ok $? "test_alarm --send SYNC_DIVERGED B critical"
pid3=$(send JOURNAL_POSITION A minor); ok $? "test_alarm --send JOURNAL_POSITION A minor"
# The last run marks the end: its clear arrives after everything before it
# (one socket, one sender at a time), so the counts below are final.
send TRANSFER A warning >/dev/null; ok $? "test_alarm --send TRANSFER A warning (end marker)"
marker_seen() { grep -q 'id=TRANSFER event=clear' "$T/messages"; }
wait_for 5 marker_seen
ok $? "the receiver saw the last line within 5 s"

is "$(ls -A "$T/state/alarms" 2>/dev/null)" "" "no alarm left active after the clears"

lines() {  # lines PID — the alarm lines of one run, pid normalised
	grep "^[^ ]* enumdr\[$1\]: " "$T/messages" | sed "s/\[$1\]:/[PID]:/"
}
is "$(grep "test_alarm-log\[$pid1\]:" "$T/messages")" "daemon.info test_alarm-log[$pid1]: before alarm PEER_DOWN
daemon.err test_alarm-log[$pid1]: after alarm PEER_DOWN" \
	"the program's own log lines keep its ident and facility around the alarms"
w='what="alarm-syslog test: \"quoted\" and \\ kept" peer=B detail="a=b"'
c='what="alarm-syslog test: condition gone"'
is "$(lines "$pid1")" "local3.err enumdr[PID]: enumdr-alarm v1 id=PEER_DOWN event=raise severity=major room=A instance=VI_TEST $w
local3.notice enumdr[PID]: enumdr-alarm v1 id=PEER_DOWN event=clear severity=major room=A instance=VI_TEST $c" \
	"PEER_DOWN: raise (local3.err) then clear (local3.notice), nothing more"
is "$(lines "$pid2")" "local3.crit enumdr[PID]: enumdr-alarm v1 id=SYNC_DIVERGED event=raise severity=critical room=B instance=VI_TEST $w
local3.notice enumdr[PID]: enumdr-alarm v1 id=SYNC_DIVERGED event=clear severity=critical room=B instance=VI_TEST $c" \
	"SYNC_DIVERGED for room B: critical (local3.crit), clear keeps severity=critical"
is "$(lines "$pid3" | cut -d' ' -f1,6-7)" "local3.warning event=raise severity=minor
local3.notice event=clear severity=minor" "minor goes out as warning priority"
is "$(grep -c 'must not be sent' "$T/messages")" 0 \
	"clearing an inactive alarm sent nothing"
is "$(grep -c 'enumdr-alarm v1 ' "$T/messages")" 8 "exactly 8 alarm lines in all"
[ "$tap_failed" -eq 0 ] || diag_file "$T/messages" 40
done_testing
