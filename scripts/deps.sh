#!/bin/sh
# scripts/deps.sh — install what enumdr needs to build, test and demo on
# Debian 12 (run as root).  Quiet when everything is there already.
set -eu
pkgs="build-essential autoconf automake pkg-config
libcurl4-openssl-dev libknot-dev libssl-dev libsqlite3-dev libyaml-dev libmicrohttpd-dev libjansson-dev
sqlite3 curl iproute2 procps
keepalived knot knot-dnsutils ldnsutils rsyslog vsftpd openssh-server openssh-client
cppcheck hyperfine python3 python3-dnspython"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
