#!/usr/bin/env bash
# Extracts the PC firmware Popek bundles, SeaBIOS, from one pinned Debian 12
# package: `seabios` 1.16.2-1 (architecture all). Nothing is compiled: the
# outputs are Debian's own builds of /usr/share/seabios/bios.bin (the 128 KiB
# image QEMU's i440fx PC uses) and vgabios-isavga.bin (SeaVGABIOS for an ISA
# VGA: the standard VGA registers, Bochs VBE when present), checked byte for
# byte.
#
# Usage:
#   extract.sh          download the pinned .deb, check it, write bios.bin,
#                       vgabios-isavga.bin, COPYING.LESSER, COPYING,
#                       debian-copyright here
#   extract.sh check    only check the committed files against SHA256SUMS
#
# Environment:
#   OUT_DIR    where the outputs go (default: this folder)
#   WORK_DIR   scratch folder (default: a temporary directory, removed at exit)
#
# The app never downloads firmware: bios.bin is committed like the Tiny Linux
# guest's bzImage, and this recipe is how it was made (and how to check it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${OUT_DIR:-$HERE}
MODE=${1:-extract}

# The pin: package version, the .deb's SHA-256 (as Debian's Packages index lists
# it) and the SHA-256 of each image taken from it.
PACKAGE=seabios
VERSION=1.16.2-1
DEB=${PACKAGE}_${VERSION}_all.deb
DEB_SHA256=08e5b3f761379f17a6051731cafa03e97686049e2cc1b8bdccc5a910646e2d8e
BIOS_SHA256=7ba476745bd8d32d66b7a5bd12999e2445e7a345a4a72c30352b1d4a69a26e88
VGABIOS_SHA256=26f5061af797a5537df089025938fa3587c38c2270ec8d77fa384c4563eb834c

log() { printf '[seabios] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

check_sum() { # file expected-sha256
	local got
	got=$(sha256sum "$1" | cut -d' ' -f1)
	[[ $got == "$2" ]] || die "$1: sha256 $got, expected $2"
}

check_outputs() {
	(cd "$OUT_DIR" && sha256sum --quiet -c SHA256SUMS) || die "outputs in $OUT_DIR do not match SHA256SUMS"
	check_sum "$OUT_DIR/bios.bin" "$BIOS_SHA256"
	check_sum "$OUT_DIR/vgabios-isavga.bin" "$VGABIOS_SHA256"
	log "bios.bin and vgabios-isavga.bin match SeaBIOS from $PACKAGE $VERSION"
}

if [[ $MODE == check ]]; then
	check_outputs
	exit 0
fi
[[ $MODE == extract ]] || die "unknown mode '$MODE' (extract or check)"

for tool in apt-get dpkg-deb sha256sum; do
	command -v "$tool" >/dev/null || die "$tool is needed (a Debian system)"
done

if [[ -n ${WORK_DIR:-} ]]; then
	mkdir -p "$WORK_DIR"
else
	WORK_DIR=$(mktemp -d)
	trap 'rm -rf "$WORK_DIR"' EXIT
fi
# apt-get download drops privileges to _apt, which must be able to write here.
chmod 0777 "$WORK_DIR"

log "downloading $PACKAGE=$VERSION"
(cd "$WORK_DIR" && apt-get download "$PACKAGE=$VERSION") ||
	die "apt could not download $PACKAGE=$VERSION (run apt-get update; the pin is Debian 12's version)"
check_sum "$WORK_DIR/$DEB" "$DEB_SHA256"

dpkg-deb -x "$WORK_DIR/$DEB" "$WORK_DIR/root"
check_sum "$WORK_DIR/root/usr/share/seabios/bios.bin" "$BIOS_SHA256"
check_sum "$WORK_DIR/root/usr/share/seabios/vgabios-isavga.bin" "$VGABIOS_SHA256"

mkdir -p "$OUT_DIR"
install -m 0644 "$WORK_DIR/root/usr/share/seabios/bios.bin" "$OUT_DIR/bios.bin"
install -m 0644 "$WORK_DIR/root/usr/share/seabios/vgabios-isavga.bin" "$OUT_DIR/vgabios-isavga.bin"
install -m 0644 "$WORK_DIR/root/usr/share/doc/seabios/copyright" "$OUT_DIR/debian-copyright"
# SeaBIOS is LGPLv3; the LGPL is a set of permissions on top of the GPLv3, so both texts go along.
install -m 0644 /usr/share/common-licenses/LGPL-3 "$OUT_DIR/COPYING.LESSER"
install -m 0644 /usr/share/common-licenses/GPL-3 "$OUT_DIR/COPYING"
(cd "$OUT_DIR" && sha256sum bios.bin vgabios-isavga.bin debian-copyright COPYING.LESSER COPYING >SHA256SUMS)
check_outputs
log "wrote bios.bin ($(stat -c %s "$OUT_DIR/bios.bin") bytes) to $OUT_DIR"
