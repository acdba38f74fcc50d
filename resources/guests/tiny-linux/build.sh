#!/usr/bin/env bash
# Builds Popek's bundled "Tiny Linux" guest from Debian 12 packages only:
#   bzImage            a small i386 kernel from linux-source-6.1
#   initramfs.cpio.gz  busybox-static:i386 plus a tiny /init
#
# Usage:
#   build.sh           build both outputs into this folder (uses kernel.config)
#   build.sh config    regenerate kernel.config from tinyconfig + the option
#                      list below, check it, and stop
#   build.sh kernel | initramfs   build only one output ("initramfs" also
#                      rewrites versions.txt and SHA256SUMS)
#
# Environment:
#   BUILD_DIR  scratch tree (default: resources/guests/build/tiny-linux, git-ignored)
#   OUT_DIR    where the outputs go (default: this folder)
#   JOBS       make parallelism (default 2: the build machine is shared)
#
# Needs root only when packages are missing (it apt-get installs them).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=${BUILD_DIR:-$HERE/../build/tiny-linux}
OUT_DIR=${OUT_DIR:-$HERE}
JOBS=${JOBS:-2}
MODE=${1:-all}

# Reproducibility: every timestamp, user and host name that ends up in the
# kernel version string or in the cpio archive comes from here, not from the
# build machine. 2024-01-01T00:00:00Z is arbitrary but fixed.
export SOURCE_DATE_EPOCH=1704067200
export KBUILD_BUILD_TIMESTAMP='Mon Jan  1 00:00:00 UTC 2024'
export KBUILD_BUILD_USER=popek
export KBUILD_BUILD_HOST=popek
export KBUILD_BUILD_VERSION=1
export LC_ALL=C TZ=UTC

KSRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
KSRC=$BUILD_DIR/linux-source-6.1
KMAKE=(make -C "$KSRC" ARCH=i386 -j"$JOBS")

