#!/bin/bash
# qemu.sh: boot the kernel (build/obj) and initramfs in QEMU with an emulated
# CXL topology, log the console, and report how the guest ended.
#
#   qemu.sh --mode run|cmd|check [--topo direct|switch] [--log FILE]
#           [--kunit] [--shell] [--cmd STRING] [--extra DIR]
#           [--append PARAMS] [--timeout SECONDS] [--quiet] [--unlock]
#           [--kernel BZIMAGE] [--initrd CPIO]
#
# Topologies (pxb-cxl bus_nr=12, see README.md):
#   direct  0c:00.0 cxl-rp -> 0d:00.0 cxl-type3 (DOE at 0x190)
#   switch  0c:00.0 cxl-rp -> 0d:00.0 cxl-upstream (DOE at 0x1a8)
#           -> 0e:00.0 cxl-downstream -> 0f:00.0 cxl-type3
#           and 0e:0K.0 -> (0f + K):00.0 cxl-type3 for K = 1..3, CDATs from
#           files (scripts/cdat-tables.sh), serial numbers 0xcda700000000000K
# The kernel command line names the topology (harness.topo=direct|switch).
# KUnit runs at boot only with --kunit (kunit.enable=0 otherwise).  In batch
# mode a watchdog kills a guest that has not powered off after --timeout
# seconds.  --unlock releases build/.lock once the kernel and initramfs are
# copied, so builds may go on during a long interactive session.
#
# Exit status: --mode cmd: the command's status; otherwise 0.  124: the
# watchdog killed a guest that had not powered off; 125: the guest ended
# without its final marker (a panic, or /init died); 126: QEMU failed.
# shellcheck disable=SC2054  # QEMU options are comma-separated
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

mode=run topo=${TOPO:-direct} log='' kunit=0 shell=0 cmd='' extra='' append=''
timeout=${TIMEOUT:-300} quiet=0 unlock=0
KERNEL=$OBJ/arch/x86/boot/bzImage
while (($#)); do
	case $1 in
	--mode) mode=$2; shift ;;
	--topo) topo=$2; shift ;;
	--log) log=$2; shift ;;
	--kunit) kunit=1 ;;
	--shell) shell=1 ;;
	--cmd) cmd=$2; shift ;;
	--extra) extra=$2; shift ;;
	--append) append=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--quiet) quiet=1 ;;
	--unlock) unlock=1 ;;
	--kernel) KERNEL=$2; shift ;;
	--initrd) INITRD=$2; shift ;;
	*) die "qemu.sh: unknown argument $1" ;;
	esac
	shift
done
case $mode in run | cmd | check) ;; *) die "qemu.sh: --mode run|cmd|check" ;; esac
[[ -n $extra && ! -d $extra ]] && die "EXTRA=$extra is not a directory"

harness_lock "$@"
[[ -f $KERNEL ]] || die "no kernel: run make build"
[[ -f $INITRD ]] || die "no initramfs: run make build"
mkdir -p "$TMPD" "$LOGS"
run=$(mktemp -d "$TMPD/run.XXXXXX")
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Private copies: a build may replace build/obj and build/initramfs.cpio.gz
# while this guest runs.
cp "$KERNEL" "$run/bzImage"
cp "$INITRD" "$run/initrd"
if ((unlock)); then harness_unlock; fi
# Per-boot extra cpio, appended to the initramfs: the command and /extra.
# The guest unpacks it into RAM (-m 1G): keep EXTRA small.
if [[ -n $extra ]]; then
	size=$(du -sbL "$extra" 2>/dev/null | cut -f1)
	((size <= 256 * 1024 * 1024)) ||
		die "EXTRA=$extra holds $((size / 1024 / 1024)) MiB; the guest unpacks it into RAM (limit 256 MiB)"
fi
mkdir -p "$run/extra/harness" "$run/extra/extra"
printf '%s\n' "$cmd" >"$run/extra/harness/cmd"
if [[ -n $extra ]]; then
	cp -a "$extra/." "$run/extra/extra/"
fi
(cd "$run/extra" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
	gzip -1 -n >>"$run/initrd"
rm -rf "$run/extra"

# --- accelerator: KVM only when a probe boot shows that it works ----------
qemu_bin='qemu-system-x86_64'
accel_probe() {
	# cached outside the clone: a fresh CI clone must not pay the probe
	local key cache=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pci-doe-harness/accel-probe out args
	key="$($qemu_bin --version | head -1) | $(uname -r) | $(if [[ -w /dev/kvm ]]; then echo kvm; else echo no-kvm; fi)"
	mkdir -p "$(dirname "$cache")"
	if [[ -f $cache && $(head -1 "$cache") == "$key" ]]; then
		tail -n +2 "$cache"
		return
	fi
	args='-accel tcg'
	if [[ -w /dev/kvm ]]; then
		local try
		for try in '-accel kvm -cpu host' '-accel kvm'; do
			# shellcheck disable=SC2086
			out=$(timeout -k 5 30 $qemu_bin $try -M q35 -m 512M -nodefaults -no-reboot \
				-display none -serial stdio -kernel "$run/bzImage" -initrd "$run/initrd" \
				-append "console=ttyS0 panic=-1 kunit.enable=0 harness.mode=probe" \
				</dev/null 2>&1 || true)
			if grep -q '@@HARNESS: userspace up' <<<"$out"; then
				args=$try
				break
			fi
		done
		msg "KVM probe: using '$args' (cached in $cache)"
	fi
	printf '%s\n%s\n' "$key" "$args" >"$cache"
	printf '%s\n' "$args"
}
case ${ACCEL:-auto} in
auto) read -r -a accel <<<"$(accel_probe)" ;;
tcg) accel=(-accel tcg) ;;
kvm) accel=(-accel kvm -cpu host) ;;
*) die "ACCEL=tcg|kvm|auto" ;;
esac

