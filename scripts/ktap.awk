# ktap.awk: what a KTAP document on a console log reports, suite by suite.
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
# This only reports facts; check.sh judges them against the manifest.
# Output, one record per line:
#   SUITE <label> <suite> <passed> <failed> <skipped> <plan> <results> <status>
#       the case results seen (results = passed + failed + skipped), the
#       suite's plan (-1: none) and its own result line: ok, skip, fail, or
#       none when the document ended inside the suite ("1..0 # SKIP" makes
#       an ok suite a skip)
#   FAILED <label> <suite> <case>              a "not ok" case
#   NOTE <label> <suite> <text>                the directive of the suite's
#       result line, or the reason of a "1..0 # SKIP reason" plan
#   DOC <label> <plan> <results> <complete>    the top-level document:
#       plan -1 = no top-level plan, -2 = no KTAP at all; complete = 1 when
#       the plan is fulfilled
function flush_suite(status, name) {
	if (suite == "")
		suite = name
	if (suite == "")
		suite = "(unnamed-" (topres + 1) ")"
	if (note == "" && directive != "")
		note = directive
	if (planskip && status == "ok")	# "1..0 # SKIP" and exit 0
		status = "skip"
	if (note != "")
		printf "NOTE %s %s %s\n", label, suite, note
	printf "SUITE %s %s %d %d %d %d %d %s\n", label, suite, pass, fail, skip,
		plan, pass + fail + skip, status
	suite = ""; note = ""; directive = ""; plan = -1; pass = fail = skip = planskip = 0
	insuite = 0
}
BEGIN { started = done = 0; topplan = -1; topres = 0; suite = ""; note = ""; plan = -1; pass = fail = skip = planskip = 0; insuite = 0 }
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
			if (topres >= topplan)	# also a trailing plan
				done = 1
		} else if (body ~ /^(not )?ok [0-9]+ /) {
			name = body
			sub(/^(not )?ok [0-9]+ /, "", name)
			directive = ""
			if (match(name, / *#.*$/)) {
				directive = substr(name, RSTART)
				sub(/^ *# */, "", directive)
				name = substr(name, 1, RSTART - 1)
			}
			gsub(/ /, "", name)
			if (body ~ /^ok/ && directive ~ /^[Ss][Kk][Ii][Pp]/)
				status = "skip"
			else
				status = (body ~ /^ok/) ? "ok" : "fail"
			flush_suite(status, name)
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
			if (plan == 0 && match(body, /# *[Ss][Kk][Ii][Pp].*/)) {
				note = substr(body, RSTART)
				sub(/^# */, "", note)
				planskip = 1
			}
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
				printf "FAILED %s %s %s\n", label, (suite == "" ? "?" : suite), name
			} else
				pass++
		}
	}
}
END {
	if (!started) {
		printf "DOC %s -2 0 0\n", label
		exit
	}
	if (insuite)
		flush_suite("none", "")
	printf "DOC %s %d %d %d\n", label, topplan, topres, (done && topplan >= 0) ? 1 : 0
}
