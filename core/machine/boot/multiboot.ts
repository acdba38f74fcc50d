/**
 * Multiboot v1 loader for small test kernels (Multiboot Specification 0.6.96):
 * find the header in the first 8 KiB, load either the a.out-kludge image
 * (flag 16) or the ELF32 PT_LOAD segments, build the Multiboot information
 * structure (memory sizes, command line, e820-style memory map, the initrd as
 * module 0, the loader name) and enter with EAX = 0x2BADB002, EBX = info.
 */
import { BootError, mib } from './bootError.ts';
import { flatEntryState, type EntryState } from './entryState.ts';
import { writeBiosDataArea } from './biosDataArea.ts';
import type { GuestRam } from './guestRam.ts';
import { write32, write64, write8, writeBytes, zeroBytes } from './guestRam.ts';
import {
  BOOT_PARAMS_ADDR,
  BOOT_STACK_TOP,
  CMDLINE_ADDR,
  CMDLINE_MAX,
  EBDA_BASE,
  HIGH_MEMORY_BASE,
  LOADER_STRINGS_ADDR,
  buildE820Map,
  usableTop,
} from './memoryLayout.ts';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const SEARCH_LIMIT = 8192;

/** Header flags (bits 0-15 are requirements the loader must honour or refuse). */
export const MB_HEADER = { PAGE_ALIGN: 1 << 0, MEMORY_INFO: 1 << 1, VIDEO_MODE: 1 << 2, AOUT_KLUDGE: 1 << 16 } as const;
const SUPPORTED_REQUIREMENTS = MB_HEADER.PAGE_ALIGN | MB_HEADER.MEMORY_INFO;

/** Info structure flags. */
export const MB_INFO = {
  MEMORY: 1 << 0,
  CMDLINE: 1 << 2,
  MODS: 1 << 3,
  MMAP: 1 << 6,
  BOOT_LOADER_NAME: 1 << 9,
} as const;

export const BOOT_LOADER_NAME = 'Popek';
const MMAP_OFFSET = 0x100; // inside the info page
const MODS_OFFSET = 0x400;
const MODULE_ALIGN = 0x1000;

