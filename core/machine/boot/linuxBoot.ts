/**
 * Linux x86 32-bit boot protocol for bzImage kernels
 * (Documentation/arch/x86/boot.rst, zero-page.rst): load the protected-mode
 * kernel at code32_start, the command line and the initrd, build boot_params
 * (the "zero page") with an e820 map, and enter startup_32 with ESI pointing
 * at boot_params. The real-mode setup code is never run, so everything it
 * would have asked the BIOS for is filled in here.
 */
import { BootError, mib } from './bootError.ts';
import { flatEntryState, type EntryState } from './entryState.ts';
import { writeBiosDataArea } from './biosDataArea.ts';
import type { GuestRam } from './guestRam.ts';
import { write16, write32, write64, write8, writeBytes, zeroBytes } from './guestRam.ts';
import {
  ACPI_AREA_SIZE,
  BOOT_PARAMS_ADDR,
  BOOT_STACK_TOP,
  CMDLINE_ADDR,
  CMDLINE_MAX,
  HIGH_MEMORY_BASE,
  buildE820Map,
  usableTop,
} from './memoryLayout.ts';
import { CAN_USE_HEAP, HDR, parseSetupHeader, protocolString, type SetupHeader } from './setupHeader.ts';

/** boot_params offsets outside the embedded setup header (zero-page.rst). */
const BP = {
  screenInfo: 0x000,
  acpiRsdpAddr: 0x070,
  altMemK: 0x1e0,
  e820Entries: 0x1e8,
  e820Table: 0x2d0,
} as const;
/** screen_info fields (include/uapi/linux/screen_info.h). */
const SI = {
  origX: 0x00,
  origY: 0x01,
  extMemK: 0x02,
  origVideoPage: 0x04,
  origVideoMode: 0x06,
  origVideoCols: 0x07,
  origVideoEgaBx: 0x0a,
  origVideoLines: 0x0e,
  origVideoIsVGA: 0x0f,
  origVideoPoints: 0x10,
} as const;
const BOOT_PARAMS_SIZE = 0x1000;
const E820_MAX_ENTRIES = 128;
/** "Undefined" boot loader ID: we are not one of the registered loaders. */
const TYPE_OF_LOADER_UNDEFINED = 0xff;
/** Default initrd_addr_max of kernels that leave it 0 (boot.rst: 0x37FFFFFF). */
const DEFAULT_INITRD_ADDR_MAX = 0x37ffffff;
/** Where the setup heap would end, relative to the setup segment, minus 0x200 (boot.rst). */
const HEAP_END_PTR = 0xe000 - 0x200;
const INITRD_ALIGN = 0x1000;
/** acpi_rsdp_addr exists in boot_params from protocol 2.14 on. */
const PROTOCOL_ACPI_RSDP = 0x20e;

export interface LinuxBootInput {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  /** Physical address of the RSDP, passed in boot_params when the kernel knows that field. */
  acpiRsdpAddr?: number;
  /** The board has a VGA in mode 3 (core/devices/vga): screen_info says so, and Linux's vgacon drives it. */
  vgaText?: boolean;
}

export interface LinuxBootResult {
  entry: EntryState;
  header: SetupHeader;
  kernelAddr: number;
  /** Bytes reserved for the kernel from kernelAddr: its image and the init_size bytes from where it decompresses itself. */
  kernelSpan: number;
  initrdAddr: number;
  initrdSize: number;
  bootParamsAddr: number;
  cmdlineAddr: number;
}

