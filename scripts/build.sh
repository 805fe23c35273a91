#!/bin/bash
# build.sh: overlay (tree.sh), config (kconfig.sh), then build bzImage and
# modules out of tree in build/obj with ccache.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

t0=$SECONDS
"$HARNESS_ROOT/scripts/tree.sh"
"$HARNESS_ROOT/scripts/kconfig.sh"
mkdir -p "$LOGS"
msg "building kernel in build/obj (${KMAKE[*]:3})"
# Module.symvers needs "modules" even with no =m.
if ! "${KMAKE[@]}" bzImage modules 2>&1 | tee "$LOGS/build.log" | { if [[ ${V:-0} == 1 ]]; then cat; else grep -E --line-buffered 'warning:|error:|Error|\bLD\b|Kernel: ' || true; fi; }; then
	die "kernel build failed (full log: build/logs/build.log)"
fi
[[ -f $OBJ/arch/x86/boot/bzImage ]] || die "no bzImage"
msg "kernel ready: build/obj/arch/x86/boot/bzImage ($(elapsed $t0))"
