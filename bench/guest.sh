#!/bin/sh
# The measurements of "make bench", run in the guest by scripts/bench.sh
# (harness.mode=cmd, cwd /extra).  /extra holds the two modules built for
# the booted kernel, pci_doe_bench_user, and the files "name" (stock, ours,
# ours-relaxed), "rows" (all, or cfgw for the config-write row only) and
# "quick" (1: a tenth of the repetitions).
#
# Output, parsed by bench/report.py: for every measurement
#   @@BENCH begin KEY=VALUE...
#   <what pci_doe_bench or pci_doe_bench_user printed, plus counters>
#   @@BENCH end
# and "@@BENCH fail ..." when one could not be taken.
set -u
cd /extra || exit 1
name=$(cat name)
rows=$(cat rows)
quick=$(cat quick)
CMD=/sys/kernel/debug/pci_doe_bench/cmd
SIM=/sys/kernel/debug/pci_doe_sim
CXL=0000:0d:00.0
fails=0

dmesg -n 1
insmod ./pci_doe_sim.ko || exit 1
insmod ./pci_doe_bench.ko || exit 1

reps() {
	if [ "$quick" = 1 ]; then echo $(($1 / 10)); else echo "$1"; fi
}

fail() {
	echo "@@BENCH fail $name $*"
	fails=$((fails + 1))
}

# bench KEY=VALUE... -- COMMAND: one measurement through the module
bench() {
	keys=
	while [ "$1" != -- ]; do keys="$keys $1"; shift; done
	shift
	if ! echo "$*" >$CMD; then
		fail "$keys: $*"
		return 1
	fi
	echo "@@BENCH begin kernel=$name$keys"
	cat $CMD
}

# counters ID: config accesses and exchanges the simulator saw on fID/mb0
counters() {
	awk '/_reads / { r += $2 } /_writes / { w += $2 }
	     /^(exchanges|gos|aborts) / { print }
	     END { print "cfg_reads " r; print "cfg_writes " w }' "$SIM/f$1/mb0/counters"
}

# Simulated functions with one mailbox each (capability version 2)
ids=
bdfs=
for _ in 1 2 3 4 5 6 7 8; do
	echo 1 >$SIM/add || exit 1
	read -r id bdf <$SIM/add
	ids="$ids $id"
	bdfs="$bdfs $bdf"