export function loadLinuxKernel(ram: GuestRam, input: LinuxBootInput): LinuxBootResult {
  const header = parseSetupHeader(input.kernel);
  const e820 = buildE820Map(ram.ramSize);
  const top = usableTop(ram.ramSize);

  // Protected-mode kernel.
  const kernelAddr = header.code32Start >>> 0;
  if (kernelAddr < HIGH_MEMORY_BASE) {
    throw new BootError(`kernel asks to be loaded at 0x${kernelAddr.toString(16)}, below 1 MiB`);
  }
  const payload = input.kernel.subarray(header.kernelOffset);
  const kernelSpan = kernelFootprint(header, kernelAddr, payload.length);
  if (kernelAddr + kernelSpan > top) {
    throw new BootError(
      `kernel needs more memory than the machine has (needs ${mib(kernelAddr + kernelSpan + ACPI_AREA_SIZE)} MiB, machine has ${mib(ram.ramSize)} MiB)`,
    );
  }
  writeBytes(ram, kernelAddr, payload, 'kernel');

  // Command line, NUL-terminated.
  const cmdline = new TextEncoder().encode(input.cmdline ?? '');
  const cmdlineLimit = Math.min(header.cmdlineSize, CMDLINE_MAX - 1);
  if (cmdline.length > cmdlineLimit) {
    throw new BootError(`kernel command line is ${cmdline.length} bytes; this kernel accepts at most ${cmdlineLimit}`);
  }
  writeBytes(ram, CMDLINE_ADDR, cmdline, 'command line');
  write8(ram, CMDLINE_ADDR + cmdline.length, 0);

  // Initrd: as high as allowed, page aligned, clear of the kernel.
  let initrdAddr = 0;
  const initrdSize = input.initrd?.length ?? 0;
  if (input.initrd && initrdSize > 0) {
    const addrMax = header.initrdAddrMax === 0 ? DEFAULT_INITRD_ADDR_MAX : header.initrdAddrMax;
    const limit = Math.min(addrMax + 1, top);
    const candidate = Math.floor((limit - initrdSize) / INITRD_ALIGN) * INITRD_ALIGN;
    const kernelEnd = kernelAddr + kernelSpan;
    if (candidate < kernelEnd) {
      const needed = alignUp(kernelEnd, INITRD_ALIGN) + alignUp(initrdSize, INITRD_ALIGN) + ACPI_AREA_SIZE;
      const why = limit < top ? ` below the kernel's initrd_addr_max 0x${addrMax.toString(16)}` : '';
      throw new BootError(
        `too little memory for the initrd${why} (needs ${mib(needed)} MiB, machine has ${mib(ram.ramSize)} MiB)`,
      );
    }
    initrdAddr = candidate;
    writeBytes(ram, initrdAddr, input.initrd, 'initrd');
  }

  // boot_params: zeroed page, setup header copied from the image, then our fields.
  const bp = BOOT_PARAMS_ADDR;
  zeroBytes(ram, bp, BOOT_PARAMS_SIZE, 'boot_params');
  writeBytes(ram, bp + HDR.setupSects, input.kernel.subarray(HDR.setupSects, header.headerEnd), 'setup header');
  write8(ram, bp + HDR.typeOfLoader, TYPE_OF_LOADER_UNDEFINED);
  write8(ram, bp + HDR.loadflags, header.loadflags | CAN_USE_HEAP);
  write16(ram, bp + HDR.heapEndPtr, HEAP_END_PTR);
  write8(ram, bp + HDR.extLoaderVer, 0);
  write8(ram, bp + HDR.extLoaderType, 0);
  write32(ram, bp + HDR.cmdLinePtr, CMDLINE_ADDR);
  write32(ram, bp + HDR.ramdiskImage, initrdAddr);
  write32(ram, bp + HDR.ramdiskSize, initrdSize);

  const extendedKiB = Math.floor((top - HIGH_MEMORY_BASE) / 1024);
  write32(ram, bp + BP.altMemK, extendedKiB);
  if (input.vgaText) writeVgaText(ram, bp + BP.screenInfo, extendedKiB);
  else writeNoVideo(ram, bp + BP.screenInfo, extendedKiB);
  if (input.acpiRsdpAddr !== undefined && header.version >= PROTOCOL_ACPI_RSDP) {
    write64(ram, bp + BP.acpiRsdpAddr, input.acpiRsdpAddr);
  }

  if (e820.length > E820_MAX_ENTRIES) throw new BootError('internal: e820 map too long');
  write8(ram, bp + BP.e820Entries, e820.length);
  e820.forEach((entry, i) => {
    const at = bp + BP.e820Table + i * 20;
    write64(ram, at, entry.base);
    write64(ram, at + 8, entry.length);
    write32(ram, at + 16, entry.type);
  });

  writeBiosDataArea(ram);

  const entry = flatEntryState(ram, kernelAddr);
  entry.esi = bp;
  entry.esp = BOOT_STACK_TOP;
  return { entry, header, kernelAddr, kernelSpan, initrdAddr, initrdSize, bootParamsAddr: bp, cmdlineAddr: CMDLINE_ADDR };
}

/**
 * screen_info for a machine without a display adapter: vgacon treats zero
 * orig_video_lines/cols as "not initialised" and falls back to the dummy
 * console, so nothing touches the 0xB8000 text buffer; orig_video_isVGA 0 is
 * no framebuffer type either. Only the legacy extended memory size is set.
 */
function writeNoVideo(ram: GuestRam, si: number, extendedKiB: number): void {
  write16(ram, si + SI.extMemK, Math.min(extendedKiB, 0xffff));
  write8(ram, si + SI.origVideoMode, 0);
  write8(ram, si + SI.origVideoCols, 0);
  write8(ram, si + SI.origVideoLines, 0);
  write8(ram, si + SI.origVideoIsVGA, 0);
}

/**
 * screen_info for a VGA in mode 3, as the kernel's real-mode setup code
 * would have found it through INT 10h: 80x25 colour text, 16-line
 * characters, page 0, the cursor at the top left, "VGA" (orig_video_isVGA
 * 1), and INT 10h AH=12h's answer in ega_bx (BH 0 = colour, BL 3 = 256 KiB),
 * which vgacon reads to tell a VGA from a CGA.
 */
function writeVgaText(ram: GuestRam, si: number, extendedKiB: number): void {
  write8(ram, si + SI.origX, 0);
  write8(ram, si + SI.origY, 0);
  write16(ram, si + SI.extMemK, Math.min(extendedKiB, 0xffff));
  write16(ram, si + SI.origVideoPage, 0);
  write8(ram, si + SI.origVideoMode, 3);
  write8(ram, si + SI.origVideoCols, 80);
  write16(ram, si + SI.origVideoEgaBx, 0x0003);
  write8(ram, si + SI.origVideoLines, 25);
  write8(ram, si + SI.origVideoIsVGA, 1);
  write16(ram, si + SI.origVideoPoints, 16);
}

/**
 * The kernel decompresses itself to its runtime start and needs init_size
 * bytes from there: for a non-relocatable kernel that is pref_address
 * (LOAD_PHYSICAL_ADDR, typically 16 MiB); a relocatable one uses its load
 * address rounded up to kernel_alignment, but never below LOAD_PHYSICAL_ADDR.
 * Everything from the load address to the end of that area is the kernel's.
 */
function kernelFootprint(header: SetupHeader, kernelAddr: number, payloadLength: number): number {
  const pref = header.prefAddress > 0 ? header.prefAddress : kernelAddr;
  const align = header.kernelAlignment > 0 && (header.kernelAlignment & (header.kernelAlignment - 1)) === 0 ? header.kernelAlignment : 1;
  const runtimeStart = header.relocatable ? Math.max(alignUp(kernelAddr, align), pref) : pref;
  return Math.max(kernelAddr + payloadLength, runtimeStart + header.initSize) - kernelAddr;
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

export { protocolString };