log() { printf '[tiny-linux] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- packages ---------------------------------------------------------------

HOST_PACKAGES=(linux-source-6.1 gcc make bc flex bison libelf-dev libssl-dev cpio xz-utils gzip dpkg-dev)

ensure_packages() {
	local missing=()
	for p in "${HOST_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	# busybox-static:i386 is only downloaded (never installed), but apt must
	# know the i386 architecture to find it.
	local need_update=0
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		log "adding the i386 dpkg architecture"
		dpkg --add-architecture i386
		need_update=1
	fi
	if ((${#missing[@]})) || ((need_update)); then
		[[ $(id -u) == 0 ]] || die "missing packages (${missing[*]:-none}) or i386 arch; run as root"
		apt-get update
		if ((${#missing[@]})); then
			log "installing ${missing[*]}"
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
		fi
	fi
}

# --- kernel -----------------------------------------------------------------

# Options the guest needs, as scripts/config arguments. Everything else stays
# at tinyconfig's "no". Why each group is here:
KERNEL_OPTIONS=(
	# CPU: a 32-bit P6-class uniprocessor (CMOV, TSC, CMPXCHG8B), no PAE and no
	# highmem, so the emulated CPU needs no PAE paging.
	--enable X86_32 --enable M686 --disable SMP --enable NOHIGHMEM
	--disable HIGHMEM4G --disable HIGHMEM64G --disable X86_PAE
	--disable X86_EXTENDED_PLATFORM
	# Local APIC and I/O APIC support on a uniprocessor: on a board that has
	# them (described by the ACPI MADT or an MP table) the kernel takes its
	# tick from the LAPIC timer and routes device interrupts through the I/O
	# APIC; on a board without them it finds none and stays on the 8259 PIC.
	--enable X86_UP_APIC --enable X86_UP_IOAPIC
	--disable HYPERVISOR_GUEST --disable MATH_EMULATION
	# Gzip, not tinyconfig's XZ: decompressing in an emulated CPU is the
	# first thing the guest does, and inflate costs far fewer instructions.
	--disable KERNEL_XZ --enable KERNEL_GZIP
	# Diagnostics on the serial console from the first instruction on.
	--enable PRINTK --enable EARLY_PRINTK --enable PRINTK_TIME --enable BUG
	# Userspace basics busybox relies on. COMPAT_32BIT_TIME: Debian's i386
	# glibc still makes the 32-bit time_t calls (without it, nanosleep
	# returns at once and "sleep 3" does not sleep).
	--enable COMPAT_32BIT_TIME --enable ADVISE_SYSCALLS
	--enable MULTIUSER --enable FUTEX --enable SHMEM --enable POSIX_TIMERS
	--enable FILE_LOCKING --enable EPOLL --enable SIGNALFD --enable TIMERFD
	--enable EVENTFD --enable BINFMT_ELF --enable BINFMT_SCRIPT
	--enable PROC_FS --enable PROC_SYSCTL --enable SYSFS --enable TMPFS
	--enable DEVTMPFS --enable DEVTMPFS_MOUNT
	# initramfs, gzip only.
	--enable BLK_DEV_INITRD --set-str INITRAMFS_SOURCE ""
	--enable RD_GZIP --disable RD_BZIP2 --disable RD_LZMA --disable RD_XZ
	--disable RD_LZO --disable RD_LZ4 --disable RD_ZSTD
	# Block layer + ext2 for a virtio disk.
	--enable BLOCK --enable BLK_DEV --enable EXT2_FS
	# Console: TTY + 8250/16550 UART with console support, ptys for job
	# control in nested shells; no VT (Popek's console is the UART).
	--enable TTY --disable VT --enable UNIX98_PTYS --disable LEGACY_PTYS
	--enable SERIAL_8250 --enable SERIAL_8250_CONSOLE
	--set-val SERIAL_8250_NR_UARTS 4 --set-val SERIAL_8250_RUNTIME_UARTS 4
	--disable SERIAL_8250_PCI --disable SERIAL_8250_EXAR --disable SERIAL_8250_LPSS
	--disable SERIAL_8250_MID --disable SERIAL_8250_PERICOM
	# PCI through configuration mechanism #1 (ports 0xCF8/0xCFC) only.
	--enable PCI --enable PCI_GODIRECT --disable PCI_GOANY --disable PCI_GOBIOS
	--disable PCI_GOMMCONFIG --disable PCI_MSI
	# ACPI: tables, the power button, and S5 through PM1a so poweroff works.
	--enable ACPI --enable ACPI_BUTTON --disable ACPI_PROCFS_POWER
	--disable ACPI_AC --disable ACPI_BATTERY --disable ACPI_FAN
	--disable ACPI_THERMAL --disable ACPI_PROCESSOR --disable ACPI_TABLE_UPGRADE
	--disable PCIEASPM --disable PNP_DEBUG_MESSAGES
	# RTC/CMOS.
	--enable RTC_CLASS --enable RTC_DRV_CMOS --enable RTC_HCTOSYS
	# Keyboard controller path, so the i8042 probe runs against the model.
	--enable INPUT --enable INPUT_KEYBOARD --enable KEYBOARD_ATKBD
	--enable SERIO --enable SERIO_I8042 --disable INPUT_MOUSE
	# Networking for virtio-net.
	--enable NET --enable INET --enable UNIX --enable PACKET --disable IPV6
	--disable WIRELESS --disable WLAN
	--enable NETDEVICES --enable NET_CORE --disable ETHERNET
	# Virtio: both transports, the devices Popek models, and the balloon
	# the hypervisor uses to reclaim memory.
	--enable VIRTIO_MENU --enable VIRTIO --enable VIRTIO_MMIO
	--enable VIRTIO_MMIO_CMDLINE_DEVICES --enable VIRTIO_PCI
	--enable VIRTIO_PCI_LEGACY --enable VIRTIO_BLK --enable VIRTIO_NET
	--enable VIRTIO_CONSOLE --enable VIRTIO_BALLOON
	# Hardware RNG core (/dev/hwrng) with the virtio-rng driver, so the
	# entropy device Popek offers has a driver; the core's x86 chip drivers
	# (Intel FWH, AMD, Geode, VIA PadLock) would only probe for hardware the
	# machine does not have.
	--enable HW_RANDOM --enable HW_RANDOM_VIRTIO --disable HW_RANDOM_INTEL
	--disable HW_RANDOM_AMD --disable HW_RANDOM_GEODE --disable HW_RANDOM_VIA
	# Timekeeping.
	--enable X86_TSC
	# One image, nothing to load at run time.
	--disable MODULES
)

# Symbols that must be =y in the final .config (Kconfig silently drops an
# option whose dependencies are missing, so this is checked, not assumed).
REQUIRED_Y=(
	X86_32 M686 X86_TSC X86_CMOV X86_CMPXCHG64 NOHIGHMEM KERNEL_GZIP
	PRINTK EARLY_PRINTK COMPAT_32BIT_TIME TTY SERIAL_8250 SERIAL_8250_CONSOLE
	BLK_DEV_INITRD RD_GZIP DEVTMPFS DEVTMPFS_MOUNT PROC_FS SYSFS TMPFS SHMEM
	EXT2_FS BINFMT_ELF BINFMT_SCRIPT MULTIUSER FUTEX UNIX98_PTYS
	PCI PCI_DIRECT PCI_GODIRECT ACPI ACPI_BUTTON RTC_CLASS RTC_DRV_CMOS
	VIRTIO_MMIO VIRTIO_MMIO_CMDLINE_DEVICES VIRTIO_PCI VIRTIO_BLK VIRTIO_NET
	VIRTIO_CONSOLE VIRTIO_BALLOON HW_RANDOM HW_RANDOM_VIRTIO NET INET UNIX NETDEVICES
	INPUT SERIO SERIO_I8042 KEYBOARD_ATKBD
	X86_UP_APIC X86_UP_IOAPIC X86_LOCAL_APIC X86_IO_APIC
)
# Symbols that must be absent (=n).
REQUIRED_N=(SMP X86_PAE HIGHMEM4G HIGHMEM64G MODULES)

check_config() {
	local cfg=$1 bad=0
	for s in "${REQUIRED_Y[@]}"; do
		grep -qx "CONFIG_$s=y" "$cfg" || { log "config: CONFIG_$s is not =y"; bad=1; }
	done
	for s in "${REQUIRED_N[@]}"; do
		if grep -q "^CONFIG_$s=" "$cfg"; then log "config: CONFIG_$s must be off"; bad=1; fi
	done
	((bad == 0)) || die "kernel config check failed ($cfg)"
	log "config check passed (${#REQUIRED_Y[@]} on, ${#REQUIRED_N[@]} off)"
}

extract_kernel_source() {
	local stamp=$BUILD_DIR/.linux-source.stamp want
	want=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	if [[ -d $KSRC && -f $stamp && $(cat "$stamp") == "$want" ]]; then
		return
	fi
	log "extracting linux-source-6.1 $want"
	rm -rf "$KSRC"
	mkdir -p "$BUILD_DIR"
	tar -C "$BUILD_DIR" -xJf "$KSRC_TARBALL"
	echo "$want" >"$stamp"
}

regen_config() {
	extract_kernel_source
	"${KMAKE[@]}" tinyconfig >/dev/null
	"$KSRC/scripts/config" --file "$KSRC/.config" "${KERNEL_OPTIONS[@]}"
	"${KMAKE[@]}" olddefconfig >/dev/null
	# Run the option list a second time: choices (PCI mode, compression)
	# only settle after their menu's dependencies exist.
	"$KSRC/scripts/config" --file "$KSRC/.config" "${KERNEL_OPTIONS[@]}"
	"${KMAKE[@]}" olddefconfig >/dev/null
	check_config "$KSRC/.config"
	cp "$KSRC/.config" "$HERE/kernel.config"
	log "wrote $HERE/kernel.config"
}

build_kernel() {
	extract_kernel_source
	cp "$HERE/kernel.config" "$KSRC/.config"
	"${KMAKE[@]}" olddefconfig >/dev/null
	check_config "$KSRC/.config"
	if ! cmp -s "$KSRC/.config" "$HERE/kernel.config"; then
		diff -u "$HERE/kernel.config" "$KSRC/.config" >&2 || true
		die "olddefconfig changed kernel.config (different source or compiler?); run '$0 config'"
	fi
	log "building bzImage with -j$JOBS"
	"${KMAKE[@]}" bzImage
	mkdir -p "$OUT_DIR"
	cp "$KSRC/arch/x86/boot/bzImage" "$OUT_DIR/bzImage"
	log "bzImage: $(stat -c %s "$OUT_DIR/bzImage") bytes"
}

# --- initramfs --------------------------------------------------------------

fetch_busybox() {
	local dir=$BUILD_DIR/busybox
	rm -rf "$dir"
	mkdir -p "$dir"
	# apt-get download keeps the host's own busybox untouched. It writes to the
	# current directory; chmod so the sandboxed _apt user may write there.
	chmod 777 "$dir"
	(cd "$dir" && apt-get download busybox-static:i386 >&2)
	dpkg-deb -x "$dir"/busybox-static_*_i386.deb "$dir/root"
	[[ -x $dir/root/bin/busybox ]] || die "no bin/busybox in busybox-static:i386"
}

# Applet list: ask the i386 binary itself (an x86-64 host kernel with IA-32
# emulation runs it), so the links always match the packaged build.
busybox_applets() {
	local bb=$BUILD_DIR/busybox/root/bin/busybox
	if "$bb" --list-full 2>/dev/null; then return; fi
	die "cannot run the i386 busybox on this host to list its applets"
}

build_initramfs() {
	# The kernel's own cpio writer: it takes a file list, so ownership and
	# modes come from the list and not from whoever runs the build.
	extract_kernel_source
	local gen=$BUILD_DIR/gen_init_cpio
	gcc -O2 -o "$gen" "$KSRC/usr/gen_init_cpio.c"
	fetch_busybox
	local stage=$BUILD_DIR/initramfs list=$BUILD_DIR/initramfs.list
	rm -rf "$stage"
	mkdir -p "$stage"
	install -m 0755 "$BUILD_DIR/busybox/root/bin/busybox" "$stage/busybox"
	install -m 0755 "$HERE/init" "$stage/init"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/passwd"
	printf 'root:x:0:\n' >"$stage/group"
	printf 'popek\n' >"$stage/hostname"
	# Regular files carry their own mtime in the archive: pin it.
	touch -h -d "@$SOURCE_DATE_EPOCH" "$stage"/*

	{
		echo "# Popek Tiny Linux initramfs (generated by build.sh)"
		for d in /bin /sbin /usr /usr/bin /usr/sbin /etc /proc /sys /dev /tmp /run /root /mnt /var; do
			case $d in
			/tmp) echo "dir $d 1777 0 0" ;;
			/root) echo "dir $d 0700 0 0" ;;
			*) echo "dir $d 0755 0 0" ;;
			esac
		done
		echo "nod /dev/console 0600 0 0 c 5 1"
		echo "nod /dev/null 0666 0 0 c 1 3"
		echo "file /init $stage/init 0755 0 0"
		echo "file /bin/busybox $stage/busybox 0755 0 0"
		echo "file /etc/passwd $stage/passwd 0644 0 0"
		echo "file /etc/group $stage/group 0644 0 0"
		echo "file /etc/hostname $stage/hostname 0644 0 0"
		busybox_applets | LC_ALL=C sort -u | while read -r path; do
			[[ $path == bin/busybox ]] && continue
			echo "slink /$path /bin/busybox 0777 0 0"
		done
	} >"$list"

	"$gen" -t "$SOURCE_DATE_EPOCH" "$list" >"$BUILD_DIR/initramfs.cpio"
	mkdir -p "$OUT_DIR"
	# -n: no name or timestamp in the gzip header.
	gzip -9 -n -c "$BUILD_DIR/initramfs.cpio" >"$OUT_DIR/initramfs.cpio.gz"
	log "initramfs.cpio.gz: $(stat -c %s "$OUT_DIR/initramfs.cpio.gz") bytes, $(grep -c '^slink' "$list") applet links"
}

# --- metadata ---------------------------------------------------------------

write_metadata() {
	local bbver
	bbver=$(dpkg-deb -f "$BUILD_DIR"/busybox/busybox-static_*_i386.deb Version)
	{
		echo "# Debian 12 package versions the committed outputs were built with"
		echo "linux-source-6.1 $(dpkg-query -W -f='${Version}' linux-source-6.1)"
		echo "busybox-static:i386 $bbver"
		echo "gcc $(dpkg-query -W -f='${Version}' gcc) ($(gcc -dumpfullversion))"
		echo "binutils $(dpkg-query -W -f='${Version}' binutils)"
		echo "gzip $(dpkg-query -W -f='${Version}' gzip)"
		echo "SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH"
	} >"$OUT_DIR/versions.txt"
	(cd "$OUT_DIR" && sha256sum bzImage initramfs.cpio.gz >SHA256SUMS)
	cat "$OUT_DIR/SHA256SUMS" >&2
}

ensure_packages
case $MODE in
config) regen_config ;;
kernel) build_kernel ;;
initramfs)
	# SHA256SUMS and versions.txt cover both outputs; the committed bzImage
	# stays as it is.
	build_initramfs
	write_metadata
	;;
all)
	build_kernel
	build_initramfs
	write_metadata
	;;
*) die "unknown mode '$MODE' (all | config | kernel | initramfs)" ;;
esac
