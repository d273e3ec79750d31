#!/bin/sh
# transfer-ftp.sh — lib/transfer.c against a real vsftpd on 127.0.0.1
# (S0.1 snapshot transfer): a put arrives whole under its final name only
# (STOR NAME.part, RNFR/RNTO in a subdirectory that the put creates), a
# get lands atomically, a failed rename leaves the old name alone, and a
# peer that is down gives a clear error naming the URL, with nothing
# changed on either side.  Also runs transfer_client's offline self test
# (URL joining, file://, size cap, password redaction).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
need_root
need_cmd vsftpd sha256sum ss
client="$top_builddir/tests/unit/transfer_client"
need_built "$client"

# "ok $(($? == 0)) WHAT" passes when the command before it failed.
sha() { sha256sum "$1" | cut -d' ' -f1; }
parts() { find "$1" -name '*.part*' | wc -l | tr -d ' '; }

# --- the offline self test ----------------------------------------------------
make_tmpdir T enumdr-ftp
chmod 755 "$T"
out=$("$client" selftest "$T/self" 2>&1)
rc=$?
ok $rc "transfer_client selftest ($(printf '%s\n' "$out" | grep -c '^ok') checks: join, file://, caps, redaction)"
[ $rc -eq 0 ] || printf '%s\n' "$out" | grep -v '^ok' | sed 's/^/#   /'

# --- vsftpd: anonymous, writable pub/ in a chroot of its own ------------------
# vsftpd refuses an anonymous root that the ftp user can write, so the root
# stays root's and pub/ belongs to the ftp user.
ftpuser=ftp
id "$ftpuser" >/dev/null 2>&1 || ftpuser=nobody
mkdir -p "$T/root/pub" "$T/empty"
chmod 755 "$T/root" "$T/empty"
chown "$ftpuser" "$T/root/pub"
pick_port PORT
pick_port_range PASV 10
cat >"$T/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
ftp_username=$ftpuser
anon_root=$T/root
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_world_readable_only=NO
anon_umask=022
secure_chroot_dir=$T/empty
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$PASV
pasv_max_port=$((PASV + 9))
port_enable=NO
connect_from_port_20=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=YES
vsftpd_log_file=$T/vsftpd.log
log_ftp_protocol=YES
EOF
bg_start VSFTPD_PID vsftpd "$T/vsftpd.conf" >"$T/vsftpd.out" 2>&1
if ! wait_for 10 port_listening "$PORT"; then
	diag_file "$T/vsftpd.out"
	echo "Bail out! vsftpd did not listen on 127.0.0.1:$PORT"
	exit 1
fi
diag "vsftpd pid $VSFTPD_PID on 127.0.0.1:$PORT, passive ports $PASV-$((PASV + 9))"

base="ftp://127.0.0.1:$PORT/pub/room1/snapshots"
remote="$T/root/pub/room1/snapshots"

# --- put: a 5 MB file into a subdirectory that does not exist yet -----------
head -c 5242880 /dev/urandom >"$T/snap.db"
t0=$(now_ms)
out=$("$client" put "$T/snap.db" "$base/snap.db" 2000 30000 2>&1)
ok $? "put of 5 MB into a new subdirectory"
diag "put took $(($(now_ms) - t0)) ms"
[ -z "$out" ] || diag "$out"
is "$(sha "$remote/snap.db" 2>/dev/null)" "$(sha "$T/snap.db")" \
    "the remote file has the same sha256"
is "$(parts "$T/root")" 0 "no .part file is left on the server"

# --- get it back ------------------------------------------------------------
out=$("$client" get "$base/snap.db" "$T/back.db" 2000 30000 2>&1)
ok $? "get of 5 MB"
[ -z "$out" ] || diag "$out"
is "$(sha "$T/back.db")" "$(sha "$T/snap.db")" "the local copy has the same sha256"
is "$(find "$T" -maxdepth 1 -name 'back.db.part*' | wc -l | tr -d ' ')" 0 \
    "no local part file is left"

# --- put over the existing file ---------------------------------------------
head -c 1048576 /dev/urandom >"$T/snap2.db"
out=$("$client" put "$T/snap2.db" "$base/snap.db" 2000 30000 2>&1)
ok $? "put over an existing file"
[ -z "$out" ] || diag "$out"
is "$(sha "$remote/snap.db")" "$(sha "$T/snap2.db")" "the file was replaced"
is "$(parts "$T/root")" 0 "still no .part file on the server"

