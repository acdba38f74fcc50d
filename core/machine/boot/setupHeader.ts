/**
 * The Linux x86 "setup header" at offset 0x1F1 of a bzImage
 * (Documentation/arch/x86/boot.rst): what the loader must read to place the
 * kernel. Parsing only; the loader in linuxBoot.ts acts on it.
 */
import { BootError } from './bootError.ts';

/** Offsets inside the kernel image (and inside boot_params, which embeds the header at the same place). */
export const HDR = {
  setupSects: 0x1f1,
  bootFlag: 0x1fe,
  jump: 0x200,
  header: 0x202,
  version: 0x206,
  typeOfLoader: 0x210,
  loadflags: 0x211,
  code32Start: 0x214,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  heapEndPtr: 0x224,
  extLoaderVer: 0x226,
  extLoaderType: 0x227,
  cmdLinePtr: 0x228,
  initrdAddrMax: 0x22c,
  kernelAlignment: 0x230,
  relocatableKernel: 0x234,
  xloadflags: 0x236,
  cmdlineSize: 0x238,
  prefAddress: 0x258,
  initSize: 0x260,
} as const;

export const HDRS_MAGIC = 0x53726448; // "HdrS"
export const LOADED_HIGH = 0x01;
export const CAN_USE_HEAP = 0x80;
/** Oldest protocol we boot: 2.06 brought cmdline_size and a reliable initrd_addr_max. */
export const MIN_PROTOCOL = 0x206;

export interface SetupHeader {
  /** Boot protocol version, e.g. 0x20f for 2.15. */
  version: number;
  /** Number of 512-byte setup sectors after the boot sector (0 in the image means 4). */
  setupSects: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  /** Longest command line the kernel accepts, excluding the terminating NUL. */
  cmdlineSize: number;
  /** Bytes the kernel needs from its runtime start address for decompression and init (0 before protocol 2.10). */
  initSize: number;
  /** Where a non-relocatable kernel runs (LOAD_PHYSICAL_ADDR, low 32 bits; 0 before protocol 2.10). */
  prefAddress: number;
  /** Offset in the image of the protected-mode kernel. */
  kernelOffset: number;
  /** Offset one past the last byte of the setup header (0x202 + the jump's displacement byte). */
  headerEnd: number;
}

export function protocolString(version: number): string {
  return `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
}

export function parseSetupHeader(image: Uint8Array): SetupHeader {
  if (image.length < 0x264) throw new BootError(`not a bzImage: file is too small (${image.length} bytes)`);
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (view.getUint32(HDR.header, true) !== HDRS_MAGIC) throw new BootError('not a bzImage: missing HdrS signature');
  const version = view.getUint16(HDR.version, true);
  if (version < MIN_PROTOCOL) {
    throw new BootError(
      `kernel uses boot protocol ${protocolString(version)}; Popek needs ${protocolString(MIN_PROTOCOL)} or newer (Linux 2.6.30+)`,
    );
  }
  const loadflags = view.getUint8(HDR.loadflags);
  if ((loadflags & LOADED_HIGH) === 0) throw new BootError('not a bzImage: zImage (loaded low) kernels are not supported');
  const rawSects = view.getUint8(HDR.setupSects);
  const setupSects = rawSects === 0 ? 4 : rawSects;
  const kernelOffset = (setupSects + 1) * 512;
  if (kernelOffset >= image.length) throw new BootError('not a bzImage: setup sectors extend past the end of the file');
  const headerEnd = 0x202 + view.getUint8(HDR.jump + 1);
  return {
    version,
    setupSects,
    loadflags,
    code32Start: view.getUint32(HDR.code32Start, true),
    initrdAddrMax: view.getUint32(HDR.initrdAddrMax, true),
    kernelAlignment: view.getUint32(HDR.kernelAlignment, true),
    relocatable: view.getUint8(HDR.relocatableKernel) !== 0,
    cmdlineSize: view.getUint32(HDR.cmdlineSize, true),
    initSize: version >= 0x20a ? view.getUint32(HDR.initSize, true) : 0,
    prefAddress: version >= 0x20a ? view.getUint32(HDR.prefAddress, true) : 0,
    kernelOffset,
    headerEnd: Math.min(headerEnd, kernelOffset),
  };
}

/** True when the image carries the bzImage signature (used to tell it from a Multiboot kernel). */
export function hasSetupHeader(image: Uint8Array): boolean {
  return (
    image.length >= 0x206 &&
    image[0x202] === 0x48 &&
    image[0x203] === 0x64 &&
    image[0x204] === 0x72 &&
    image[0x205] === 0x53
  );
}
