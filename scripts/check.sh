#!/bin/bash
# check.sh: build, then boot four times and judge the results (make check).
#
#   check.sh                        build, boot, judge
#   check.sh --judge [DIR]          judge the logs of an earlier run again, no
#                                   build, no boot (DIR: build/logs/check-latest)
#   check.sh --write-manifest [DIR] write scripts/check.manifest from what the
#                                   logs of DIR show, and print the diff
#   --manifest FILE                 judge against (or write) FILE instead
#
#   boot "direct":  TOPO=direct, KUnit enabled (KTAP of the built-in suites
#                   from the console), then the kselftests in the guest
#   boot "switch":  TOPO=switch, kunit.enable=0, the kselftests again
#   boot "relaxed": TOPO=direct, pci_doe.policy=relaxed, the kselftests
#   boot "locked":  TOPO=direct, pci_doe.policy=locked, the kselftests
#
# Every console log is kept in build/logs/check-<date>/ (check-latest links
# to the last one).  The judging step reads only those files: the KTAP of
# each boot is compared with scripts/check.manifest (format in its header),
# which says which suites each boot runs, how many cases each has and how
# many may skip; a missing or extra suite, another case count, a skip the
# manifest does not allow, an unfulfilled KTAP plan, a boot that did not get
# through and kernel badness on the console (WARNING, BUG, KASAN, lockdep,
# Oops, ...) each count as failures, even when every test passed.
# The last line is "N passed, N failed[, N skipped]"; the exit status is 0
# only with no failure.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# The boots: name, topology, KUnit (0/1), kernel parameters.
# direct and relaxed keep the default pci_doe.user_protocols= (the
# simulator's test protocols 7e57:01/02 are refused to userspace), switch and
# locked accept them (under locked, a mailbox carrying a refused protocol
# cannot be taken, and the simulator suites take theirs).
BOOTS=(
	"direct direct 1"
	"switch switch 0 pci_doe.user_protocols=default,7e57:01,7e57:02"
	# The userspace write policies other than the default (strict): the
	# selftests that need strict skip, pci_doe_policy checks the one booted.
	"relaxed direct 0 pci_doe.policy=relaxed"
	"locked direct 0 pci_doe.policy=locked pci_doe.user_protocols=default,7e57:01,7e57:02"
)
MANIFEST_FILE=$HARNESS_ROOT/scripts/check.manifest
# Must be in the manifest whatever a regenerated one says
REQUIRED='direct kunit pci_doe'
BADNESS='unreferenced object 0x|WARNING:|\bBUG\b|KASAN|possible recursive locking|circular locking|inconsistent lock state|Oops:|Call Trace:|UBSAN|sleeping function called from invalid context'
AWK=(awk -f "$HARNESS_ROOT/scripts/ktap.awk")

action=check dir=''
while (($#)); do
	case $1 in
	--judge) action=judge ;;
	--write-manifest) action=manifest ;;
	--manifest) MANIFEST_FILE=$(realpath -m "$2"); shift ;;
	-h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "check.sh: unknown option $1 (see --help)" ;;
	*) [[ $action != check && -z $dir ]] || die "check.sh: unexpected argument $1"
		dir=$1 ;;
	esac
	shift
done

# --- parsing: logs -> records --------------------------------------------------
# Records (DIR/results.txt), one per line: what ktap.awk reports (SUITE,
# FAILED, NOTE, DOC, see there), then
#   ERROR <failures> <class> <label> <message>   a problem, counting <failures>
#                                                (class: boot scan ktap manifest)
#   DETAIL <label> <text>                         a line that explains one
#   ROW <label> <suite> <passed> <failed> <skipped> <how> [note]   judged suite
#   TOTAL <passed> <failed> <skipped>
# The failures of the final line are the FAILED cases plus the ERROR counts.

# result OK TEXT: one KTAP case of host_pcap (counts in i, ok)
result() {
	i=$((i + 1))
	if (($1)); then
		echo "    ok $i $2"
	else
		echo "    not ok $i $2"
		ok=0
	fi
}

