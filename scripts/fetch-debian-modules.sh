#!/usr/bin/env bash
# Extracts, from the same Debian package as scripts/fetch-debian-kernel.sh's
# 686 kernel, the unmodified modules the Debian-driver guest test
# (test/machine/debianDrivers.test.ts) loads into that kernel: Debian builds
# these drivers as modules, not into the image. Each set is the drivers
# with what they depend on (each module's depends= in its .modinfo), in
# load order:
#   ata     ata_piix with libata, and the SCSI disk and CD-ROM drivers
#   virtio  virtio_pci with the virtio-blk, -net, -console, -rng and
#           -balloon drivers (the hwrng core is built in: CONFIG_HW_RANDOM=y)
#   ext4    the ext4 file system (which also mounts ext2: EXT4_USE_FOR_EXT2)
#           with jbd2, mbcache and crc16, and the generic crc32c that ext4
#           and jbd2 name as a soft pre-dependency (crypto-crc32c: their
#           metadata and journal checksums); crc32c-intel is left out: it
#           needs SSE4.2, which Popek's CPU does not have
#
# Usage: scripts/fetch-debian-modules.sh [DEST_DIR] [SET ...]
#   DEST_DIR defaults to .cache/debian-kernel in the repository (git-ignored);
#   it must hold package.txt from fetch-debian-kernel.sh. SETs default to all.
#
# Output: DEST_DIR/SET-modules/*.ko and DEST_DIR/SET-modules/load-order.txt
# (module names, one a line). Idempotent: a set whose load-order.txt exists
# is reused; the package is downloaded once for the sets still missing.
# Never commit the result.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST_DIR=${1:-$REPO/.cache/debian-kernel}
shift || true
SETS=("$@")
[[ ${#SETS[@]} -gt 0 ]] || SETS=(ata virtio ext4)

log() { printf '[fetch-debian-modules] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Paths under lib/modules/RELEASE/kernel, without .ko, in load order: a
# module's dependencies (and the crypto providers the library modules look
# up) come before it.
modules_of() {
	case $1 in
	ata) echo \
		drivers/scsi/scsi_common \
		drivers/scsi/scsi_mod \
		drivers/ata/libata \
		drivers/ata/ata_piix \
		crypto/crct10dif_common \
		crypto/crct10dif_generic \
		lib/crc-t10dif \
		lib/crc64 \
		crypto/crc64_rocksoft_generic \
		lib/crc64-rocksoft \
		block/t10-pi \
		drivers/scsi/sd_mod \
		drivers/cdrom/cdrom \
		drivers/scsi/sr_mod ;;
	virtio) echo \
		drivers/virtio/virtio_ring \
		drivers/virtio/virtio \
		drivers/virtio/virtio_pci_modern_dev \
		drivers/virtio/virtio_pci_legacy_dev \
		drivers/virtio/virtio_pci \
		drivers/block/virtio_blk \
		net/core/failover \
		drivers/net/net_failover \
		drivers/net/virtio_net \
		drivers/char/virtio_console \
		drivers/char/hw_random/virtio-rng \
		drivers/virtio/virtio_balloon ;;
	ext4) echo \
		lib/crc16 \
		fs/mbcache \
		crypto/crc32c_generic \
		fs/jbd2/jbd2 \
		fs/ext4/ext4 ;;
	*) return 1 ;;
	esac
}

missing=()
for set in "${SETS[@]}"; do
	modules_of "$set" >/dev/null || die "unknown module set '$set' (known: ata virtio ext4)"
	if [[ -s $DEST_DIR/$set-modules/load-order.txt ]]; then
		log "cached: $DEST_DIR/$set-modules"
	else
		missing+=("$set")
	fi
done
[[ ${#missing[@]} -gt 0 ]] || exit 0
[[ -s $DEST_DIR/package.txt ]] || die "$DEST_DIR/package.txt is missing: run scripts/fetch-debian-kernel.sh first"
read -r PKG VERSION _ <"$DEST_DIR/package.txt"
RELEASE=${PKG#linux-image-}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
log "downloading $PKG=$VERSION (i386)"
(cd "$WORK" && apt-get download "$PKG:i386=$VERSION" >&2)
dpkg-deb -x "$WORK"/*.deb "$WORK/x"
for set in "${missing[@]}"; do
	out=$DEST_DIR/$set-modules
	mkdir -p "$out"
	: >"$out/load-order.txt.new"
	read -r -a modules <<<"$(modules_of "$set")"
	for m in "${modules[@]}"; do
		src=$WORK/x/lib/modules/$RELEASE/kernel/$m.ko
		[[ -f $src ]] || die "$m.ko is not in $PKG"
		cp "$src" "$out/"
		basename "$m" >>"$out/load-order.txt.new"
	done
	# Written last: its presence means the set is complete.
	mv "$out/load-order.txt.new" "$out/load-order.txt"
	log "extracted ${#modules[@]} $set modules into $out"
done