done
f0=${ids# }
f0=${f0%% *}
b0=${bdfs# }
b0=${b0%% *}

echo "@@BENCH info kernel=$name uname=$(uname -r) cmdline=$(tr ' ' ',' </proc/cmdline)"
# the CDATs the CXL driver read through pci_doe(): must be the same bytes
# with both libraries
for f in /sys/bus/cxl/devices/*/CDAT; do
	[ -e "$f" ] || continue
	d=${f%/CDAT}
	echo "@@BENCH cdat kernel=$name dev=${d##*/} bytes=$(wc -c <"$f") sha256=$(sha256sum <"$f" | cut -d' ' -f1)"
done

echo async >$CMD
has_async=$(cat $CMD)
echo "@@BENCH info kernel=$name async=$has_async quick=$quick cpus=$(grep -c ^processor /proc/cpuinfo)"

if [ "$rows" = all ]; then
	# cost of one config read (DOE Status: no side effects)
	# and of one write (0 to DOE Control: neither Go nor Abort)
	n=$(reps 200000)
	bench row=access dev=sim op=read reps="$n" -- cfg "$b0" 0x10c "$n" && echo "@@BENCH end"
	bench row=access dev=sim op=write reps="$n" -- cfgw "$b0" 0x108 "$n" && echo "@@BENCH end"
	n=$(reps 20000)
	bench row=access dev=cxl op=read reps="$n" -- cfg $CXL 0x19c "$n" && echo "@@BENCH end"
	bench row=access dev=cxl op=write reps="$n" -- cfgw $CXL 0x198 "$n" && echo "@@BENCH end"

	# CPU of the workqueue workers with no exchange going on
	bench row=idle -- idle 2000 && echo "@@BENCH end"

	# Every row below is taken in tries, interleaved with the other rows
	# of its section, so that a try's spread shows the drift of the
	# machine (QEMU TCG on a shared host) as well as the row's own noise.

	# the machine's timers: how late a short sleep ends, what a sleep and
	# wake-up costs (the floor of the CPU rows)
	for try in 1 2 3; do
		for us in 10 100 1000; do
			bench row=sleep sleep_us=$us try=$try -- sleep $us "$(reps 500)" &&
				echo "@@BENCH end"
		done
	done

	# latency, config accesses and CPU per exchange
	for try in 1 2 3; do
		for lat in 0 10 100 1000; do
			case $lat in
			0 | 10) n=$(reps 1500) ;;
			100) n=$(reps 1000) ;;
			*) n=$(reps 500) ;;
			esac
			echo $lat >"$SIM/f$f0/mb0/latency_us"
			for kind in disc echo64; do
				echo 1 >"$SIM/f$f0/mb0/counters"
				if bench row=lat dev=sim lat_us=$lat xchg=$kind try=$try -- \
					lat "$b0" $kind "$n"; then
					counters "$f0"
					echo "@@BENCH end"
				fi
			done
		done
		echo 0 >"$SIM/f$f0/mb0/latency_us"
		for kind in disc cdat; do
			bench row=lat dev=cxl lat_us=0 xchg=$kind try=$try -- \
				lat $CXL $kind "$(reps 1000)" && echo "@@BENCH end"
		done
	done

	# the userspace paths beside the kernel's, on the same two mailboxes
	# (the simulator's first at device latency 0, cxl-type3's): pci_doe()
	# from the module, the char device (ours), raw registers through
	# sysfs config (taken first where the char device exists)
	for try in 1 2 3; do
		for dev in sim cxl; do
			if [ $dev = sim ]; then
				bdf=$b0
				off=0x100
			else
				bdf=$CXL
				off=0x190
			fi
			for kind in disc cdatfull; do
				if [ $kind = disc ]; then n=$(reps 1000); else n=$(reps 200); fi
				bench row=path dev=$dev xchg=$kind path=kernel try=$try reps="$n" -- \
					lat "$bdf" $kind "$n" && echo "@@BENCH end"
				for path in med raw; do
					[ $path = med ] && [ "$has_async" = 0 ] && continue
					if out=$(./pci_doe_bench_user $path $kind "$bdf" $off "$n"); then
						echo "@@BENCH begin kernel=$name row=path dev=$dev xchg=$kind path=$path try=$try reps=$n"
						echo "$out"
						echo "@@BENCH end"
					else
						fail "$path $kind $bdf@$off"
					fi
				done
			done
		done
	done

	# throughput, 1-8 mailboxes at once; CPU-bound at 0 us: more
	# exchanges, five tries
	for lat in 0 1000; do
		for id in $ids; do echo $lat >"$SIM/f$id/mb0/latency_us"; done
		if [ $lat = 0 ]; then
			n=$(reps 2000)
			tries="1 2 3 4 5"
		else
			n=$(reps 200)
			tries="1 2 3"
		fi
		for try in $tries; do
			for nmb in 1 2 4 8; do
				list=$(echo "$bdfs" | cut -d' ' -f2-$((nmb + 1)))
				for mode in sync async; do
					[ $mode = async ] && [ "$has_async" = 0 ] && continue
					# shellcheck disable=SC2086 # $list: one argument per function
					bench row=tput lat_us=$lat mailboxes=$nmb mode=$mode try=$try reps="$n" -- \
						tput $mode "$n" $list && echo "@@BENCH end"
				done
			done
		done
	done
	for id in $ids; do echo 0 >"$SIM/f$id/mb0/latency_us"; done

	# enumeration and Discovery of N mailboxes
	for try in 1 2 3; do
		for n in 1 2 4 8 16 32 64 128 256; do
			if out=$(./pci_doe_bench_user enum $n); then
				echo "@@BENCH begin kernel=$name row=enum mailboxes=$n try=$try"
				echo "$out"
				echo "@@BENCH end"
			else
				fail "enum $n"
			fi
		done
	done
fi

# non-DOE config writes through sysfs, with and without a kernel claim on the
# function's mailbox (claims: ours only): the Command register, and a dword
# of extended config space between the simulator's first two mailboxes
# (0x118-0x11f belongs to no capability); reads of the Command register as
# the control (no DOE hook sees reads)
n=$(reps 20000)
for claim in 0 1; do
	if [ $claim = 1 ]; then
		echo "claim $b0" >$CMD 2>/dev/null || continue
	fi
	# interleaved, so that the control is taken next to what it controls
	for try in 1 2 3 4 5; do
		for what in "cfgr 0x4 2" "cfgw 0x4 2" "cfgw 0x11c 4"; do
			# shellcheck disable=SC2086 # split "cmd offset size"
			set -- $what
			if out=$(./pci_doe_bench_user "$1" "$b0" "$2" "$3" "$n"); then
				echo "@@BENCH begin kernel=$name row=$1 off=$2 claimed=$claim try=$try reps=$n"
				echo "$out"
				echo "@@BENCH end"
			else
				fail "$1 $2 claim=$claim"
			fi
		done
	done
	[ $claim = 1 ] && echo "release $b0" >$CMD
done

for id in $ids; do echo "$id" >$SIM/del; done
rmmod pci_doe_bench
rmmod pci_doe_sim
echo "@@BENCH done kernel=$name fails=$fails"
[ $fails = 0 ]