# host_pcap DIR NAME CLEAN: KTAP of the host-side checks of one boot.  The
# guest's pci_doe_cli prints the pcap file its capture test wrote ("@@PCAP
# frames=N len=L req=HEX rsp=HEX file=HEX"); tshark reads it back here, as a
# user would on another machine: the frames, their lengths, and the bytes of
# the first request and response.  No such line: no document, and the
# manifest reports the suite missing.
host_pcap() {
	local d=$1 name=$2 clean=$3 line frames len req rsp pcap lens got i=0 ok
	line=$(grep -o '@@PCAP frames=.*' "$clean" | head -1) || true
	[[ -n $line ]] || return 0
	read -r frames len req rsp pcap <<<"${line#@@PCAP }"
	frames=${frames#frames=} len=${len#len=} req=${req#req=} rsp=${rsp#rsp=}
	pcap=$d/$name.pcap
	perl -ne 'print pack("H*", $1) if /file=([0-9a-f]+)/' <<<"$line" >"$pcap"
	echo "KTAP version 1"
	echo "1..1"
	echo "    # Subtest: pci_doe:tshark"
	echo "    KTAP version 1"
	echo "    1..4"
	ok=1
	if ! lens=$(tshark -r "$pcap" -T fields -e frame.len 2>"$d/$name.tshark.err"); then
		result 0 "tshark reads the capture: $(head -1 "$d/$name.tshark.err")"
		result 0 "frame count"
		result 0 "frame lengths"
		result 0 "first request and response"
	else
		result 1 "tshark reads the capture"
		result "$(($(grep -c . <<<"$lens") == frames))" "frame count: $(grep -c . <<<"$lens") of $frames"
		result "$( ! grep -qv "^$len\$" <<<"$lens" && echo 1 || echo 0)" "every frame $len bytes"
		got=$(tshark -r "$pcap" -x -c 2 2>/dev/null |
			awk '/^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { h = substr($0, 7, 47); gsub(/ /, "", h); f = f h; next }
			     /^$/ { if (f != "") print f; f = "" }
			     END { if (f != "") print f }' | tr '\n' ' ')
		result "$([[ $got == "$req $rsp " ]] && echo 1 || echo 0)" "first request and response bytes"
	fi
	if ((ok)); then echo "ok 1 pci_doe:tshark"; else echo "not ok 1 pci_doe:tshark"; fi
}

# boot_tail DIR NAME CLEAN: DETAIL records of how a failed boot ended: its
# last harness marker, how long QEMU ran, and the console's last lines
boot_tail() {
	local d=$1 name=$2 clean=$3 last secs
	last=$(grep '^@@HARNESS: ' "$clean" | tail -1)
	secs=$(sed -n 's/^# qemu exit status [0-9]* after \([0-9]*\)s$/\1/p' "$d/$name.log" | tail -1)
	echo "DETAIL boot/$name   QEMU ran ${secs:-?}s; last marker: ${last:-(none)}"
	echo "DETAIL boot/$name   the console's last lines (all in $name.txt):"
	grep -v '^# qemu exit status' "$clean" | tail -15 | cut -c1-160 | sed "s/^/DETAIL boot\/$name     /"
}

# parse_boot DIR NAME TOPO KUNIT: the records of one boot, on stdout
parse_boot() {
	local d=$1 name=$2 topo=$3 kunit=$4 log clean rc seen n host
	log=$d/$name.log
	clean=$d/$name.txt
	if [[ ! -f $clean && -f $log ]]; then
		# console text without CRs and printk timestamps
		tr -d '\r' <"$log" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' >"$clean"
	fi
	if [[ ! -f $clean ]]; then
		echo "ERROR 1 boot boot/$name no console log ($name.log)"
		return 0
	fi
	rc=$(cat "$d/$name.rc" 2>/dev/null || true)
	case $rc in
	0) ;;
	124) echo "ERROR 1 boot boot/$name the guest did not power off in time: killed by the watchdog" ;;
	125) echo "ERROR 1 boot boot/$name the guest ended without its poweroff marker (a panic or reboot)" ;;
	'') echo "ERROR 1 boot boot/$name no exit status of qemu.sh ($name.rc): the boot did not finish" ;;
	*) echo "ERROR 1 boot boot/$name qemu.sh failed with status $rc" ;;
	esac
	# a boot that did not end well: where it got to, in the report itself
	# (CI shows only what make check prints)
	if [[ $rc != 0 ]]; then
		boot_tail "$d" "$name" "$clean"
	fi
	# the topology the guest was told (harness.topo=, from scripts/qemu.sh)
	seen=$(sed -n 's/^@@HARNESS: userspace up:.* topo=\([^ ]*\).*/\1/p;T;q' "$clean")
	if [[ -n $seen && $seen != "$topo" ]]; then
		echo "ERROR 1 boot boot/$name the guest booted with harness.topo=$seen, this boot is $topo"
	fi
	if ! grep -q '^@@HARNESS: selftests exit' "$clean"; then
		echo "ERROR 1 boot boot/$name no selftest result on the console: the guest did not get through"
	fi
	if ((kunit)); then
		sed -n '1,/^@@HARNESS: userspace up/p' "$clean" | "${AWK[@]}" -v label="kunit/$name"
	fi
	sed -n '/^@@HARNESS: selftests begin/,/^@@HARNESS: selftests end/p' "$clean" |
		"${AWK[@]}" -v label="selftests/$name"
	host=$(host_pcap "$d" "$name" "$clean")
	if [[ -n $host ]]; then
		"${AWK[@]}" -v label="host/$name" <<<"$host"
	fi
	if grep -nE "$BADNESS" "$clean" >"$d/$name.badness"; then
		n=$(wc -l <"$d/$name.badness")
		echo "ERROR 1 scan scan/$name $n offending console line(s):"
		head -40 "$d/$name.badness" | sed "s/^/DETAIL scan\/$name   /"
		if ((n > 40)); then echo "DETAIL scan/$name   ... (all in $name.badness)"; fi
	else
		rm -f "$d/$name.badness"
	fi
}

