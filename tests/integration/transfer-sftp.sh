#!/bin/sh
# transfer-sftp.sh — lib/transfer.c against a real OpenSSH sshd (internal-sftp)
# on 127.0.0.1 (S0.1 snapshot transfer): key login, host key checked
# against a known_hosts file (a wrong or missing key is refused), a put
# arrives whole under its final name only (NAME.part, then "*rm" + "rename"
# because SFTP v3 rename does not overwrite), a get lands atomically, a
# failed rename leaves the final name alone, and a peer that is down gives
# a clear error naming the URL, with nothing changed on either side.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
need_root
need_cmd /usr/sbin/sshd ssh-keygen sha256sum ss
client="$top_builddir/tests/unit/transfer_client"
need_built "$client"

# "ok $(($? == 0)) WHAT" passes when the command before it failed.
sha() { sha256sum "$1" | cut -d' ' -f1; }
parts() { find "$1" -name '*.part*' | wc -l | tr -d ' '; }

# --- sshd with keys, config, pid file and log in the temp dir ------------------
make_tmpdir T enumdr-sftp
chmod 755 "$T"
mkdir -p /run/sshd "$T/root"	# sshd's privilege separation dir
for k in host_key other_host_key client_key; do
	ssh-keygen -q -t ed25519 -N '' -C "enumdr-test-$k" -f "$T/$k" ||
		{ echo "Bail out! ssh-keygen failed"; exit 1; }
done
cp "$T/client_key.pub" "$T/authorized_keys"
pick_port PORT
cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $T/host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
UseDNS no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
if ! out=$(/usr/sbin/sshd -t -f "$T/sshd_config" 2>&1); then
	echo "Bail out! sshd -t: $out"
	exit 1
fi
bg_start SSHD_PID /usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log"
if ! wait_for 10 port_listening "$PORT"; then
	diag_file "$T/sshd.log"
	echo "Bail out! sshd did not listen on 127.0.0.1:$PORT"
	exit 1
fi
diag "sshd pid $SSHD_PID on 127.0.0.1:$PORT"

hostline() { echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$1")"; }
hostline "$T/host_key.pub" >"$T/known_hosts"
hostline "$T/other_host_key.pub" >"$T/known_hosts.wrong"
echo "[127.0.0.1]:1 $(cut -d' ' -f1,2 "$T/host_key.pub")" >"$T/known_hosts.other"
TRANSFER_SSH_KEY=$T/client_key
TRANSFER_SSH_PUBKEY=$T/client_key.pub
TRANSFER_KNOWN_HOSTS=$T/known_hosts
export TRANSFER_SSH_KEY TRANSFER_SSH_PUBKEY TRANSFER_KNOWN_HOSTS

base="sftp://root@127.0.0.1:$PORT$T/root/room1/snapshots"
remote="$T/root/room1/snapshots"

# --- put: a 5 MB file into a directory that does not exist yet ---------------
head -c 5242880 /dev/urandom >"$T/snap.db"
t0=$(now_ms)
out=$("$client" put "$T/snap.db" "$base/snap.db" 2000 30000 2>&1)
ok $? "put of 5 MB into a new subdirectory (host key checked)"
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

# a name with a space and a quote survives URL decoding and quote escaping
out=$("$client" put "$T/snap2.db" "$base/it%27s%20here.db" 2000 30000 2>&1)
ok $? "put of a name with a space and a quote"
[ -z "$out" ] || diag "$out"
is "$(sha "$remote/it's here.db" 2>/dev/null)" "$(sha "$T/snap2.db")" \
    "it arrived under its decoded name"

# --- host key checks ----------------------------------------------------------
out=$(TRANSFER_KNOWN_HOSTS=$T/known_hosts.wrong "$client" put "$T/snap.db" \
    "$base/snap.db" 2000 30000 2>&1)
ok $(($? == 0)) "put to a host with another key in known_hosts is refused"
diag "$out"
like "$out" "127.0.0.1:$PORT.*host key does not match" "the error says why"
out=$(TRANSFER_KNOWN_HOSTS=$T/known_hosts.other "$client" put "$T/snap.db" \
    "$base/snap.db" 2000 30000 2>&1)
ok $(($? == 0)) "put to a host missing from known_hosts is refused"
diag "$out"
like "$out" "127.0.0.1:$PORT.*host key is not listed" "the error says why"
is "$(sha "$remote/snap.db")" "$(sha "$T/snap2.db")" "the remote file is unchanged"
out=$(TRANSFER_KNOWN_HOSTS=$T/known_hosts.wrong "$client" get "$base/snap.db" \
    "$T/back.db" 2000 30000 2>&1)
ok $(($? == 0)) "get with a wrong host key is refused"
is "$(sha "$T/back.db")" "$(sha "$T/snap.db")" "the local file is unchanged"

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
# The final name is a non-empty directory: the upload of the .part works,
# "*rm" fails (ignored), "rename" fails.
mkdir -p "$remote/busy.db/inside"
out=$("$client" put "$T/snap2.db" "$base/busy.db" 2000 30000 2>&1)
ok $(($? == 0)) "put whose rename fails on the server fails"
diag "$out"
like "$out" "renam" "the error says the rename failed"
[ -d "$remote/busy.db/inside" ]
ok $? "the final name is unchanged"
rm -rf "$remote/busy.db" "$remote/busy.db.part"

# --- the peer hangs: TCP connects, no greeting ------------------------------------
# A stopped sshd still completes TCP handshakes from its listen queue but
# never says hello: the connect timeout (1 s here, total 30 s) must end it.
kill -STOP "$SSHD_PID"
before=$(sha "$remote/snap.db")
t0=$(now_ms)
out=$("$client" put "$T/snap.db" "$base/snap.db" 1000 30000 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
kill -CONT "$SSHD_PID"
ok $((rc == 0)) "put to a peer that hangs fails"
diag "put failed after $ms ms (connect timeout 1000 ms, total 30000 ms): $out"
like "$out" "127.0.0.1:$PORT.*Timeout was reached" "the error names the URL and the timeout"
ok $((ms >= 20000)) "it ended well before the total timeout"
is "$(sha "$remote/snap.db")" "$before" "the remote file is unchanged"

# --- the peer is down ---------------------------------------------------------
kill_pid "$SSHD_PID"
wait_for 5 eval "! port_listening $PORT"
before=$(sha "$remote/snap.db")
t0=$(now_ms)
out=$("$client" put "$T/snap.db" "$base/snap.db" 2000 30000 2>&1)
rc=$?
ms=$(($(now_ms) - t0))
ok $((rc == 0)) "put to a peer that is down fails"
diag "put failed after $ms ms (connect timeout 2000 ms): $out"
like "$out" "sftp://root@127.0.0.1:$PORT$T/root/room1/snapshots/snap.db" \
    "the error names the URL"
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

done_testing
