#!/bin/bash
# initramfs.sh: build build/initramfs.cpio.gz, the guest's userspace.
#
#   /init                       scripts/guest/init
#   /bin/busybox + applets      busybox-static, symlinks made here
#   /usr/bin/lspci, setpci      with their ldd closure and pci.ids
#   /lib/modules/<release>      the kernel's modules (modules_install)
#   /harness/bin                run-selftests, links to the selftest tools
#   /harness/selftests/<coll>   our kselftests ("make install" of every
#                               tools/testing/selftests/<coll> in the repo),
#                               built static from the overlaid tree
#   /harness/selftests/list     "coll:prog" lines ("make emit_tests")
#
# The kernel does not depend on it: tests change, the kernel is not rebuilt.
#
#   initramfs.sh --minimal OUT   only /init and busybox, into OUT (the guest
#                                of make bench, whose kernels have no
#                                modules or selftests of their own)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
harness_lock "$@"

minimal=''
if [[ ${1:-} == --minimal ]]; then
	minimal=${2:?initramfs.sh --minimal OUT}
	GUEST=$B/guest-minimal
	INITRD=$minimal
fi

# pack: the staging root into $INITRD
pack() {
	(cd "$GUEST" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 -n >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
}

t0=$SECONDS
[[ -n $minimal ]] || "$HARNESS_ROOT/scripts/tree.sh"

rm -rf "$GUEST"
mkdir -p "$GUEST"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,extra}
mkdir -p "$GUEST"/harness/{bin,selftests} "$GUEST/usr/share/misc"

# busybox and its applets (an applet symlink missing at boot means /init's
# "#!/bin/sh" fails with -ENOENT)
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "$BUSYBOX missing (busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked: install busybox-static"
fi
cp "$BUSYBOX" "$GUEST/bin/busybox"
while IFS= read -r applet; do
	[[ -e $GUEST/$applet ]] && continue
	mkdir -p "$GUEST/$(dirname "$applet")"
	ln -s /bin/busybox "$GUEST/$applet"
done < <("$BUSYBOX" --list-full)

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$GUEST/etc/passwd"
install -m 0755 "$HARNESS_ROOT/scripts/guest/init" "$GUEST/init"
if [[ -n $minimal ]]; then
	pack
	exit 0
fi

# lspci/setpci: dynamic, so copy the loader and libraries too
copy_closure() {
	local bin=$1 lib
	cp -L "$bin" "$GUEST/usr/bin/"
	while IFS= read -r lib; do
		mkdir -p "$GUEST$(dirname "$lib")"
		[[ -e $GUEST$lib ]] || cp -L "$lib" "$GUEST$lib"
	done < <(ldd "$bin" | awk '/=> \// {print $3} /^\t\// {print $1}')
}
for bin in lspci setpci; do
	copy_closure "$(command -v "$bin" || echo "/usr/bin/$bin")"
done
cp /usr/share/misc/pci.ids "$GUEST/usr/share/misc/"

# kernel modules (=m), for modprobe in the guest
if [[ -s $OBJ/modules.order ]]; then
	"${KMAKE[@]}" -s INSTALL_MOD_PATH="$GUEST" INSTALL_MOD_STRIP=1 modules_install >/dev/null ||
		die "modules_install failed"
fi

install -m 0755 "$HARNESS_ROOT/scripts/guest/run-selftests" "$GUEST/harness/bin/"

# our kselftests, static, from the overlaid tree, against the uapi headers
# of that tree (<linux/pci-doe.h> is in no distribution's headers)
"${KMAKE[@]}" -s headers >/dev/null || die "make headers failed"
: >"$GUEST/harness/selftests/list"
mapfile -t colls < <(repo_files tools/testing/selftests | awk -F/ 'NF == 5 && $5 == "Makefile" {print $4}')
for coll in "${colls[@]}"; do
	sdir=$SRC/tools/testing/selftests/$coll
	out=$B/selftests/$coll
	mkdir -p "$out"
	smake=(make -s --no-print-directory -C "$sdir" OUTPUT="$out" COLLECTION="$coll"
		KHDR_INCLUDES="-isystem $OBJ/usr/include"
		USERCFLAGS="-I$SRC/tools/testing/selftests" USERLDFLAGS=-static)
	"${smake[@]}" all || die "building selftests/$coll failed"
	"${smake[@]}" install INSTALL_PATH="$GUEST/harness/selftests/$coll" >/dev/null ||
		die "installing selftests/$coll failed"
	"${smake[@]}" emit_tests | grep -E "^$coll:" >>"$GUEST/harness/selftests/list" || true
	for f in "$GUEST/harness/selftests/$coll"/*; do
		[[ -f $f && -x $f ]] || continue
		if ldd "$f" >/dev/null 2>&1; then
			die "selftests/$coll/$(basename "$f") is not static"
		fi
		ln -sf "../selftests/$coll/$(basename "$f")" "$GUEST/harness/bin/"
	done
done

pack
msg "initramfs ready: build/initramfs.cpio.gz ($(du -h "$INITRD" | cut -f1), $(grep -c . "$GUEST/harness/selftests/list" || true) selftest(s), $(elapsed $t0))"
