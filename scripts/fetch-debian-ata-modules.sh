#!/usr/bin/env bash
# Extracts, from the same Debian package as scripts/fetch-debian-kernel.sh's
# kernel, the unmodified modules the IDE guest test loads into that kernel:
# the ata_piix driver with libata and the SCSI disk and CD-ROM drivers
# (Debian builds them as modules, not into the image), with what they
# depend on, in load order.
#
# Usage: scripts/fetch-debian-ata-modules.sh [DEST_DIR]
#   DEST_DIR defaults to .cache/debian-kernel in the repository (git-ignored);
#   it must hold package.txt from fetch-debian-kernel.sh.
#
# Output: DEST_DIR/ata-modules/*.ko and DEST_DIR/ata-modules/load-order.txt.
# Idempotent: an existing load-order.txt is reused. Never commit the result.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST_DIR=${1:-$REPO/.cache/debian-kernel}
OUT=$DEST_DIR/ata-modules

log() { printf '[fetch-debian-ata-modules] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -s $OUT/load-order.txt ]]; then
	log "cached: $OUT"
	exit 0
fi
[[ -s $DEST_DIR/package.txt ]] || die "$DEST_DIR/package.txt is missing: run scripts/fetch-debian-kernel.sh first"
read -r PKG VERSION _ <"$DEST_DIR/package.txt"
RELEASE=${PKG#linux-image-}

# Dependency order (each module's depends= line in its .modinfo): the
# crypto providers come before the library modules that look them up.
MODULES=(
	drivers/scsi/scsi_common
	drivers/scsi/scsi_mod
	drivers/ata/libata
	drivers/ata/ata_piix
	crypto/crct10dif_common
	crypto/crct10dif_generic
	lib/crc-t10dif
	lib/crc64
	crypto/crc64_rocksoft_generic
	lib/crc64-rocksoft
	block/t10-pi
	drivers/scsi/sd_mod
	drivers/cdrom/cdrom
	drivers/scsi/sr_mod
)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
log "downloading $PKG=$VERSION (i386)"
(cd "$WORK" && apt-get download "$PKG:i386=$VERSION" >&2)
dpkg-deb -x "$WORK"/*.deb "$WORK/x"
mkdir -p "$OUT"
: >"$OUT/load-order.txt.new"
for m in "${MODULES[@]}"; do
	src=$WORK/x/lib/modules/$RELEASE/kernel/$m.ko
	[[ -f $src ]] || die "$m.ko is not in $PKG"
	cp "$src" "$OUT/"
	basename "$m" >>"$OUT/load-order.txt.new"
done
mv "$OUT/load-order.txt.new" "$OUT/load-order.txt"
log "extracted ${#MODULES[@]} modules into $OUT"
