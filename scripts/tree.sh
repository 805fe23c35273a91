#!/bin/bash
# tree.sh: unpack the base tree once and lay the repository over a working
# copy of it.
#
#   build/pristine  the unpacked tarball; nothing ever writes into it
#   build/src       "cp -al" of pristine (hardlinks) + our files
#   build/stage     our files and the pristine files patched by patches/series,
#                   rebuilt from scratch on every run
#
# Only files whose content differs from the staged version are replaced in
# build/src, by unlink + copy: a new inode (so the hardlinked pristine copy is
# never written through) with a new mtime (so kbuild rebuilds exactly what
# changed).  build/overlay.manifest remembers what the overlay touched; paths
# that drop out of it are restored from pristine (again by unlink + copy, so
# their mtime is new and kbuild notices).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

unpack() {
	local want have=''
	[[ -f $TARBALL ]] || die "$TARBALL missing (make deps installs linux-source-6.12)"
	want="$TARBALL $(stat -c '%s %Y' "$TARBALL")"
	if [[ -f $B/.pristine.stamp ]]; then have=$(<"$B/.pristine.stamp"); fi
	if [[ $have != "$want" || ! -d $PRISTINE ]]; then
		local t0=$SECONDS
		msg "unpacking $TARBALL into $PRISTINE"
		rm -rf "$PRISTINE" "$PRISTINE.tmp" "$SRC" "$MANIFEST" "$B/.src.stamp"
		mkdir -p "$PRISTINE.tmp"
		tar -xf "$TARBALL" -C "$PRISTINE.tmp" --strip-components=1
		mv "$PRISTINE.tmp" "$PRISTINE"
		printf '%s\n' "$want" >"$B/.pristine.stamp"
		msg "unpacked in $(elapsed $t0)"
	fi
	have=''
	if [[ -f $B/.src.stamp ]]; then have=$(<"$B/.src.stamp"); fi
	if [[ $have != "$want" || ! -d $SRC ]]; then
		msg "creating working tree $SRC (hardlink copy of pristine)"
		rm -rf "$SRC" "$MANIFEST"
		cp -al "$PRISTINE" "$SRC"
		printf '%s\n' "$want" >"$B/.src.stamp"
	fi
}

# copy_new SRCFILE DSTFILE: replace DSTFILE by a fresh copy (new inode, new
# mtime).  Never opens DSTFILE for writing: it may be a hardlink to pristine.
copy_new() {
	mkdir -p "$(dirname "$2")"
	rm -f "$2"
	cp "$1" "$2"
}

stage() {
	local f p
	rm -rf "$STAGE"
	mkdir -p "$STAGE"
	# 1. our files
	while IFS= read -r f; do
		mkdir -p "$STAGE/$(dirname "$f")"
		cp "$HARNESS_ROOT/$f" "$STAGE/$f"
	done < <(repo_files "${OVERLAY_DIRS[@]}")
	# 2. patches/series, applied to copies of the pristine files (or to our
	#    own files when a patch touches one of them)
	: >"$B/stage.deleted"
	while IFS= read -r p; do
		[[ -f $HARNESS_ROOT/$p ]] || die "patches/series lists $p, which does not exist"
		mapfile -t files < <(patch_files "$HARNESS_ROOT/$p")
		for f in "${files[@]}"; do
			if [[ ! -e $STAGE/$f && -f $PRISTINE/$f ]]; then
				mkdir -p "$STAGE/$(dirname "$f")"
				cp "$PRISTINE/$f" "$STAGE/$f"
			fi
		done
		local out
		if ! out=$(patch -d "$STAGE" -p1 -f --fuzz=0 --no-backup-if-mismatch -r - <"$HARNESS_ROOT/$p" 2>&1); then
			printf '%s\n' "$out" >&2
			die "$p does not apply (fuzz is not allowed: git am would refuse it too)"
		fi
		if grep -q 'offset' <<<"$out"; then
			warn "$p applies with an offset:"
			printf '%s\n' "$out" >&2
		fi
		for f in "${files[@]}"; do
			if [[ ! -e $STAGE/$f && -e $PRISTINE/$f ]]; then printf '%s\n' "$f" >>"$B/stage.deleted"; fi
		done
	done < <(series_patches)
}

sync_tree() {
	local f kind changed=0 restored=0
	local -A now=()
	local new=$MANIFEST.new
	: >"$new"
	while IFS= read -r f; do
		now[$f]=1
		printf 'F %s\n' "$f" >>"$new"
		if ! cmp -s "$STAGE/$f" "$SRC/$f"; then
			copy_new "$STAGE/$f" "$SRC/$f"
			msg "overlay: $f"
			changed=$((changed + 1))
		fi
	done < <(cd "$STAGE" && find . -type f -printf '%P\n' | sort)
	while IFS= read -r f; do
		[[ -n $f ]] || continue
		now[$f]=1
		printf 'D %s\n' "$f" >>"$new"
		if [[ -e $SRC/$f ]]; then
			rm -f "$SRC/$f"
			msg "overlay: deleted $f"
			changed=$((changed + 1))
		fi
	done < <(sort -u "$B/stage.deleted")
	# restore what the previous overlay touched and this one does not
	if [[ -f $MANIFEST ]]; then
		while read -r kind f; do
			[[ -n ${now[$f]:-} ]] && continue
			if [[ -f $PRISTINE/$f ]]; then
				if ! cmp -s "$PRISTINE/$f" "$SRC/$f"; then
					copy_new "$PRISTINE/$f" "$SRC/$f"
					msg "overlay: restored pristine $f ($kind)"
					restored=$((restored + 1))
				fi
			elif [[ -e $SRC/$f ]]; then
				rm -f "$SRC/$f"
				rmdir -p --ignore-fail-on-non-empty "$(dirname "$SRC/$f")" 2>/dev/null || true
				msg "overlay: removed $f (not in pristine)"
				restored=$((restored + 1))
			fi
		done <"$MANIFEST"
	fi
	mv "$new" "$MANIFEST"
	if [[ ${OVERLAY_QUIET:-0} != 1 ]] || ((changed + restored)); then
		msg "overlay: $(grep -c . "$MANIFEST" || true) paths overlaid, $changed updated, $restored restored"
	fi
}

unpack
stage
sync_tree
