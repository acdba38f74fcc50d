#!/usr/bin/env bash
# Fetches Debian 12's unmodified i386 "686" kernel (the image the
# linux-image-686 metapackage currently depends on), or with FLAVOUR 686-pae
# the PAE kernel (linux-image-686-pae), for boot tests against a real
# distribution kernel, and prints the path of the extracted vmlinuz.
#
# Usage: scripts/fetch-debian-kernel.sh [DEST_DIR] [FLAVOUR]
#   DEST_DIR defaults to .cache/debian-kernel in the repository (git-ignored).
#   FLAVOUR is 686 (the default) or 686-pae.
#
# Output in DEST_DIR:
#   vmlinuz-debian-FLAVOUR   the bzImage, exactly as shipped in the .deb
#   config-debian-FLAVOUR    its kernel .config (to see what the CPU must offer)
#   package.txt              the package name and version it came from (686)
#   package-FLAVOUR.txt      the same for another flavour
#
# Idempotent: if vmlinuz-debian-FLAVOUR already exists it is reused as is (delete
# DEST_DIR to fetch again). Never commit the result. Needs root only when the
# i386 architecture is not yet known to dpkg/apt.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST_DIR=${1:-$REPO/.cache/debian-kernel}
FLAVOUR=${2:-686}
[[ $FLAVOUR == 686 || $FLAVOUR == 686-pae ]] || { printf '[fetch-debian-kernel] error: FLAVOUR must be 686 or 686-pae, not %s\n' "$FLAVOUR" >&2; exit 1; }
TARGET=$DEST_DIR/vmlinuz-debian-$FLAVOUR
# The 686 kernel keeps its original package.txt name; other flavours get their own.
PACKAGE_TXT=$DEST_DIR/package.txt
[[ $FLAVOUR == 686 ]] || PACKAGE_TXT=$DEST_DIR/package-$FLAVOUR.txt

log() { printf '[fetch-debian-kernel] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -s $TARGET ]]; then
	log "cached: $(cat "$PACKAGE_TXT" 2>/dev/null || echo unknown package)"
	echo "$TARGET"
	exit 0
fi

for tool in apt-get apt-cache dpkg dpkg-deb; do
	command -v "$tool" >/dev/null || die "$tool not found (this script needs a Debian host)"
done

# apt only resolves i386 packages once dpkg knows the architecture and the
# i386 package lists are downloaded.
if ! dpkg --print-foreign-architectures | grep -qx i386 && [[ $(dpkg --print-architecture) != i386 ]]; then
	[[ $(id -u) == 0 ]] || die "the i386 dpkg architecture is missing; run as root once"
	log "adding the i386 dpkg architecture"
	dpkg --add-architecture i386
	apt-get update >&2 || log "apt-get update reported errors (a mirror index mid-sync?); going on with the lists it got"
fi

resolve_image_package() {
	apt-cache depends "linux-image-$FLAVOUR:i386" 2>/dev/null |
		sed -n "s/^ *Depends: \\(linux-image-[0-9][^:]*-$FLAVOUR\\)\\(:i386\\)\\{0,1\\}\$/\\1/p" | head -n 1
}

PKG=$(resolve_image_package)
if [[ -z $PKG ]]; then
	[[ $(id -u) == 0 ]] || die "apt does not know linux-image-$FLAVOUR:i386; run 'apt-get update' as root"
	log "apt-get update (linux-image-$FLAVOUR:i386 unknown)"
	apt-get update >&2 || log "apt-get update reported errors (a mirror index mid-sync?); going on with the lists it got"
	PKG=$(resolve_image_package)
fi
[[ -n $PKG ]] || die "could not resolve the package behind linux-image-$FLAVOUR:i386"
log "linux-image-$FLAVOUR:i386 -> $PKG"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/debian-kernel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# apt-get download writes into the current directory as the sandboxed _apt
# user when run as root; let it.
chmod 755 "$WORK"
mkdir "$WORK/deb"
chmod 777 "$WORK/deb"
(cd "$WORK/deb" && apt-get download "$PKG:i386" >&2)
DEB=$(ls "$WORK"/deb/*.deb)
VERSION=$(dpkg-deb -f "$DEB" Version)

dpkg-deb -x "$DEB" "$WORK/root"
shopt -s nullglob
images=("$WORK"/root/boot/vmlinuz-*)
configs=("$WORK"/root/boot/config-*)
((${#images[@]} == 1)) || die "expected one /boot/vmlinuz-* in $PKG, found ${#images[@]}"

mkdir -p "$DEST_DIR"
((${#configs[@]} == 1)) && cp "${configs[0]}" "$DEST_DIR/config-debian-$FLAVOUR"
echo "$PKG $VERSION ($(basename "${images[0]}"))" >"$PACKAGE_TXT"
# Copy then rename, so an interrupted run never leaves a truncated cache hit.
cp "${images[0]}" "$TARGET.partial"
mv "$TARGET.partial" "$TARGET"
log "fetched $(cat "$PACKAGE_TXT")"
echo "$TARGET"
