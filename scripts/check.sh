#!/bin/bash
# check.sh: build, then boot four times and judge the results (make check).
#
#   boot "direct":  TOPO=direct, KUnit enabled (KTAP of the built-in suites
#                   from the console), then the kselftests in the guest
#   boot "switch":  TOPO=switch, kunit.enable=0, the kselftests again
#   boot "relaxed": TOPO=direct, pci_doe.policy=relaxed, the kselftests
#   boot "locked":  TOPO=direct, pci_doe.policy=locked, the kselftests
#
# Every console log is kept in build/logs/check-<date>/ (check-latest links
# to the last one) and scanned for kernel badness (WARNING, BUG, KASAN,
# lockdep, Oops, ...): a hit fails the run even when every test passed.
# The last line is "N passed, N failed[, N skipped]"; the exit status is 0
# only with no failure, a complete KTAP plan and a result from every boot.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

t0=$SECONDS
"$HARNESS_ROOT/scripts/build.sh"
"$HARNESS_ROOT/scripts/initramfs.sh"
tb=$SECONDS

stamp=$(date +%Y%m%d-%H%M%S)
dir=$LOGS/check-$stamp
mkdir -p "$dir"
ln -sfn "check-$stamp" "$LOGS/check-latest"
records=$dir/results.txt
: >"$records"
BADNESS='unreferenced object 0x|WARNING:|\bBUG\b|KASAN|possible recursive locking|circular locking|inconsistent lock state|Oops:|Call Trace:|UBSAN|sleeping function called from invalid context'
AWK=(awk -f "$HARNESS_ROOT/scripts/ktap.awk")

record() { printf '%s\n' "$*" >>"$records"; }

# boot NAME TOPO KUNIT(0/1) EXTRA-KERNEL-PARAMS QEMU-ARGS...
boot() {
	local name=$1 topo=$2 kunit=$3 params="${APPEND:-} $4" rc=0 t=$SECONDS log clean
	shift 4
	params=${params# }
	params=${params% }
	log=$dir/$name.log
	clean=$dir/$name.txt
	msg "boot $name: TOPO=$topo$( ((kunit)) && echo ', KUnit')${params:+, APPEND=$params} (log: ${log#"$HARNESS_ROOT"/})"
	"$HARNESS_ROOT/scripts/qemu.sh" --mode check --topo "$topo" --log "$log" --quiet \
		${params:+--append "$params"} "$@" || rc=$?
	# console text without CRs and printk timestamps
	tr -d '\r' <"$log" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' >"$clean"
	case $rc in
	0) ;;
	125) record "SUITE boot/$name (no-clean-poweroff) 0 1 0"
		record "ERROR boot/$name the guest hung or crashed (watchdog or no poweroff marker)" ;;
	*) record "SUITE boot/$name (qemu-failed) 0 1 0"
		record "ERROR boot/$name qemu.sh failed with status $rc" ;;
	esac
	if ! grep -q '^@@HARNESS: selftests exit' "$clean"; then
		record "SUITE boot/$name (no-boot-result) 0 1 0"
		record "ERROR boot/$name no selftest result on the console: the guest did not get through"
	fi
	if ((kunit)); then
		sed -n '1,/^@@HARNESS: userspace up/p' "$clean" | "${AWK[@]}" -v label="kunit/$name" >>"$records"
		if ! grep -q "^SUITE kunit/$name pci_doe " "$records"; then
			record "SUITE kunit/$name (pci_doe-missing) 0 1 0"
			record "ERROR kunit/$name the pci_doe KUnit suite did not run"
		fi
	fi
	sed -n '/^@@HARNESS: selftests begin/,/^@@HARNESS: selftests end/p' "$clean" |
		"${AWK[@]}" -v label="selftests/$name" >>"$records"
	if grep -nE "$BADNESS" "$clean" >"$dir/$name.badness"; then
		record "SUITE scan/$name (console-badness) 0 1 0"
		record "ERROR scan/$name $(wc -l <"$dir/$name.badness") offending console line(s):"
		head -40 "$dir/$name.badness" | sed "s/^/ERROR scan\/$name   /" >>"$records"
	fi
	msg "boot $name done in $(elapsed $t)"
}

boot direct direct 1 '' --kunit
boot switch switch 0 ''
# The userspace write policies other than the default (strict): the
# selftests that need strict skip, pci_doe_policy checks the one booted.
boot relaxed direct 0 'pci_doe.policy=relaxed'
boot locked direct 0 'pci_doe.policy=locked'

# --- summary ---------------------------------------------------------------------
echo
echo "== results (logs: ${dir#"$HARNESS_ROOT"/})"
awk '$1 == "SUITE" && $3 !~ /^\(/ {
	line = sprintf("  %-20s %-32s %3d passed, %d failed", $2, $3, $4, $5)
	if ($6 > 0) line = line sprintf(", %d skipped", $6)
	print line
}' "$records"
if grep -q '^FAILED ' "$records"; then
	echo
	awk '$1 == "FAILED" { $1 = ""; print "  not ok:" $0 }' "$records"
fi
if grep -q '^ERROR ' "$records"; then
	echo
	sed -n 's/^ERROR /  /p' "$records"
fi
read -r passed failed skipped < <(awk '$1 == "SUITE" { p += $4; f += $5; s += $6 } END { print p + 0, f + 0, s + 0 }' "$records")
echo
msg "check took $(elapsed $t0) (build $((tb - t0))s, boots $((SECONDS - tb))s)"
if ((skipped > 0)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
if ((failed > 0)) || grep -q '^ERROR ' "$records"; then
	exit 1
fi