export interface MultibootHeader {
  /** Offset of the header in the image. */
  offset: number;
  flags: number;
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

export interface MultibootInput {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
}

export interface MultibootResult {
  entry: EntryState;
  header: MultibootHeader;
  infoAddr: number;
  /** One past the highest byte the kernel image (with bss) occupies. */
  kernelEnd: number;
  moduleAddr: number;
}

/** Finds and validates the Multiboot header; undefined when the image has none. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  const view = dataView(image);
  const limit = Math.min(SEARCH_LIMIT, image.length) - 12;
  for (let off = 0; off <= limit; off += 4) {
    if (view.getUint32(off, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = view.getUint32(off + 4, true);
    const sum = (MULTIBOOT_HEADER_MAGIC + flags + view.getUint32(off + 8, true)) >>> 0;
    if (sum !== 0) continue;
    const field = (i: number): number => (off + 12 + i * 4 + 4 <= image.length ? view.getUint32(off + 12 + i * 4, true) : 0);
    return {
      offset: off,
      flags,
      headerAddr: field(0),
      loadAddr: field(1),
      loadEndAddr: field(2),
      bssEndAddr: field(3),
      entryAddr: field(4),
    };
  }
  return undefined;
}

export function loadMultibootKernel(ram: GuestRam, input: MultibootInput): MultibootResult {
  const header = findMultibootHeader(input.kernel);
  if (!header) throw new BootError('not a kernel Popek can boot: no bzImage HdrS signature and no Multiboot header');
  if (header.flags & MB_HEADER.VIDEO_MODE) {
    throw new BootError('Multiboot kernel requires a video mode (header flag 2); Popek has no display adapter');
  }
  const unknown = header.flags & 0xffff & ~SUPPORTED_REQUIREMENTS;
  if (unknown) throw new BootError(`Multiboot kernel has unsupported required flags 0x${unknown.toString(16)}`);
  const e820 = buildE820Map(ram.ramSize);
  const top = usableTop(ram.ramSize);

  const image =
    header.flags & MB_HEADER.AOUT_KLUDGE ? loadAoutKludge(ram, input.kernel, header, top) : loadElf32(ram, input.kernel, top);

  // Info structure, memory map and module list share one page.
  const info = BOOT_PARAMS_ADDR;
  zeroBytes(ram, info, 0x1000, 'Multiboot info');
  let flags = MB_INFO.MEMORY | MB_INFO.MMAP | MB_INFO.BOOT_LOADER_NAME | MB_INFO.CMDLINE;
  write32(ram, info + 4, EBDA_BASE >>> 10); // mem_lower: KiB from 0
  write32(ram, info + 8, Math.floor((top - HIGH_MEMORY_BASE) / 1024)); // mem_upper: KiB from 1 MiB

  const mmap = info + MMAP_OFFSET;
  e820.forEach((entry, i) => {
    const at = mmap + i * 24;
    write32(ram, at, 20); // size of the rest of the entry
    write64(ram, at + 4, entry.base);
    write64(ram, at + 12, entry.length);
    write32(ram, at + 20, entry.type);
  });
  write32(ram, info + 44, e820.length * 24);
  write32(ram, info + 48, mmap);

  const cmdline = new TextEncoder().encode(input.cmdline ?? '');
  if (cmdline.length >= CMDLINE_MAX) throw new BootError(`kernel command line is ${cmdline.length} bytes; at most ${CMDLINE_MAX - 1} are supported`);
  writeBytes(ram, CMDLINE_ADDR, cmdline, 'command line');
  write8(ram, CMDLINE_ADDR + cmdline.length, 0);
  write32(ram, info + 16, CMDLINE_ADDR);

  const name = new TextEncoder().encode(`${BOOT_LOADER_NAME}\0`);
  writeBytes(ram, LOADER_STRINGS_ADDR, name, 'boot loader name');
  write32(ram, info + 64, LOADER_STRINGS_ADDR);

  let moduleAddr = 0;
  if (input.initrd && input.initrd.length > 0) {
    moduleAddr = Math.ceil(image.end / MODULE_ALIGN) * MODULE_ALIGN;
    if (moduleAddr + input.initrd.length > top) {
      throw new BootError(
        `too little memory for the initrd (needs ${mib(moduleAddr + input.initrd.length + (ram.ramSize - top))} MiB, machine has ${mib(ram.ramSize)} MiB)`,
      );
    }
    writeBytes(ram, moduleAddr, input.initrd, 'initrd module');
    const mods = info + MODS_OFFSET;
    const moduleString = LOADER_STRINGS_ADDR + name.length;
    writeBytes(ram, moduleString, new TextEncoder().encode('initrd\0'), 'module string');
    write32(ram, mods, moduleAddr);
    write32(ram, mods + 4, moduleAddr + input.initrd.length);
    write32(ram, mods + 8, moduleString);
    write32(ram, info + 20, 1);
    write32(ram, info + 24, mods);
    flags |= MB_INFO.MODS;
  }
  write32(ram, info, flags);

  writeBiosDataArea(ram);

  const entry = flatEntryState(ram, image.entry);
  entry.eax = MULTIBOOT_BOOTLOADER_MAGIC;
  entry.ebx = info;
  entry.esp = BOOT_STACK_TOP;
  return { entry, header, infoAddr: info, kernelEnd: image.end, moduleAddr };
}

interface LoadedImage {
  entry: number;
  end: number;
}

/** Every byte a kernel asks to occupy must be RAM at or above 1 MiB and below the ACPI area. */
function checkPlacement(start: number, end: number, top: number, what: string): void {
  if (start < HIGH_MEMORY_BASE || end < start || end > top) {
    throw new BootError(
      `Multiboot ${what} at 0x${start.toString(16)}..0x${end.toString(16)} must lie between 1 MiB and the top of usable RAM (0x${top.toString(16)})`,
    );
  }
}

function loadAoutKludge(ram: GuestRam, kernel: Uint8Array, h: MultibootHeader, top: number): LoadedImage {
  if (h.headerAddr < h.loadAddr || h.headerAddr - h.loadAddr > h.offset) {
    throw new BootError('Multiboot header addresses are inconsistent (header_addr below load_addr or before the file start)');
  }
  const fileStart = h.offset - (h.headerAddr - h.loadAddr);
  const fileLength = h.loadEndAddr === 0 ? kernel.length - fileStart : h.loadEndAddr - h.loadAddr;
  if (fileLength < 0 || fileStart + fileLength > kernel.length) {
    throw new BootError('Multiboot load_end_addr points past the end of the kernel file');
  }
  const loadEnd = h.loadAddr + fileLength;
  const bssEnd = h.bssEndAddr === 0 ? loadEnd : h.bssEndAddr;
  if (bssEnd < loadEnd) throw new BootError('Multiboot bss_end_addr lies below load_end_addr');
  checkPlacement(h.loadAddr, bssEnd, top, 'image');
  writeBytes(ram, h.loadAddr, kernel.subarray(fileStart, fileStart + fileLength), 'kernel');
  zeroBytes(ram, loadEnd, bssEnd - loadEnd, 'kernel bss');
  if (h.entryAddr < h.loadAddr || h.entryAddr >= bssEnd) {
    throw new BootError(`Multiboot entry_addr 0x${h.entryAddr.toString(16)} lies outside the loaded image`);
  }
  return { entry: h.entryAddr, end: bssEnd };
}

const PT_LOAD = 1;
const EM_386 = 3;

function loadElf32(ram: GuestRam, kernel: Uint8Array, top: number): LoadedImage {
  const v = dataView(kernel);
  if (kernel.length < 52 || v.getUint32(0, false) !== 0x7f454c46) {
    throw new BootError('Multiboot kernel is not ELF and does not set the a.out kludge flag (16)');
  }
  if (kernel[4] !== 1 || kernel[5] !== 1) throw new BootError('Multiboot kernel is not a little-endian ELF32 file');
  if (v.getUint16(18, true) !== EM_386) throw new BootError('Multiboot kernel is not an i386 ELF file');
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (phentsize < 32 || phoff + phnum * phentsize > kernel.length) throw new BootError('Multiboot ELF program headers are truncated');
  let end = 0;
  let loaded = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== PT_LOAD) continue;
    const offset = v.getUint32(ph + 4, true);
    const paddr = v.getUint32(ph + 12, true);
    const filesz = v.getUint32(ph + 16, true);
    const memsz = v.getUint32(ph + 20, true);
    if (memsz === 0) continue;
    if (filesz > memsz || offset + filesz > kernel.length) throw new BootError(`Multiboot ELF segment ${i} is truncated`);
    checkPlacement(paddr, paddr + memsz, top, `ELF segment ${i}`);
    writeBytes(ram, paddr, kernel.subarray(offset, offset + filesz), 'kernel segment');
    zeroBytes(ram, paddr + filesz, memsz - filesz, 'kernel bss');
    end = Math.max(end, paddr + memsz);
    loaded++;
  }
  if (loaded === 0) throw new BootError('Multiboot ELF kernel has no loadable segments');
  return { entry: v.getUint32(24, true), end };
}

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
