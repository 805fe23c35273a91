# shellcheck shell=bash disable=SC2034
# Common definitions for the harness scripts.  Sourced, never run.

HARNESS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=$HARNESS_ROOT/build
TARBALL=${KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
PRISTINE=$B/pristine		# unpacked tarball, never written after unpacking
SRC=$B/src			# working tree: hardlinks to PRISTINE + overlay copies
STAGE=$B/stage			# overlay staging area, rebuilt by every overlay run
MANIFEST=$B/overlay.manifest	# what the overlay put into SRC last time
KCONF=$B/kconfig		# O= dir used only to generate the .config
OBJ=$B/obj			# O= dir of the kernel build
LOGS=$B/logs
TMPD=$B/tmp
GUEST=$B/guest			# initramfs staging root
INITRD=$B/initramfs.cpio.gz
# Repository directories that mirror the kernel tree.
OVERLAY_DIRS=(drivers include lib tools Documentation)
JOBS=${JOBS:-3}

# ccache: the default directory (~/.cache/ccache) survives fresh clones; the
# base dir makes paths relative so a clone elsewhere still hits.
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
export CCACHE_BASEDIR=$B
KMAKE=(make -C "$SRC" O="$OBJ" CC="ccache gcc" -j"$JOBS")
# checkpatch runs scripts/spdxcheck.py with "env python3": use Debian's,
# which has python3-ply, even when a pyenv or venv python comes first
CHECKPATCH_ENV=(env PATH="/usr/bin:/bin:$PATH")

msg() { printf '%s\n' "== $*" >&2; }
warn() { printf '%s\n' "WARNING: $*" >&2; }
die() { printf '%s\n' "ERROR: $*" >&2; exit 1; }

# harness_lock: serialise everything that writes build/ (flock on
# build/.lock).  Child scripts inherit the lock through HARNESS_LOCK_HELD.
harness_lock() {
	[[ ${HARNESS_LOCK_HELD:-} == "$B" ]] && return 0
	mkdir -p "$B"
	exec 9>>"$B/.lock"
	if ! flock -n 9; then
		msg "waiting for $B/.lock, held by: $(cat "$B/.lock.owner" 2>/dev/null || echo '?')"
		flock 9
	fi
	printf '%s\n' "pid $$: $(basename "$0") $* (since $(date +%T))" >"$B/.lock.owner"
	export HARNESS_LOCK_HELD=$B
}

# harness_unlock: give the lock back early (e.g. before an interactive boot).
harness_unlock() {
	[[ ${HARNESS_LOCK_HELD:-} == "$B" ]] || return 0
	rm -f "$B/.lock.owner"
	flock -u 9
	exec 9>&-
	unset HARNESS_LOCK_HELD
}

# elapsed SECONDS_START: seconds since a $SECONDS snapshot, as "12s"/"3m04s"
elapsed() {
	local s=$((SECONDS - $1))
	if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# repo_files DIR...: the repository's files under DIR (tracked or untracked,
# minus .gitignore'd ones), relative to HARNESS_ROOT, one per line.
repo_files() {
	local d existing=()
	for d in "$@"; do
		if [[ -e $HARNESS_ROOT/$d ]]; then existing+=("$d"); fi
	done
	((${#existing[@]})) || return 0
	if git -C "$HARNESS_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$HARNESS_ROOT" ls-files --cached --others --exclude-standard -- "${existing[@]}" |
			while IFS= read -r f; do if [[ -f $HARNESS_ROOT/$f ]]; then printf '%s\n' "$f"; fi; done | sort -u
	else
		(cd "$HARNESS_ROOT" && find "${existing[@]}" -type f | sort)
	fi
}

# series_patches: patches/series entries, in order, as paths relative to root.
series_patches() {
	local line
	[[ -f $HARNESS_ROOT/patches/series ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%%#*}
		line=${line//[[:space:]]/}
		if [[ -n $line ]]; then printf 'patches/%s\n' "$line"; fi
	done <"$HARNESS_ROOT/patches/series"
}

# patch_files PATCH: the tree paths a -p1 patch touches.
patch_files() {
	awk '/^(\+\+\+|---) / {
		p = $2; sub(/\t.*/, "", p)
		if (p == "/dev/null") next
		sub(/^[^\/]*\//, "", p); print p }' "$1" | sort -u
}

# kernel_fragments: config fragments merged onto tinyconfig, in order.
kernel_fragments() {
	printf '%s\n' "$HARNESS_ROOT/configs/pci-doe.config"
	local f=$SRC/tools/testing/selftests/pci_doe/config
	if [[ -f $f ]]; then printf "%s\n" "$f"; fi
}
