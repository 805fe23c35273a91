# ktap.awk: count test case results in a KTAP document on a console log.
#
#   awk -v label=LABEL -f ktap.awk LOG-EXTRACT
#
# Parsing starts at the first "KTAP version N"/"TAP version N" line at
# column 0 and ends when the top-level plan is fulfilled (or at EOF).
# Suites are the subtests at indentation 4 ("# Subtest: NAME", a plan, then
# "ok N case" / "not ok N case [# SKIP ...]"); deeper levels (KUnit
# parameters) are summarised by their case line and not counted.  Lines that
# are not KTAP (kernel messages, diagnostics) are ignored.
#
# Output, one record per line:
#   SUITE <label> <suite> <passed> <failed> <skipped>
#   FAILED <label> <suite> <case>
#   ERROR <label> <message>
function flush_suite(result_ok, name,    n) {
	if (suite == "")
		suite = name
	n = pass + fail + skip
	if (plan < 0)
		err("suite " suite ": no plan")
	else if (n != plan) {
		err("suite " suite ": plan 1.." plan " but " n " result(s)")
		if (n < plan)
			fail += plan - n
	}
	if (!result_ok && fail == 0) {
		err("suite " suite " failed without a failing case (crash, timeout or bad exit)")
		fail = 1
	}
	printf "SUITE %s %s %d %d %d\n", label, suite, pass, fail, skip
	suites++
	suite = ""; plan = -1; pass = fail = skip = 0
}
function err(m) {
	printf "ERROR %s %s\n", label, m
}
BEGIN { started = done = 0; topplan = -1; topres = 0; suite = ""; plan = -1; pass = fail = skip = 0; insuite = 0; suites = 0 }
{
	line = $0
	sub(/\r$/, "", line)
	sub(/^\[ *[0-9]+\.[0-9]+\] /, "", line)
	match(line, /^ */)
	ind = RLENGTH
	body = substr(line, ind + 1)
	if (!started) {
		if (ind == 0 && body ~ /^K?TAP version [0-9]+$/)
			started = 1
		next
	}
	if (done)
		next
	if (ind == 0) {
		if (body ~ /^1\.\.[0-9]+/) {
			topplan = substr(body, 4) + 0
			if (topplan == 0)
				done = 1
		} else if (body ~ /^(not )?ok [0-9]+ /) {
			name = body
			sub(/^(not )?ok [0-9]+ /, "", name)
			sub(/ *#.*$/, "", name)
			gsub(/ /, "", name)
			flush_suite(body ~ /^ok/, name)
			insuite = 0
			if (++topres == topplan)
				done = 1
		}
	} else if (ind == 4) {
		if (body ~ /^# Subtest: /) {
			suite = substr(body, 12)
			gsub(/ /, "", suite)
			insuite = 1
		} else if (body ~ /^1\.\.[0-9]+/) {
			plan = substr(body, 4) + 0
			insuite = 1
		} else if (body ~ /^(not )?ok [0-9]+/) {
			insuite = 1
			name = body
			sub(/^(not )?ok [0-9]+ */, "", name)
			if (body ~ /# *[Ss][Kk][Ii][Pp]/)
				skip++
			else if (body ~ /^not ok/) {
				fail++
				sub(/ *#.*$/, "", name)
				failed[++nfailed] = name
				printf "FAILED %s %s %s\n", label, (suite == "" ? "?" : suite), name
			} else
				pass++
		}
	}
}
END {
	if (!started) {
		err("no KTAP output")
		printf "SUITE %s %s 0 1 0\n", label, "(no-KTAP-output)"
	} else if (topplan < 0) {
		err("no top-level KTAP plan")
		printf "SUITE %s %s 0 1 0\n", label, "(no-KTAP-plan)"
	}
	else if (!done) {
		if (insuite) {
			flush_suite(0, "(unfinished)")
			topres++
		}
		err("KTAP output ended early: " topres " of " topplan " top-level result(s) (crash or hang?)")
		for (; topres < topplan; topres++)
			printf "SUITE %s %s %d %d %d\n", label, "missing-" (topres + 1), 0, 1, 0
	}
}
