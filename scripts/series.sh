#!/bin/bash
# series.sh: generate the upstream patch series (make series) and, with
# --check, build its result (make series-check).
#
# The commits are described by scripts/series.conf.  They are built with git
# plumbing on top of a "base" commit of the pristine tree (build/series.git,
# made once; about 2 minutes), then exported with git format-patch
# --cover-letter into build/series/.  Checks, each fatal:
#   - every file we overlay and every patch of patches/series is in exactly
#     one commit, and patches keep their patches/series order
#   - the series' final tree equals the tree that make build/check test
#   - a fresh checkout of base + "git am" of the series applies cleanly
#     (whitespace errors included) and gives the same tree
# --check also runs checkpatch --strict on the generated patches and builds
# the git am result with the kernel config of build/obj.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"
# build/series* also belong to a series-check that released build/.lock
exec 8>>"$B/.series.lock"
if ! flock -n 8; then
	msg "waiting for $B/.series.lock (a series-check is building)"
	flock 8
fi

check=0
[[ ${1:-} == --check ]] && check=1
CONF=$HARNESS_ROOT/scripts/series.conf
SG=$B/series.git
IDX=$B/series.index
VERIFY=$B/series-tree/src
OUTDIR=$B/series
g() { GIT_DIR=$SG GIT_INDEX_FILE=$IDX git "$@"; }

OVERLAY_QUIET=1 "$HARNESS_ROOT/scripts/tree.sh"

# --- identity -----------------------------------------------------------------
name=$(git -C "$HARNESS_ROOT" config user.name 2>/dev/null || true)
email=$(git -C "$HARNESS_ROOT" config user.email 2>/dev/null || true)
if [[ -z $name || -z $email ]]; then
	name="pci-doe developers"
	email="pci-doe@example.org"
fi
export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email

# --- parse series.conf ------------------------------------------------------------
subj=() paths=() body=() to=() cc=()
cover_subj='' version=1 i=0 in_body=0
body[0]=''
while IFS= read -r line || [[ -n $line ]]; do
	if [[ $line == '---' ]]; then
		i=$((i + 1)) in_body=0
		subj[i]='' paths[i]='' body[i]=''
		continue
	fi
	if ((in_body)); then
		body[i]+=$line$'\n'
		continue
	fi
	[[ $line == '#'* ]] && continue
	if [[ -z $line ]]; then
		in_body=1
		continue
	fi
	key=${line%%:*} val=${line#*:}
	val=${val# }
	case $i:$key in
	0:Cover) cover_subj=$val ;;
	0:To) to+=("--to=$val") ;;
	0:Cc) cc+=("--cc=$val") ;;
	0:Version) version=$val ;;
	*:Subject) ((i > 0)) || die "series.conf: Subject in the cover block"; subj[i]=$val ;;
	*:Paths) ((i > 0)) || die "series.conf: Paths in the cover block"; paths[i]+=" $val" ;;
	*) die "series.conf: unknown key '$key' in block $i" ;;
	esac
