#!/bin/bash
# run.sh: build if needed, then boot the guest (make run).
#
#   TOPO=direct|switch  topology (default direct)
#   CMD='...'           run one command in the guest (sh -c style, from a
#                       file in the extra cpio, cwd /extra) and exit with
#                       its status
#   EXTRA=dir           host directory, visible in the guest as /extra
#   APPEND='...'        more kernel parameters
# Without CMD: show the DOE mailboxes the kernel logged, lspci -vvv of the
# DOE-capable functions and the CDATs the CXL driver read, then a shell on
# the console when stdin is a terminal (power off when it exits), otherwise
# power off.  KUnit does not run (kunit.enable=0).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

"$HARNESS_ROOT/scripts/build.sh"
"$HARNESS_ROOT/scripts/initramfs.sh"

args=(--topo "${TOPO:-direct}" --unlock)
[[ -n ${APPEND:-} ]] && args+=(--append "$APPEND")
[[ -n ${EXTRA:-} ]] && args+=(--extra "$(realpath "$EXTRA")")
stamp=$(date +%Y%m%d-%H%M%S)
if [[ -n ${CMD:-} ]]; then
	args+=(--mode cmd --cmd "$CMD" --log "$LOGS/run-$stamp-cmd.log")
else
	args+=(--mode run --shell --log "$LOGS/run-$stamp.log")
fi
rc=0
"$HARNESS_ROOT/scripts/qemu.sh" "${args[@]}" || rc=$?
if [[ -n ${CMD:-} ]]; then
	msg "guest command exited with status $rc"
fi
exit "$rc"