# --- machine ----------------------------------------------------------------
mem=(
	-object "memory-backend-file,id=cxl-mem0,share=on,mem-path=$run/cxl-mem0.raw,size=256M"
	-object "memory-backend-file,id=cxl-lsa0,share=on,mem-path=$run/cxl-lsa0.raw,size=256M"
)
case $topo in
direct)
	devs=(
		-device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1
		-device cxl-rp,port=0,bus=cxl.1,id=rp0,chassis=0,slot=2
		-device cxl-type3,bus=rp0,memdev=cxl-mem0,lsa=cxl-lsa0,id=cxl-type3-0
	)
	;;
switch)
	devs=(
		-device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1
		-device cxl-rp,port=0,bus=cxl.1,id=rp0,chassis=0,slot=2
		-device cxl-upstream,bus=rp0,id=us0
		-device cxl-downstream,port=0,bus=us0,id=ds0,chassis=0,slot=4
		-device cxl-type3,bus=ds0,memdev=cxl-mem0,lsa=cxl-lsa0,id=cxl-type3-0
	)
	# three more type3 devices with CDATs from files (every structure type,
	# a bad checksum, a short table: scripts/cdat-tables.sh), named by
	# their serial numbers
	"$HARNESS_ROOT/scripts/cdat-tables.sh" "$run"
	k=1
	for t in every badsum short; do
		mem+=(-object "memory-backend-file,id=cxl-mem$k,share=on,mem-path=$run/cxl-mem$k.raw,size=256M"
			-object "memory-backend-file,id=cxl-lsa$k,share=on,mem-path=$run/cxl-lsa$k.raw,size=256M")
		devs+=(-device "cxl-downstream,port=$k,bus=us0,id=ds$k,chassis=0,slot=$((4 + k))"
			-device "cxl-type3,bus=ds$k,memdev=cxl-mem$k,lsa=cxl-lsa$k,id=cxl-type3-$k,sn=0xcda700000000000$k,cdat=$run/$t.cdat")
		k=$((k + 1))
	done
	;;
*) die "TOPO=direct|switch" ;;
esac

interactive=0
if ((shell)) && [[ -t 0 && -t 1 ]]; then interactive=1; else shell=0; fi

# harness.topo= tells the guest and the tests which topology this is (they
# must not guess it from the devices they find)
cmdline="console=ttyS0 pci=nomsi panic=-1 log_buf_len=1M harness.mode=$mode harness.shell=$shell harness.topo=$topo"
((kunit)) || cmdline+=" kunit.enable=0"
# check boots: a hung task panics, and the panic prints the blocked tasks,
# the held locks and the whole kernel log (PANIC_PRINT_BLOCKED_TASKS |
# _ALL_PRINTK_MSG | _LOCK_INFO), since dmesg -n 1 keeps it off the console.
# No RCU stall report before /init: on a starved host QEMU 7.2's _PRT
# method of the pxb-cxl bridge runs into ACPICA's loop timeout
# (AE_AML_LOOP_TIMEOUT, 30 s) and RCU reports the CPU it held, which is
# firmware; stalls while the tests run still report.
if [[ $mode == check ]]; then
	cmdline+=" sysctl.kernel.hung_task_panic=1 panic_print=0xa8"
	cmdline+=" rcupdate.rcu_cpu_stall_suppress_at_boot=1"
fi
[[ -n $append ]] && cmdline+=" $append"
if ((interactive)); then serial=(-serial mon:stdio); else serial=(-serial stdio); fi

qemu=("$qemu_bin" "${accel[@]}" -M q35,cxl=on -m 1G -smp 2
	-nodefaults -no-reboot -display none "${serial[@]}"
	-kernel "$run/bzImage" -initrd "$run/initrd" -append "$cmdline"
	"${mem[@]}" "${devs[@]}"
	-M cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G)

log=${log:-$LOGS/$mode-$(date +%Y%m%d-%H%M%S)-$topo.log}
mkdir -p "$(dirname "$log")"
printf '# %s\n' "${qemu[*]}" >"$log"
((quiet)) || msg "booting TOPO=$topo mode=$mode (log: ${log#"$HARNESS_ROOT"/})"
t0=$SECONDS
if ((interactive)); then
	set +e
	"${qemu[@]}" | tee -a "$log"
	status=${PIPESTATUS[0]}
	set -e
	stty sane 2>/dev/null || true
else
	set +e
	if ((quiet)); then
		timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >>"$log" 2>&1
		status=$?
	else
		timeout -k 10 "$timeout" "${qemu[@]}" </dev/null 2>&1 | tee -a "$log"
		status=${PIPESTATUS[0]}
	fi
	set -e
fi
secs=$((SECONDS - t0))
printf '# qemu exit status %s after %ss\n' "$status" "$secs" >>"$log"

if ((status == 124 || status == 137)); then
	warn "watchdog: the guest did not power off within ${timeout}s (TIMEOUT=); killed. Log: $log"
	exit 124
fi
if ((status != 0)); then
	warn "QEMU exited with status $status. Log: $log"
	exit 126
fi
if ! tr -d '\r' <"$log" | grep -q '^@@HARNESS: poweroff'; then
	warn "the guest ended without powering off (crash? see $log)"
	exit 125
fi
((quiet)) || msg "guest powered off after ${secs}s"
if [[ $mode == cmd ]]; then
	rc=$(tr -d '\r' <"$log" | sed -n 's/.*@@HARNESS: cmd exit \([0-9]*\).*/\1/p' | tail -1)
	[[ -n $rc ]] || { warn "no exit status from the guest command"; exit 125; }
	exit "$rc"
fi
exit 0
