#!/bin/bash
# cdat-tables.sh DIR: the CDAT files that scripts/qemu.sh hands to the extra
# cxl-type3 devices of the switch topology (cdat=FILE), one per device,
# told apart in the guest by the device serial number (sn=, the Device
# Serial Number capability).  QEMU serves a file entry by entry as it is:
# it checks that the structure lengths add up to the file, warns about a
# bad checksum and serves the table anyway, and never looks at the header's
# length field.  The selftest pci_doe_cli.cdat_qemu_tables reads each one
# back through "doe cdat" and checks it against what is written here.
#
#   every.cdat   sn 0xcda7000000000001: one structure of every type CDAT
#                r1.03 defines (the bytes of every_structure[] in
#                pci_doe_cli.c), checksum correct
#   badsum.cdat  sn 0xcda7000000000002: the same, checksum byte off by one
#   short.cdat   sn 0xcda7000000000003: the same, but the header claims 24
#                bytes more than the structures hold (checksum correct)
set -euo pipefail

dir=${1:?usage: cdat-tables.sh DIR}
mkdir -p "$dir"

# header: length (filled in), revision 3, checksum (filled in), sequence 5
header='00 00 00 00 03 00 00 00 00 00 00 00 05 00 00 00'
structures=(
	# DSMAS: handle 7, non-volatile, DPA base 4 GiB, length 1 GiB
	'00 00 18 00 07 04 00 00 00 00 00 00 01 00 00 00 00 00 00 40 00 00 00 00'
	# DSLBIS: handle 7, write latency, base unit 1000, entry 30
	'01 00 18 00 07 00 02 00 e8 03 00 00 00 00 00 00 1e 00 00 00 00 00 00 00'
	# DSMSCIS: handle 7, 2 MiB memory side cache
	'02 00 14 00 07 00 00 00 00 00 20 00 00 00 00 00 00 00 00 00'
	# DSIS: memory attached, handle 9
	'03 00 08 00 01 09 00 00'
	# DSEMTS: handle 7, EFI conventional + SP, DPA 0x1000 + 0x2000
	'04 00 18 00 07 01 00 00 00 10 00 00 00 00 00 00 00 20 00 00 00 00 00 00'
	# SSLBIS: read bandwidth, base unit 100, two port pairs
	'05 00 20 00 04 00 00 00 64 00 00 00 00 00 00 00 00 01 00 00 19 00 00 00 00 00 ff ff 32 00 00 00'
)

# write_table FILE LENGTH_EXTRA CHECKSUM_EXTRA
write_table() {
	local file=$1 len_extra=$2 sum_extra=$3 b i sum=0 out=''
	local -a bytes
	read -r -a bytes <<<"$header ${structures[*]}"
	local len=$((${#bytes[@]} + len_extra))
	for i in 0 1 2 3; do
		bytes[i]=$(printf '%02x' $(((len >> (8 * i)) & 0xff)))
	done
	for b in "${bytes[@]}"; do
		sum=$((sum + 0x$b))
	done
	bytes[5]=$(printf '%02x' $(((-sum + sum_extra) & 0xff)))
	for b in "${bytes[@]}"; do
		out+="\\x$b"
	done
	printf '%b' "$out" >"$file"
}

write_table "$dir/every.cdat" 0 0
write_table "$dir/badsum.cdat" 0 1
write_table "$dir/short.cdat" 24 0
