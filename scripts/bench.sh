#!/bin/bash
# bench.sh: the stock 6.12 DOE library against ours (make bench).
#
# Builds two kernels from tinyconfig + configs/bench.config (no debugging):
# "stock" from the pristine tree (upstream drivers/pci/doe.c) in
# build/bench/stock and "ours" from the overlaid tree in build/bench/ours.
# Against each it builds, out of tree, the simulator (lib/pci_doe_sim.c) and
# the measurement module (bench/pci_doe_bench.c), which uses only
# pci_find_doe_mailbox() and pci_doe() except for the rows that only ours
# has (async API, claims), and, static, bench/pci_doe_bench_user.c for the
# rows measured from userspace (sysfs config, the char device).  Each
# kernel boots in the same QEMU machine (the direct CXL topology of "make
# run": cxl-type3 at 0d:00.0) and runs bench/guest.sh, every row in tries;
# ours boots once more, with pci_doe.policy=relaxed, for the config-write
# row.  bench/report.py turns the console
# logs into build/bench/results.{csv,json}, build/bench/latency.png and the
# table, which is printed and saved as build/bench/table.txt.
#
#   BENCH_QUICK=1   fewer repetitions (a smoke test of the pipeline)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

BB=$B/bench
mkdir -p "$BB" "$LOGS"
t0=$SECONDS

# build_kernel NAME SRCDIR: kernel + out-of-tree modules in build/bench/NAME
build_kernel() {
	local name=$1 src=$2 obj=$BB/$1 mod=$BB/$1-modules t=$SECONDS
	"$HARNESS_ROOT/scripts/kconfig.sh" --src "$src" --obj "$obj" \
		--fragment "$HARNESS_ROOT/configs/bench.config"
	msg "bench: building the $name kernel in ${obj#"$HARNESS_ROOT"/}"
	if ! make -C "$src" O="$obj" CC="ccache gcc" -j"$JOBS" bzImage modules \
		>"$LOGS/bench-build-$name.log" 2>&1; then
		tail -20 "$LOGS/bench-build-$name.log" >&2
		die "the $name kernel did not build (build/logs/bench-build-$name.log)"
	fi
	rm -rf "$mod"
	mkdir -p "$mod"
	cp "$HARNESS_ROOT/lib/pci_doe_sim.c" "$HARNESS_ROOT/bench/pci_doe_bench.c" "$mod/"
	printf 'obj-m := pci_doe_sim.o pci_doe_bench.o\n' >"$mod/Kbuild"
	if ! make -C "$src" O="$obj" CC="ccache gcc" M="$mod" W=1 modules \
		>>"$LOGS/bench-build-$name.log" 2>&1; then
		tail -20 "$LOGS/bench-build-$name.log" >&2
		die "the $name modules did not build (build/logs/bench-build-$name.log)"
	fi
	if grep -q 'warning:' "$LOGS/bench-build-$name.log"; then
		grep 'warning:' "$LOGS/bench-build-$name.log" >&2
		die "warnings building the $name kernel or modules"
	fi
	msg "bench: $name kernel and modules ready ($(elapsed "$t"))"
}

"$HARNESS_ROOT/scripts/tree.sh"
build_kernel stock "$PRISTINE"
build_kernel ours "$SRC"
[[ ${BENCH_BUILD_ONLY:-0} == 1 ]] && exit 0

# The guest: busybox and /init only; the rest comes in /extra per boot
"$HARNESS_ROOT/scripts/initramfs.sh" --minimal "$BB/initramfs.cpio.gz"
# with the selftests' raw requester, and our uapi header for the take ioctl
# (against stock the char device is missing and the take is skipped)
gcc -static -O2 -Wall -Wextra -Werror -I"$HARNESS_ROOT/include/uapi" \
	-I"$HARNESS_ROOT/tools/testing/selftests/pci_doe" -o "$BB/pci_doe_bench_user" \
	"$HARNESS_ROOT/bench/pci_doe_bench_user.c" \
	"$HARNESS_ROOT/tools/testing/selftests/pci_doe/doe_user.c"

# boot NAME KERNEL ROWS [APPEND]: run bench/guest.sh on build/bench/KERNEL
boot() {
	local name=$1 kernel=$2 rows=$3 append=${4:-} extra=$BB/extra-$1 t=$SECONDS rc=0
	rm -rf "$extra"
	mkdir -p "$extra"
	cp "$BB/$kernel-modules/pci_doe_sim.ko" "$BB/$kernel-modules/pci_doe_bench.ko" \
		"$BB/pci_doe_bench_user" "$HARNESS_ROOT/bench/guest.sh" "$extra/"
	printf '%s\n' "$name" >"$extra/name"
	printf '%s\n' "$rows" >"$extra/rows"
	printf '%s\n' "${BENCH_QUICK:-0}" >"$extra/quick"
	msg "bench: booting $name${append:+ ($append)}"
	local args=(--mode cmd --cmd "sh /extra/guest.sh" --topo direct --quiet
		--kernel "$BB/$kernel/arch/x86/boot/bzImage" --initrd "$BB/initramfs.cpio.gz"
		--extra "$extra" --timeout 1800 --log "$BB/$name.log")
	[[ -n $append ]] && args+=(--append "$append")
	"$HARNESS_ROOT/scripts/qemu.sh" "${args[@]}" || rc=$?
	if ((rc)); then
		grep -a '@@BENCH fail' "$BB/$name.log" >&2 || true
		die "bench: the $name guest failed (status $rc, log: build/bench/$name.log)"
	fi
	msg "bench: $name done ($(elapsed "$t"))"
}

boot stock stock all
boot ours ours all
boot ours-relaxed ours cfgw pci_doe.policy=relaxed

"$HARNESS_ROOT/scripts/deps.sh" python3-matplotlib
/usr/bin/python3 "$HARNESS_ROOT/bench/report.py" --out "$BB" \
	"$BB/stock.log" "$BB/ours.log" "$BB/ours-relaxed.log"
msg "bench: done in $(elapsed "$t0"); table: build/bench/table.txt, raw: build/bench/results.{csv,json}, plot: build/bench/latency.png"
