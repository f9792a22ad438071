#!/usr/bin/env bash
# Installs Debian's prometheus-alertmanager for the alert-output tests
# (detector/alert). Idempotent: does nothing when the binary is already there.
# Non-interactive, and never starts the service: the tests start their own
# Alertmanager on a loopback port with a temporary config and storage.
# Prints the binary's path and version on success.
set -euo pipefail

PKG="prometheus-alertmanager"
BIN="${MCPTRAIL_ALERTMANAGER:-}"

find_bin() {
	if [ -n "$BIN" ] && [ -x "$BIN" ]; then
		echo "$BIN"
		return 0
	fi
	command -v prometheus-alertmanager 2>/dev/null && return 0
	[ -x /usr/bin/prometheus-alertmanager ] && { echo /usr/bin/prometheus-alertmanager; return 0; }
	return 1
}

if ! path="$(find_bin)"; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "install.sh: apt-get not found; install Alertmanager (>= 0.25) and set MCPTRAIL_ALERTMANAGER to its binary" >&2
		exit 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "install.sh: installing $PKG needs root (run: sudo apt-get install -y --no-install-recommends $PKG)" >&2
		exit 1
	fi
	# Keep the package's maintainer scripts from starting the service: a
	# policy-rc.d that answers 101 ("action forbidden"), unless the machine
	# has one already (containers usually do). Removed again on exit.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_install() {
		apt-get install -y -q --no-install-recommends \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$PKG"
	}
	# A fresh machine may have no package lists yet: update once and retry.
	if ! apt_install >/tmp/mcptrail-alertmanager-install.log 2>&1; then
		apt-get update -q >>/tmp/mcptrail-alertmanager-install.log 2>&1 || true
		if ! apt_install >>/tmp/mcptrail-alertmanager-install.log 2>&1; then
			tail -n 20 /tmp/mcptrail-alertmanager-install.log >&2
			echo "install.sh: apt-get install $PKG failed (log: /tmp/mcptrail-alertmanager-install.log)" >&2
			exit 1
		fi
	fi
	# The package enables a service; on machines with an init system that
	# ignored policy-rc.d, stop it so that it holds no port (best effort).
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl stop "$PKG" >/dev/null 2>&1 || true
	fi
	path="$(find_bin)" || { echo "install.sh: $PKG installed but its binary was not found" >&2; exit 1; }
fi

version="$("$path" --version 2>&1 | head -n 1)"
echo "$path: $version"
