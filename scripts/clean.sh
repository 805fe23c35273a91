#!/bin/bash
# clean.sh: make clean (build/obj, build/logs and scratch; keeps the unpacked
# tree and ccache) or, with --all, make distclean (all of build/).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

if [[ ${1:-} == --all ]]; then
	msg "removing build/"
	# the lock file goes too: a waiting make recreates it
	find "$B" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
	rm -f "$B/.lock"
	rmdir "$B" 2>/dev/null || true
else
	msg "removing build/obj, build/logs and scratch files"
	rm -rf "$OBJ" "$LOGS" "$TMPD" "$KCONF" "$STAGE" "$GUEST" "$B/selftests" \
		"$INITRD" "$B/series" "$B/series-tree/obj" "$B/.config.stamp" "$B/stage.deleted"
fi