: >"$T/empty.db"
"$client" put "$T/empty.db" "$base/empty.db" 2000 30000 &&
    "$client" get "$base/empty.db" "$T/empty-back.db" 2000 30000
ok $? "put and get of an empty file"
is "$(wc -c <"$T/empty-back.db" 2>/dev/null | tr -d ' ')" 0 "it arrived empty"

# --- a get that must fail leaves the local file alone -------------------------
out=$("$client" get "$base/missing.db" "$T/back.db" 2000 30000 2>&1)
ok $(($? == 0)) "get of a missing remote file fails"
diag "$out"
like "$out" "missing.db" "the error names the URL"
is "$(sha "$T/back.db")" "$(sha "$T/snap.db")" "the local file is unchanged"

out=$(TRANSFER_MAX_BYTES=100000 "$client" get "$base/snap.db" "$T/back.db" \
    2000 30000 2>&1)
ok $(($? == 0)) "get larger than max_bytes fails"
diag "$out"
like "$out" "larger than 100000 bytes" "the error says so"
is "$(sha "$T/back.db")" "$(sha "$T/snap.db")" "the local file is unchanged"
is "$(find "$T" -maxdepth 1 -name 'back.db.part*' | wc -l | tr -d ' ')" 0 \
    "no local part file is left"

# --- a rename that fails on the server leaves the final name alone -----------
# The final name is a non-empty directory: STOR of the .part works, RNTO
# does not.
mkdir -p "$remote/busy.db/inside"
out=$("$client" put "$T/snap2.db" "$base/busy.db" 2000 30000 2>&1)
ok $(($? == 0)) "put whose rename fails on the server fails"
diag "$out"
like "$out" "renam" "the error says the rename failed"
[ -d "$remote/busy.db/inside" ]
ok $? "the final name is unchanged"
rm -rf "$remote/busy.db" "$remote/busy.db.part"

# --- the peer hangs: TCP connects, no greeting ------------------------------------
# A stopped vsftpd still completes TCP handshakes from its listen queue but
# never says hello: the connect timeout (1 s here, total 30 s) must end it.
kill -STOP "$VSFTPD_PID"
before=$(sha "$remote/snap.db")
t0=$(now_ms)
out=$("$client" put "$T/snap.db" "$base/snap.db" 1000 30000 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
kill -CONT "$VSFTPD_PID"
ok $((rc == 0)) "put to a peer that hangs fails"
diag "put failed after $ms ms (connect timeout 1000 ms, total 30000 ms): $out"
like "$out" "127.0.0.1:$PORT.*Timeout was reached" "the error names the URL and the timeout"
ok $((ms >= 20000)) "it ended well before the total timeout"
is "$(sha "$remote/snap.db")" "$before" "the remote file is unchanged"

# --- the peer is down ---------------------------------------------------------
kill_pid "$VSFTPD_PID"
wait_for 5 eval "! port_listening $PORT"
before=$(sha "$remote/snap.db")
t0=$(now_ms)
out=$("$client" put "$T/snap.db" "$base/snap.db" 2000 30000 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
ok $((rc == 0)) "put to a peer that is down fails"
diag "put failed after $ms ms (connect timeout 2000 ms): $out"
like "$out" "ftp://127.0.0.1:$PORT/pub/room1/snapshots/snap.db" "the error names the URL"
like "$out" "Couldn't connect to server" "the error gives curl's reason"
is "$(sha "$remote/snap.db")" "$before" "the remote file is unchanged"
is "$(parts "$T/root")" 0 "no .part file on the server"

t0=$(now_ms)
out=$("$client" get "$base/snap.db" "$T/down.db" 2000 30000 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
ok $((rc == 0)) "get from a peer that is down fails"
diag "get failed after $ms ms (connect timeout 2000 ms): $out"
like "$out" "127.0.0.1:$PORT.*Couldn't connect to server" "the error names host and reason"
[ ! -e "$T/down.db" ]
ok $? "no local file appears"
is "$(find "$T" -maxdepth 1 -name 'down.db.part*' | wc -l | tr -d ' ')" 0 \
    "no local part file is left"

out=$("$client" put "$T/snap.db" \
    "ftp://anonymous:Secr3tPw@127.0.0.1:$PORT/pub/x.db" 2000 30000 2>&1)
like "$out" "anonymous:\*\*\*@127.0.0.1" "the password is shown as ***"
printf '%s' "$out" | grep -q Secr3tPw
ok $(($? == 0)) "the password itself is not shown"

done_testing
