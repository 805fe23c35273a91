#!/bin/bash
# kconfig.sh: generate build/obj/.config = tinyconfig + configs/pci-doe.config
# (+ the selftests' config fragment), then check that every fragment line
# survived olddefconfig.  The config is generated in build/kconfig and only
# copied to build/obj when it differs, so an unchanged config never makes
# kbuild (or ccache) see a new one.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
#
#   kconfig.sh [--src DIR --obj DIR --fragment FILE]
# The options generate another kernel's config (make bench: the pristine tree
# and ours with configs/bench.config) in DIR/.config, through DIR.kconfig.
harness_lock "$@"

stamp=$B/.config.stamp
frags=()
while (($#)); do
	case $1 in
	--src) SRC=$2; shift ;;
	--obj) OBJ=$2; KCONF=$2.kconfig; stamp=$2/.harness-config.stamp; shift ;;
	--fragment) frags+=("$2"); shift ;;
	*) die "kconfig.sh: unknown argument $1" ;;
	esac
	shift
done
((${#frags[@]})) || mapfile -t frags < <(kernel_fragments)

# verify CONFIGFILE FRAGMENT...: print dropped lines, return 1 if any
verify() {
	local cfg=$1 frag line sym actual bad=0
	shift
	for frag in "$@"; do
		while IFS= read -r line || [[ -n $line ]]; do
			if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
				sym=${BASH_REMATCH[1]}
				grep -qxF -- "$line" "$cfg" && continue
			elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
				sym=${BASH_REMATCH[1]}
				grep -q "^$sym=" "$cfg" || continue
			else
				continue
			fi
			actual=$(grep -E "^$sym=|^# $sym is not set" "$cfg" || true)
			printf '  %-40s -> %s   (%s)\n' "$line" "${actual:-absent (unmet dependencies)}" "${frag#"$HARNESS_ROOT"/}" >&2
			bad=1
		done <"$frag"
	done
	return $bad
}

# The inputs that decide the config: fragments, Kconfig changes (patches and
# overlaid Kconfig files), the tree and the compiler.
inputs_hash() {
	{
		cat "${frags[@]}"
		cat "$B/.pristine.stamp"
		printf '%s\n' "$SRC"
		gcc --version | head -1
		while IFS= read -r p; do cat "$HARNESS_ROOT/$p"; done < <(series_patches)
		awk '{print $2}' "$MANIFEST" | grep -E '(^|/)Kconfig[^/]*$' | while IFS= read -r f; do
			if [[ -f $SRC/$f ]]; then cat "$SRC/$f"; fi
		done
	} | sha256sum | cut -d' ' -f1
}

hash=$(inputs_hash)
if [[ -f $OBJ/.config && -f $stamp && $(<"$stamp") == "$hash" ]]; then
	exit 0
fi

t0=$SECONDS
msg "generating .config: tinyconfig + ${frags[*]#"$HARNESS_ROOT"/}"
mkdir -p "$KCONF" "$OBJ" "$LOGS"
kmake=(make -C "$SRC" O="$KCONF" CC="ccache gcc")
{
	"${kmake[@]}" tinyconfig
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$KCONF" "$KCONF/.config" "${frags[@]}"
	"${kmake[@]}" olddefconfig
} >"$LOGS/kconfig.log" 2>&1 || { tail -30 "$LOGS/kconfig.log" >&2; die "config generation failed (build/logs/kconfig.log)"; }

if ! verify "$KCONF/.config" "${frags[@]}"; then
	die "the fragment lines above did not survive olddefconfig (see $KCONF/.config)"
fi
if ! cmp -s "$KCONF/.config" "$OBJ/.config"; then
	cp "$KCONF/.config" "$OBJ/.config"
	msg "new .config installed in ${OBJ#"$HARNESS_ROOT"/}"
fi
printf '%s\n' "$hash" >"$stamp"
msg "config ok ($(elapsed $t0)); every fragment line verified"
