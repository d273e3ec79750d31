#!/bin/sh
# test_transfer.sh — lib/transfer.c's offline self test (URL joining,
# file://, size caps, password redaction, a refused connection: nothing
# that needs a server) as a unit test, so that the sanitizer build runs it
# too (issue 13).  The FTP and SFTP servers are in tests/integration/.
client="$top_builddir/tests/unit/transfer_client"
[ -x "$client" ] || { echo "Bail out! $client is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/enumdr-transfer.XXXXXX") ||
	{ echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$T"' EXIT
# the self test prints TAP itself: pass it through, plan and all
"$client" selftest "$T/self"
