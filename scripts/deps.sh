#!/bin/bash
# deps.sh: install the Debian packages the harness needs (make deps).
# Cheap when everything is there: one dpkg-query.  Otherwise one
# "apt-get update" and one "apt-get install" of what is missing.
#
#   deps.sh [PACKAGE...]   also these (what one target alone needs)
set -euo pipefail

PACKAGES=(
	# kernel build
	make gcc libc6-dev flex bison bc libelf-dev libssl-dev cpio ccache
	xz-utils patch perl kmod rsync
	# base tree
	linux-source-6.12
	# guest and QEMU
	qemu-system-x86 busybox-static pciutils pci.ids gzip util-linux coreutils
	# lint and series (checkpatch runs scripts/spdxcheck.py: python3-ply)
	sparse git python3 python3-ply
	# check: the doe tool's pcap captures are read back on the host
	tshark
	"$@"
)

mapfile -t missing < <(
	dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null |
		awk '$2 == "installed" { ok[$1] = 1 } END { for (p in ok) print p }' |
		sort | comm -13 - <(printf '%s\n' "${PACKAGES[@]}" | sort)
)
((${#missing[@]})) || exit 0

echo "== deps: installing ${missing[*]}" >&2
sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || { echo "ERROR: not root and no sudo: install ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
