#!/bin/sh
# scripts/demo.sh — the README's main command.  Builds enumdr (Debian 12,
# root) and walks through what a room does, step by step with timestamps:
# provision numbers, read the zone serials, export a snapshot + serial file,
# and run the serial-compare sync (S0.1, S0.2) into a standby room's database.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/deps.sh
if [ ! -x _build/src/enumdr ]; then
	autoreconf -fi >/dev/null 2>&1
	mkdir -p _build
	(cd _build && ../configure --quiet && make -j"$(nproc)" >/dev/null)
fi
enumdr=$top/_build/src/enumdr
work=${DEMO_DIR:-$(mktemp -d /tmp/enumdr-demo.XXXXXX)}

say() { printf '\n%s  %s\n' "$(date -u +%H:%M:%S.%3N)" "$*"; }
run() { printf '  $ enumdr %s\n' "$*"; "$enumdr" "$@" | sed 's/^/    /'; }

for room in A B; do
	mkdir -p "$work/$room"
	cat >"$work/$room/enumdr.yaml" <<EOC
room: $room
database: $work/$room/enumdr.db
snapshot_dir: $work/$room/snapshot
incoming_dir: $work/$room/incoming
state_dir: $work/$room/state
EOC
done
export ENUMDR_CONFIG="$work/A/enumdr.yaml"

say "room A: create the database, add two ENUM zones"
run init
run zone add 6.4.e164.arpa --serial 2026112900
run zone add 1.e164.arpa
say "room A: provision numbers (each change bumps its zone serial and the journal)"
run provision add +4681234567 --sip sip:+4681234567@ims.a.example
run provision add +4687654321 --sip sip:+4687654321@ims.a.example
run provision add +15550100 --naptr '100 10 "u" "E2U+sip" "!^\+1(.*)$!sip:\1@ims.a.example!" .'
run provision remove +4687654321
say "room A: zone serials and journal position"
run serials
say "room A: export a snapshot + serial file (S0.1)"
run snapshot export
ls -l "$work/A/snapshot" | sed 's/^/    /'
say "room A: an invalid number is refused, nothing written"
"$enumdr" provision add +46-12 --sip sip:x@y 2>&1 | sed 's/^/    /' || true
say "room B (standby): serial-compare sync from A's snapshot (S0.2)"
export ENUMDR_CONFIG="$work/B/enumdr.yaml"
run init
run sync --from "$work/A/snapshot"
say "room B: syncing again finds equal serials and imports nothing"
run sync --from "$work/A/snapshot"
run provision show +4681234567
say "room B: status"
run status
say "done; the rooms' files are in $work"