# parse DIR: the records of every boot, in DIR/results.txt
parse() {
	local d=$1 b name topo kunit params
	: >"$d/results.txt"
	for b in "${BOOTS[@]}"; do
		read -r name topo kunit params <<<"$b"
		parse_boot "$d" "$name" "$topo" "$kunit" >>"$d/results.txt"
	done
}

boot_names() {
	local b
	for b in "${BOOTS[@]}"; do printf '%s ' "${b%% *}"; done
}

# --- judging: records + manifest -> ROW, ERROR, TOTAL ---------------------------
# judge DIR: appends the verdict to DIR/results.txt
# shellcheck disable=SC2016  # awk program
JUDGE='
function problem(n, cls, lab, m) {
	printf "ERROR %d %s %s %s\n", n, cls, lab, m
	return n
}
function row(boot, kind, text) {
	rows[++nrow] = text; rowb[nrow] = boot; rowk[nrow] = kind
}
function rest(from,    i, s) {
	s = ""
	for (i = from; i <= NF; i++)
		s = s (i > from ? " " : "") $i
	return s
}
BEGIN {
	nb = split(boots, b, " ")
	for (i = 1; i <= nb; i++)
		isboot[b[i]] = 1
	nm = 0; ns = 0
}
FILENAME == manifest {
	line = $0
	sub(/#.*/, "", line)
	nf = split(line, f, " ")
	if (nf == 0)
		next
	where = "line " FNR
	if (nf != 5) {
		mbad[++nmbad] = where ": want BOOT KIND SUITE CASES SKIP, got \"" line "\""
		next
	}
	if (!(f[1] in isboot)) {
		mbad[++nmbad] = where ": unknown boot \"" f[1] "\" (boots: " boots ")"
		next
	}
	if (f[2] != "kunit" && f[2] != "selftests" && f[2] != "host") {
		mbad[++nmbad] = where ": KIND is kunit, selftests or host, not \"" f[2] "\""
		next
	}
	if (f[4] !~ /^[0-9]+$/ || f[5] !~ /^[0-9]+$/ || f[5] + 0 > f[4] + 0) {
		mbad[++nmbad] = where ": CASES and SKIP are numbers, SKIP <= CASES (\"" f[4] " " f[5] "\")"
		next
	}
	key = f[1] SUBSEP f[2] SUBSEP f[3]
	if (key in mcases) {
		mbad[++nmbad] = where ": " f[1] " " f[2] " " f[3] " is listed twice"
		next
	}
	mkey[++nm] = key
	mcases[key] = f[4] + 0
	mskip[key] = f[5] + 0
	next
}
$1 == "SUITE" { s[++ns] = $0; next }
$1 == "NOTE" { note[$2 SUBSEP $3] = rest(4); next }
$1 == "DOC" { doc[++nd] = $0; next }
END {
	if (nomanifest)
		problem(1, "manifest", mname, "does not exist: run scripts/check.sh --write-manifest, review the file and commit it")
	for (i = 1; i <= nmbad; i++)
		problem(1, "manifest", mname, mbad[i])
	split(required, r, " ")
	if (!nomanifest && !((r[1] SUBSEP r[2] SUBSEP r[3]) in mcases))
		problem(1, "manifest", mname, "does not list " r[2] " suite " r[3] " on the " r[1] " boot, which must run")

	for (d = 1; d <= nd; d++) {
		split(doc[d], x, " ")
		lab = x[2]
		if (x[3] == -2)
			problem(1, "ktap", lab, "no KTAP output")
		else if (x[3] == -1)
			problem(1, "ktap", lab, "no top-level KTAP plan")
		else if (!x[5])
			problem(1, "ktap", lab, sprintf("KTAP output ended early: %d of %d top-level result(s) (crash or hang?)", x[4], x[3]))
		if (x[3] == -2)
			docbad[lab] = "there is no KTAP output"
		else if (x[3] < 0 || !x[5])
			docbad[lab] = "the KTAP output ended before it"
	}

	for (i = 1; i <= ns; i++) {
		split(s[i], x, " ")
		lab = x[2]; suite = x[3]; p = x[4]; fl = x[5]; sk = x[6]
		plan = x[7] + 0; res = x[8] + 0; status = x[9]
		split(lab, y, "/")
		key = y[2] SUBSEP y[1] SUBSEP suite
		nt = ((lab SUBSEP suite) in note) ? note[lab, suite] : ""
		sub(/^[Ss][Kk][Ii][Pp]:? */, "", nt)
		inman = key in mcases
		if (seen[key]++)
			fl += problem(1, "ktap", lab, suite ": reported twice")
		whole = (status == "skip" && res == 0)
		if (whole) {
			sk = inman ? mcases[key] : 0
		} else {
			bad = 0
			if (plan < 0) {
				n = (inman ? mcases[key] : res) - res
				if (n < 1)
					n = 1
				fl += bad = problem(n, "ktap", lab, sprintf("%s: no KTAP plan (%d result(s)), %d failure(s) counted", suite, res, n))
			} else if (res < plan)
				fl += bad = problem(plan - res, "ktap", lab, sprintf("%s: plan 1..%d but %d result(s): the %d missing counted as failed", suite, plan, res, plan - res))
			else if (res > plan)
				fl += bad = problem(1, "ktap", lab, sprintf("%s: plan 1..%d but %d result(s)", suite, plan, res))
			if (status == "fail" && x[5] == 0 && !bad)
				fl += problem(1, "ktap", lab, suite ": not ok without a failing case (crash, timeout or bad exit" (nt != "" ? ": " nt : "") ")")
		}
		if (inman) {
			if (!whole && plan >= 0 && plan != mcases[key])
				fl += problem(1, "manifest", lab, sprintf("%s: %d case(s), the manifest says %d", suite, plan, mcases[key]))
			if (sk > mskip[key]) {
				if (whole)
					m = sprintf("%s: skipped as a whole (%s); the manifest says %s", suite, nt, \
						mskip[key] ? "at most " mskip[key] " of its " mcases[key] " cases may skip" : "its " mcases[key] " case(s) must run")
				else
					m = sprintf("%s: %d case(s) skipped, the manifest allows %d", suite, sk, mskip[key])
				fl += problem(1, "manifest", lab, m)
			}
		} else if (!nomanifest)
			fl += problem(1, "manifest", lab, sprintf("%s: not in the manifest (%s case(s), %d skipped); a new suite needs its line (scripts/check.sh --write-manifest)", suite, whole ? "?" : (plan >= 0 ? plan : res), sk))
		row(y[2], y[1], sprintf("ROW %s %s %d %d %d %s%s", lab, suite, whole ? 0 : p, fl, sk, whole ? "whole" : "ran", nt != "" ? " " nt : ""))
	}

	for (i = 1; i <= nm; i++) {
		key = mkey[i]
		if (key in seen)
			continue
		split(key, y, SUBSEP)
		lab = y[2] "/" y[1]
		n = mcases[key] > 0 ? mcases[key] : 1
		problem(n, "manifest", lab, sprintf("%s: missing, the manifest expects %d case(s) (counted as failed)%s", y[3], mcases[key], \
			(lab in docbad) ? "; " docbad[lab] : ""))
		row(y[1], y[2], sprintf("ROW %s %s 0 %d 0 missing", lab, y[3], n))
	}
	# the rows by boot, KUnit first, then as they ran (missing ones last)
	kinds[1] = "kunit"; kinds[2] = "selftests"; kinds[3] = "host"
	for (o = 1; o <= nb; o++)
		for (k = 1; k <= 3; k++)
			for (i = 1; i <= nrow; i++)
				if (rowb[i] == b[o] && rowk[i] == kinds[k])
					print rows[i]
}'

judge() {
	local d=$1 nomanifest=0 m=$MANIFEST_FILE total
	[[ -f $m ]] || { nomanifest=1; m=/dev/null; }
	# the verdict is appended after the parsed records; the totals come from
	# all of them (FAILED cases + every ERROR count)
	awk -v manifest="$m" -v nomanifest="$nomanifest" -v boots="$(boot_names)" \
		-v mname="${MANIFEST_FILE#"$HARNESS_ROOT"/}" -v required="$REQUIRED" \
		"$JUDGE" "$m" "$d/results.txt" >"$d/verdict.tmp"
	cat "$d/verdict.tmp" >>"$d/results.txt"
	rm -f "$d/verdict.tmp"
	total=$(awk '$1 == "ROW" { p += $4; s += $6 }
		$1 == "FAILED" { f++ }
		$1 == "ERROR" { f += $2 }
		END { printf "TOTAL %d %d %d\n", p, f, s }' "$d/results.txt")
	echo "$total" >>"$d/results.txt"
}

# summary DIR: the report on stdout, ending with the one-line verdict
summary() {
	local d=$1 passed failed skipped
	echo
	echo "== results (logs: ${d#"$HARNESS_ROOT"/})"
	awk '$1 == "ROW" {
		line = sprintf("  %-20s %-32s %3d passed, %d failed", $2, $3, $4, $5)
		if ($6 > 0) line = line sprintf(", %d skipped", $6)
		if ($7 == "whole") line = line " (whole suite"
		if ($7 == "missing") line = line " (MISSING"
		if ($7 != "ran") {
			n = ""
			for (i = 8; i <= NF; i++) n = n " " $i
			line = line (n != "" ? ":" n : "") ")"
		}
		print line
	}' "$d/results.txt"
	if grep -q '^FAILED ' "$d/results.txt"; then
		echo
		awk '$1 == "FAILED" { $1 = ""; print "  not ok:" $0 }' "$d/results.txt"
	fi
	if grep -q '^ERROR ' "$d/results.txt"; then
		echo
		echo "  problems (failures each counts):"
		awk '$1 == "ERROR" { n = $2; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "  %3d  %s\n", n, $0 }
		     $1 == "DETAIL" { $1 = $2 = ""; print "       " substr($0, 3) }' "$d/results.txt"
	fi
	read -r _ passed failed skipped < <(grep '^TOTAL ' "$d/results.txt" | tail -1)
	echo
	if [[ -n ${T0:-} ]]; then msg "check took $(elapsed "$T0") (build $((TB - T0))s, boots $((SECONDS - TB))s)"; fi
	if ((skipped > 0)); then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	((failed == 0))
}

# --- the manifest writer ----------------------------------------------------------
# shellcheck disable=SC2016  # awk program
WRITE='
BEGIN { nb = split(boots, b, " "); for (i = 1; i <= nb; i++) order[b[i]] = i }
FILENAME == old {
	line = $0
	sub(/#.*/, "", line)
	if (split(line, f, " ") == 5 && f[4] ~ /^[0-9]+$/) {
		oldcases[f[1], f[2], f[3]] = f[4]
		anycases[f[2], f[3]] = f[4]
	}
	next
}
$1 == "ERROR" && $3 == "boot" { $1 = $2 = $3 = ""; sub(/^ +/, ""); refuse[++nr] = $0; next }
$1 == "DOC" && ($3 < 0 || !$5) { refuse[++nr] = $2 ": incomplete KTAP output"; next }
$1 == "SUITE" {
	split($2, y, "/")
	whole = ($9 == "skip" && $8 == 0)
	if (!whole && ($7 < 0 || $7 != $8))
		refuse[++nr] = $2 " " $3 ": plan " $7 ", " $8 " result(s)"
	n++
	sb[n] = y[2]; sk[n] = y[1]; ss[n] = $3
	if (whole) {
		sc[n] = -1; sx[n] = -1
	} else {
		sc[n] = $7; sx[n] = $6
		ran[y[1], $3] = $7
	}
}
END {
	if (nr) {
		for (i = 1; i <= nr; i++)
			print "cannot write the manifest from this run: " refuse[i] > "/dev/stderr"
		exit 2
	}
	# boots in the order of check.sh, KUnit first, suites as they ran
	kinds[1] = "kunit"; kinds[2] = "selftests"; kinds[3] = "host"
	for (o = 1; o <= nb; o++)
		for (k = 1; k <= 3; k++)
			for (i = 1; i <= n; i++) {
				if (sb[i] != b[o] || sk[i] != kinds[k])
					continue
				c = sc[i]; x = sx[i]
				if (c < 0) {	# skipped as a whole: the count comes from elsewhere
					if ((sk[i], ss[i]) in ran)
						c = ran[sk[i], ss[i]]
					else if ((sb[i], sk[i], ss[i]) in oldcases)
						c = oldcases[sb[i], sk[i], ss[i]]
					else if ((sk[i], ss[i]) in anycases)
						c = anycases[sk[i], ss[i]]
					else {
						print "WARNING: " sb[i] " " sk[i] " " ss[i] " skipped as a whole on every boot: fill in its CASES and SKIP by hand" > "/dev/stderr"
						c = "?"
					}
					x = c
				}
				printf "%-8s %-10s %-30s %5s %5s\n", sb[i], sk[i], ss[i], c, x
			}
}'

manifest_header() {
	cat <<'EOF'
# check.manifest: the suites and cases each boot of "make check" must run.
#
# One line per boot and suite, fields separated by blanks:
#
#   BOOT   direct, switch, relaxed or locked (the boots of scripts/check.sh)
#   KIND   kunit: a KUnit suite (its KTAP on the console during boot; KUnit
#          runs on the direct boot only), selftests: a kselftest program,
#          or host: a check the harness runs on the host from what the boot
#          printed (pci_doe:tshark reads the doe tool's capture back)
#   SUITE  the suite's name: "pci_doe" for KUnit, collection:program for a
#          kselftest ("pci_doe:pci_doe_basic")
#   CASES  the exact number of its test cases (the plan of its KTAP)
#   SKIP   how many of them may skip on this boot: 0 = every case must run,
#          CASES = the suite may skip as a whole (e.g. "1..0 # SKIP")
#
# make check fails when a suite listed here did not run (its CASES count as
# failed), when it has another number of cases, when more than SKIP of its
# cases skip, and when a suite runs that is not listed.  Every skipped case
# counts in the final skip total; a suite skipped as a whole counts CASES.
# The KUnit suite pci_doe on the direct boot must be listed.
#
# After adding or removing cases, suites or skips: run make check, then
#   scripts/check.sh --write-manifest
# which rewrites this file from build/logs/check-latest (what that run
# observed) and prints the diff; review it and commit.  The lines below are
# generated: comments among them are not kept.
#
# BOOT   KIND       SUITE                          CASES  SKIP
EOF
}

# write_manifest DIR
write_manifest() {
	local d=$1 old=$MANIFEST_FILE new rc=0
	[[ -f $old ]] || old=/dev/null
	new=$(mktemp)
	manifest_header >"$new"
	awk -v old="$old" -v boots="$(boot_names)" "$WRITE" "$old" "$d/results.txt" >>"$new" || rc=$?
	if ((rc)); then
		rm -f "$new"
		die "manifest not written (fix the run, or edit ${MANIFEST_FILE#"$HARNESS_ROOT"/} by hand)"
	fi
	if ! grep -q "^direct  *kunit  *pci_doe " "$new"; then
		warn "the run shows no KUnit suite pci_doe on the direct boot: make check will fail until it runs"
	fi
	if [[ -f $MANIFEST_FILE ]] && cmp -s "$MANIFEST_FILE" "$new"; then
		rm -f "$new"
		msg "${MANIFEST_FILE#"$HARNESS_ROOT"/} is up to date with ${d#"$HARNESS_ROOT"/}"
		return 0
	fi
	diff -u --label "a/${MANIFEST_FILE#"$HARNESS_ROOT"/}" --label "b/${MANIFEST_FILE#"$HARNESS_ROOT"/}" \
		"$old" "$new" || true
	cat "$new" >"$MANIFEST_FILE"
	rm -f "$new"
	msg "wrote ${MANIFEST_FILE#"$HARNESS_ROOT"/} from ${d#"$HARNESS_ROOT"/}: review the diff above and commit it"
}

# --- judge or write from existing logs -----------------------------------------
if [[ $action != check ]]; then
	dir=$(realpath -e "${dir:-$LOGS/check-latest}" 2>/dev/null) ||
		die "no logs to read: run make check first (or give a check-<date> directory)"
	parse "$dir"
	if [[ $action == manifest ]]; then
		write_manifest "$dir"
		exit 0
	fi
	judge "$dir"
	summary "$dir" || exit 1
	exit 0
fi

# --- the full run ----------------------------------------------------------------
harness_lock "$@"
T0=$SECONDS
"$HARNESS_ROOT/scripts/build.sh"
"$HARNESS_ROOT/scripts/initramfs.sh"
TB=$SECONDS

stamp=$(date +%Y%m%d-%H%M%S)
dir=$LOGS/check-$stamp
mkdir -p "$dir"
ln -sfn "check-$stamp" "$LOGS/check-latest"

# boot NAME TOPO KUNIT(0/1) [KERNEL-PARAMS]: the console log and the exit
# status of qemu.sh in DIR/NAME.{log,txt,rc}
boot() {
	local name=$1 topo=$2 kunit=$3 params="${APPEND:-} ${4:-}" rc=0 t=$SECONDS log args=()
	params=${params# }
	params=${params% }
	log=$dir/$name.log
	msg "boot $name: TOPO=$topo$( ((kunit)) && echo ', KUnit')${params:+, APPEND=$params} (log: ${log#"$HARNESS_ROOT"/})"
	((kunit)) && args+=(--kunit)
	[[ -n $params ]] && args+=(--append "$params")
	# The watchdog is for a guest that will never end, not a speed limit
	# (a hung task panics the guest after 60 s anyway): a boot takes 1.5
	# to 3.5 minutes on an idle machine and has taken 4-6 on a starved
	# one (RCU stall warnings), where the locked boot once ran past the
	# 300 s default.  TIMEOUT= overrides both.
	args+=(--timeout "${TIMEOUT:-$( ((kunit)) && echo 1200 || echo 900)}")
	"$HARNESS_ROOT/scripts/qemu.sh" --mode check --topo "$topo" --log "$log" --quiet \
		"${args[@]}" || rc=$?
	echo "$rc" >"$dir/$name.rc"
	tr -d '\r' <"$log" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' >"$dir/$name.txt"
	msg "boot $name done in $(elapsed $t)"
}

for b in "${BOOTS[@]}"; do
	read -r name topo kunit params <<<"$b"
	boot "$name" "$topo" "$kunit" "$params"
done

parse "$dir"
judge "$dir"
summary "$dir" || exit 1