done <"$CONF"
ncommits=$i
((ncommits > 0)) || die "series.conf: no commits"
[[ -n $cover_subj ]] || die "series.conf: no Cover: subject"
trim() { sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' <<<"$1"; }

# --- coverage ---------------------------------------------------------------------
declare -A owner=()
conf_patches=()
for ((i = 1; i <= ncommits; i++)); do
	[[ -n ${subj[i]} ]] || die "series.conf: commit $i has no Subject"
	[[ -n ${paths[i]// /} ]] || die "series.conf: commit $i (${subj[i]}) has no Paths"
	for p in ${paths[i]}; do
		if [[ $p == patches/*.patch ]]; then
			[[ -f $HARNESS_ROOT/$p ]] || die "series.conf: $p does not exist"
			files=("$p")
			conf_patches+=("$p")
		else
			mapfile -t files < <(repo_files "$p")
			((${#files[@]})) || die "series.conf: no files under $p (commit $i)"
		fi
		for f in "${files[@]}"; do
			[[ -z ${owner[$f]:-} ]] || die "series.conf: $f is in commits ${owner[$f]} and $i"
			owner[$f]=$i
		done
	done
done
missing=()
while IFS= read -r f; do
	[[ -n ${owner[$f]:-} ]] || missing+=("$f")
done < <(repo_files "${OVERLAY_DIRS[@]}"; series_patches)
((${#missing[@]} == 0)) || die "not in any commit of scripts/series.conf: ${missing[*]}"
mapfile -t want_order < <(series_patches)
[[ "${conf_patches[*]}" == "${want_order[*]}" ]] ||
	die "series.conf applies patches in the order '${conf_patches[*]}', patches/series says '${want_order[*]}'"

# --- base commit (once per pristine tree) ---------------------------------------------
if [[ ! -f $B/.series-base.stamp || $(<"$B/.series-base.stamp") != "$(<"$B/.pristine.stamp")" ]]; then
	t0=$SECONDS
	msg "series: committing the pristine tree as 'base' in build/series.git (once)"
	rm -rf "$SG" "$IDX" "$B/series-tree"
	git init -q --bare "$SG"
	g config core.compression 1
	g config gc.auto 0
	(cd "$PRISTINE" && GIT_DIR=$SG GIT_INDEX_FILE=$IDX GIT_WORK_TREE=$PRISTINE git add -A -f .)
	tree=$(g write-tree)
	ver=$(make -s -C "$PRISTINE" kernelversion 2>/dev/null || echo 6.12)
	base=$(GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
		g commit-tree "$tree" -m "base: linux-source-6.12 ($ver)")
	g update-ref refs/heads/base "$base"
	cp "$B/.pristine.stamp" "$B/.series-base.stamp"
	msg "series: base committed in $(elapsed $t0)"
fi

# --- the commits ------------------------------------------------------------------
g read-tree refs/heads/base
parent=$(g rev-parse refs/heads/base)
msgf=$(mktemp)
trap 'rm -f "$msgf"' EXIT
for ((i = 1; i <= ncommits; i++)); do
	for p in ${paths[i]}; do
		if [[ $p == patches/*.patch ]]; then
			g apply --cached -p1 --whitespace=error-all "$HARNESS_ROOT/$p" ||
				die "$p does not apply in commit $i (${subj[i]})"
			continue
		fi
		while IFS= read -r f; do
			mode=100644
			[[ -x $HARNESS_ROOT/$f ]] && mode=100755
			blob=$(g hash-object -w "$HARNESS_ROOT/$f")
			g update-index --add --cacheinfo "$mode,$blob,$f"
		done < <(repo_files "$p")
	done
	tree=$(g write-tree)
	[[ $tree != "$(g rev-parse "$parent^{tree}")" ]] || die "commit $i (${subj[i]}) changes nothing"
	{
		printf '%s\n\n' "${subj[i]}"
		trim "${body[i]}"
		printf '\nSigned-off-by: %s <%s>\n' "$name" "$email"
	} >"$msgf"
	parent=$(g commit-tree "$tree" -p "$parent" -F "$msgf")
done
g update-ref refs/heads/series "$parent"

# The series must produce exactly the tree that make build/check test.
while read -r kind f; do
	if [[ $kind == F ]]; then
		g cat-file blob "series:$f" 2>/dev/null | cmp -s - "$SRC/$f" ||
			die "the series' $f differs from build/src/$f (overlay and series disagree)"
	elif g cat-file -e "series:$f" 2>/dev/null; then
		die "the series keeps $f, which patches/ delete"
	fi
done <"$MANIFEST"

# --- format-patch ---------------------------------------------------------------
rm -rf "$OUTDIR"
vopt=()
((version > 1)) && vopt=(-v "$version")
g format-patch -q --cover-letter --thread=shallow "${vopt[@]}" "${to[@]}" "${cc[@]}" \
	-o "$OUTDIR" refs/heads/base..refs/heads/series
cover=$(find "$OUTDIR" -name '*0000-cover-letter.patch')
blurb=$(trim "${body[0]}")
SUBJ=$cover_subj BLURB=$blurb awk '
	/\*\*\* SUBJECT HERE \*\*\*/ { sub(/\*\*\* SUBJECT HERE \*\*\*/, ENVIRON["SUBJ"]) }
	/^\*\*\* BLURB HERE \*\*\*$/ { print ENVIRON["BLURB"]; next }
	{ print }' "$cover" >"$cover.new"
mv "$cover.new" "$cover"

# --- git am on a fresh checkout of base -----------------------------------------------
if [[ ! -e $VERIFY/.git ]]; then
	msg "series: checking out base into build/series-tree/src (once)"
	rm -rf "$VERIFY"
	mkdir -p "$(dirname "$VERIFY")"
	GIT_DIR=$SG git worktree prune
	GIT_DIR=$SG git worktree add -q --detach "$VERIFY" refs/heads/base
fi
vg() { git -C "$VERIFY" "$@"; }
vg am --abort >/dev/null 2>&1 || true
vg checkout -q -f --detach refs/heads/base
vg clean -q -fdx
mapfile -t mails < <(find "$OUTDIR" -name '*.patch' ! -name '*0000-cover-letter.patch' | sort)
if ! vg am -q --whitespace=error-all "${mails[@]}"; then
	vg am --abort >/dev/null 2>&1 || true
	die "git am of build/series/ on base failed"
fi
[[ $(vg rev-parse 'HEAD^{tree}') == "$(g rev-parse 'refs/heads/series^{tree}')" ]] ||
	die "git am of build/series/ gives a different tree"

msg "series: build/series/ ($(basename "$cover") + ${#mails[@]} patches) applies cleanly with git am on base"
for m in "${mails[@]}"; do
	printf '  %s\n' "$(basename "$m")"
done

((check)) || exit 0

# --- series-check -----------------------------------------------------------------
t0=$SECONDS
fail=0
[[ -f $OBJ/.config ]] || "$HARNESS_ROOT/scripts/kconfig.sh"
sobj=$B/series-tree/obj
mkdir -p "$sobj"
cp "$OBJ/.config" "$sobj/.config"
# The long part only touches build/series-tree: let make build/check run
# meanwhile (build/.series.lock, still held, keeps make series out).
harness_unlock
msg "series-check: checkpatch --strict on the generated patches"
for m in "${mails[@]}"; do
	if ! (cd "$VERIFY" && "${CHECKPATCH_ENV[@]}" "$VERIFY/scripts/checkpatch.pl" --strict --quiet --show-types "$m"); then
		fail=1
	fi
done
# Every step must build, not only the last: check each commit out in turn
# (only the files a step changes get new mtimes, so each build is
# incremental) and build it with the config of build/obj, less the options
# that step does not have yet.
msg "series-check: building each of the ${#mails[@]} steps (build/series-tree/obj, config of build/obj)"
smake=(make -C "$VERIFY" O="$sobj" CC="ccache gcc" -j"$JOBS")
: >"$LOGS/series-check.log"
amhead=$(vg rev-parse HEAD)
mapfile -t steps < <(vg rev-list --reverse "refs/heads/base..$amhead")
((${#steps[@]} == ${#mails[@]})) || die "git am made ${#steps[@]} commits of ${#mails[@]} patches"
for ((k = 1; k <= ${#steps[@]}; k++)); do
	ts=$SECONDS
	vg checkout -q --detach "${steps[k - 1]}"
	cp "$OBJ/.config" "$sobj/.config"
	"${smake[@]}" olddefconfig >/dev/null
	if ((k == ${#mails[@]})); then
		cmp -s "$sobj/.config" "$OBJ/.config" || { warn "the series' .config differs from build/obj/.config"; fail=1; }
	fi
	step=$(vg log -1 --format=%s)
	echo "=== step $k: $step" >>"$LOGS/series-check.log"
	if ! "${smake[@]}" bzImage modules >>"$LOGS/series-check.log" 2>&1; then
		grep -E 'error|Error' "$LOGS/series-check.log" | tail -20 >&2
		warn "step $k ($step) does not build (build/logs/series-check.log)"
		fail=1
		break
	fi
	msg "series-check: step $k/${#mails[@]} builds ($(elapsed $ts)): $step"
done
vg checkout -q --detach "$amhead"
grep -E 'warning:' "$LOGS/series-check.log" >&2 || true
msg "series-check took $(elapsed $t0)"
((fail == 0)) || die "series-check failed"
msg "series-check: ok"
