#!/bin/bash
# lint.sh: static checks of everything we wrote (make lint).
#
#   checkpatch.pl --strict --no-tree -f   every .c/.h of ours
#   checkpatch.pl --strict                every patches/*.patch
#   kernel-doc -none -Wall                our kernel .c/.h (not tools/)
#   W=1 build                             our kernel objects, recompiled
#   sparse (C=2)                          the same objects
#   shell script check (shellcheck)       the harness scripts, if installed
#
# Findings are printed per tool; exit 0 only when there are none.  The W=1
# objects are compiled, then the normal objects and their .cmd files are put
# back, so the next "make build" does not relink.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

OVERLAY_QUIET=1 "$HARNESS_ROOT/scripts/tree.sh"
"$HARNESS_ROOT/scripts/kconfig.sh"

findings=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# section NAME FILE: print FILE under a header and count its lines
section() {
	local n
	n=$(grep -c . "$2" || true)
	if ((n)); then
		printf '\n== %s: %d finding line(s)\n' "$1" "$n"
		cat "$2"
		findings=$((findings + n))
	else
		printf '== %s: clean\n' "$1"
	fi
}

mapfile -t cfiles < <(repo_files drivers include lib tools bench | grep -E '\.[ch]$' || true)
# kernel files of the tree; bench/ is built out of tree by make bench (with
# W=1, failing on any warning) and has no kernel-doc to check
mapfile -t kfiles < <(printf '%s\n' "${cfiles[@]}" | grep -v -e '^tools/' -e '^bench/' || true)
mapfile -t patches < <(cd "$HARNESS_ROOT" && find patches -maxdepth 1 -name "*.patch" | sort)
checkpatch=$SRC/scripts/checkpatch.pl

# 1. checkpatch on our files
: >"$out/checkpatch"
for f in "${cfiles[@]}"; do
	"${CHECKPATCH_ENV[@]}" "$checkpatch" --strict --no-tree --quiet --show-types --no-summary \
		-f "$HARNESS_ROOT/$f" 2>&1 | sed "s|$HARNESS_ROOT/||" >>"$out/checkpatch" || true
done
section "checkpatch --strict -f (${#cfiles[@]} files)" "$out/checkpatch"

# 2. checkpatch on the patches (from the tree root, so tree checks work).
#    patches/ hold bare diffs: their commit messages live in
#    scripts/series.conf, so the commit-level checks are left to
#    "make series-check", which runs checkpatch on the generated series.
: >"$out/patches"
for p in "${patches[@]}"; do
	(cd "$SRC" && "${CHECKPATCH_ENV[@]}" "$checkpatch" --strict --quiet --show-types --no-summary \
		--no-signoff --ignore COMMIT_MESSAGE,DIFF_IN_COMMIT_MSG \
		"$HARNESS_ROOT/$p" 2>&1) | sed "s|$HARNESS_ROOT/||" >>"$out/patches" || true
done
section "checkpatch --strict patches/ (${#patches[@]} patches)" "$out/patches"

# 3. kernel-doc
: >"$out/kdoc"
for f in "${kfiles[@]}"; do
	(cd "$SRC" && scripts/kernel-doc -none -Wall "$f" 2>&1) >>"$out/kdoc" || true
done
section "kernel-doc -none -Wall (${#kfiles[@]} files)" "$out/kdoc"

# 4./5. W=1 and sparse on our kernel objects
objs=()
: >"$out/notbuilt"
for f in "${kfiles[@]}"; do
	[[ $f == *.c ]] || continue
	o=${f%.c}.o
	if grep -qsE "(^|[[:space:]/])$(basename "$o")" "$SRC/$(dirname "$f")/Makefile" "$SRC/$(dirname "$f")/../Makefile"; then
		objs+=("$o")
	else
		echo "$f: not built by any Makefile next to it" >>"$out/notbuilt"
	fi
done
section "objects of our .c files" "$out/notbuilt"

if ((${#objs[@]})); then
	# keep the normal objects to put them back afterwards
	mkdir -p "$out/keep"
	for o in "${objs[@]}"; do
		cmd=$(dirname "$o")/.$(basename "$o").cmd
		for k in "$o" "$cmd"; do
			if [[ -f $OBJ/$k ]]; then
				mkdir -p "$out/keep/$(dirname "$k")"
				cp -p "$OBJ/$k" "$out/keep/$k"
			fi
		done
		rm -f "$OBJ/$o"
	done
	"${KMAKE[@]}" W=1 "${objs[@]}" >"$out/w1.log" 2>&1 || echo "W=1 build failed" >>"$out/w1.log"
	if [[ ${V:-0} == 1 ]]; then cat "$out/w1.log"; fi
	grep -E 'warning:|error:|failed' "$out/w1.log" >"$out/w1" || true
	# restore, then sparse (objects up to date: only the checker runs)
	for o in "${objs[@]}"; do
		cmd=$(dirname "$o")/.$(basename "$o").cmd
		for k in "$o" "$cmd"; do
			if [[ -f $out/keep/$k ]]; then cp -p "$out/keep/$k" "$OBJ/$k"; fi
		done
	done
	section "W=1 build (${objs[*]})" "$out/w1"

	"${KMAKE[@]}" C=2 "${objs[@]}" >"$out/sparse.log" 2>&1 || echo "sparse build failed" >>"$out/sparse.log"
	pat=$(printf '%s\n' "${kfiles[@]}" | sed 's/[.]/[.]/g' | paste -sd'|')
	grep -E "($pat)" "$out/sparse.log" | grep -vE '^ *(CHECK|CC) ' |
		sed -e "s|$SRC/||" -e 's|^\.\./src/||' >"$out/sparse" || true
	grep -E 'failed' "$out/sparse.log" >>"$out/sparse" || true
	section "sparse C=2 (${objs[*]})" "$out/sparse"
fi

# 6. the harness's own scripts
if command -v shellcheck >/dev/null; then
	(cd "$HARNESS_ROOT" && shellcheck -x scripts/*.sh .ci/run &&
		shellcheck -s sh scripts/guest/init scripts/guest/run-selftests bench/guest.sh) >"$out/shellcheck" 2>&1 || true
	section "shellcheck (harness scripts)" "$out/shellcheck"
fi

echo
if ((findings)); then
	echo "make lint: $findings finding line(s)"
	exit 1
fi
echo "make lint: clean"
