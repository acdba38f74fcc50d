/**
 * The v86 reference lines of `npm run bench -- v86` (issue 13): the same
 * kernels Popek's bench boots (Tiny Linux's bzImage, and Debian's 686 kernel
 * when scripts/fetch-debian-kernel.sh has fetched it) with the same Tiny Linux
 * initramfs, kernel command line (console=ttyS0) and memory size, booted in
 * v86, the npm package's x86 emulator with its x86-to-wasm JIT, on the same
 * Node process and machine, so every Popek figure of the run can be given as a
 * ratio to it. v86 is a
 * development-only reference (a devDependency, loaded with a dynamic import):
 * when the package is missing the section says so and is skipped.
 *
 * v86 boots a bzImage through its BIOS; its npm package ships no BIOS images,
 * so it is given the SeaBIOS Popek bundles (resources/firmware/seabios: Debian
 * 12's bios.bin and vgabios-isavga.bin).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PROMPT, TINY_LINUX } from '../scripts/guestConsole.ts';
import { SHELL_LOOP, syscallLoop, timedInGuest } from './linuxBench.ts';

const SEABIOS = new URL('../resources/firmware/seabios/', import.meta.url).pathname;

export interface V86BenchResult {
  version: string;
  bootSeconds: number;
  loopGuestSeconds: number;
  loopHostSeconds: number;
  /** Guest instructions v86 counted over the shell loop (its instruction counter). */
  loopInstructions: number;
  /** Only when the initramfs with the system-call program was given. */
  syscallGuestSeconds?: number;
}

/** The subset of v86's emulator API used here (the package's own types are not needed at build time). */
interface V86Emulator {
  add_listener(event: 'serial0-output-byte', listener: (byte: number) => void): void;
  serial0_send(data: string): void;
  /** Instructions executed since power-on, modulo 2^32. */
  get_instruction_counter(): number;
  /** Pauses and resumes the emulation (test/cpu/jit/measure/warmRounds.ts takes turns with a Popek machine). */
  stop(): Promise<void>;
  run(): Promise<void>;
  destroy(): Promise<void>;
}
type V86Constructor = new (options: Record<string, unknown>) => V86Emulator;
/** The loaded v86 package: its constructor, version and build directory (for v86.wasm). */
export interface V86Package {
  V86: V86Constructor;
  version: string;
  buildDir: string;
}

/** v86's constructor and version, or the reason it cannot be loaded. */
export async function loadV86(): Promise<V86Package | { missing: string }> {
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('v86/package.json');
  } catch {
    return { missing: 'the v86 package is not installed (a devDependency: npm install)' };
  }
  const buildDir = join(dirname(packageJson), 'build');
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  // A path the bundler cannot follow: v86 stays outside the bench bundle and is loaded only here.
  const entry = join(buildDir, 'libv86.mjs');
  const mod = (await import(/* @vite-ignore */ entry)) as { V86: V86Constructor };
  return { V86: mod.V86, version, buildDir };
}

function arrayBuffer(path: string): { buffer: ArrayBuffer } {
  const b = readFileSync(path);
  return { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer };
}

/** A serial console on a v86 machine, with the command() that timedInGuest drives. */
export class V86Console {
  output = '';
  constructor(readonly emulator: V86Emulator) {
    emulator.add_listener('serial0-output-byte', (byte) => (this.output += String.fromCharCode(byte)));
  }

  /** Waits (v86 runs on Node's event loop meanwhile) until the output from `from` on matches. */
  async waitFor(pattern: RegExp | string, hostSeconds: number, from = 0): Promise<string> {
    const deadline = performance.now() + hostSeconds * 1000;
    for (;;) {
      const text = this.output.slice(from);
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
      if (performance.now() > deadline) throw new Error(`v86: timed out waiting for ${pattern}; output: ${JSON.stringify(this.output.slice(-300))}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async command(line: string, hostSeconds = 120): Promise<string> {
    const from = this.output.length;
    this.emulator.serial0_send(line + '\n');
    const text = await this.waitFor(PROMPT, hostSeconds, from);
    const body = text.replace(/# (\x1b\[6n)?$/, '').replace(/\r\n/g, '\n');
    const echo = body.indexOf('\n');
    return echo < 0 ? '' : body.slice(echo + 1);
  }
}

/** Powers on v86 (JIT on, its default) with `kernelPath` (a bzImage) and Tiny Linux's initramfs or the one given. */
function startV86(v86: V86Package, kernelPath: string, memoryMiB: number, initrd: Uint8Array | undefined): V86Emulator {
  return new v86.V86({
    wasm_path: join(v86.buildDir, 'v86.wasm'),
    memory_size: memoryMiB * 1024 * 1024,
    bios: arrayBuffer(SEABIOS + 'bios.bin'),
    vga_bios: arrayBuffer(SEABIOS + 'vgabios-isavga.bin'),
    bzimage: arrayBuffer(kernelPath),
    initrd: initrd ? { buffer: initrd.slice().buffer } : arrayBuffer(TINY_LINUX + 'initramfs.cpio.gz'),
    cmdline: 'console=ttyS0',
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });
}

/** Host seconds from v86's power-on to POPEK-READY (`npm run bench -- v86 <kernel> boot`). */
export async function bootV86(v86: V86Package, kernelPath: string, memoryMiB: number): Promise<number> {
  const t0 = performance.now();
  const emulator = startV86(v86, kernelPath, memoryMiB, undefined);
  try {
    await new V86Console(emulator).waitFor('POPEK-READY', 1800);
    return (performance.now() - t0) / 1000;
  } finally {
    await emulator.destroy();
  }
}

/** A v86 machine booted from `kernelPath` with Tiny Linux's initramfs, at its shell prompt. */
export async function startV86Console(v86: V86Package, kernelPath: string, memoryMiB: number): Promise<V86Console> {
  const guest = new V86Console(startV86(v86, kernelPath, memoryMiB, undefined));
  await guest.waitFor('POPEK-READY', 1800);
  await guest.waitFor(PROMPT, 120);
  return guest;
}

/**
 * Boots `kernelPath` (a bzImage) with Tiny Linux's initramfs in v86, times
 * boot to POPEK-READY, the shell loop and, given the initramfs with the
 * system-call program, the system-call loop.
 */
export async function runV86Bench(
  v86: V86Package,
  kernelPath: string,
  memoryMiB: number,
  syscallInitrd?: Uint8Array,
): Promise<V86BenchResult> {
  const t0 = performance.now();
  const emulator = startV86(v86, kernelPath, memoryMiB, syscallInitrd);
  const guest = new V86Console(emulator);
  try {
    await guest.waitFor('POPEK-READY', 1800);
    const bootSeconds = (performance.now() - t0) / 1000;
    await guest.waitFor(PROMPT, 120);
    const i1 = emulator.get_instruction_counter();
    const t1 = performance.now();
    const loopGuestSeconds = await timedInGuest(guest, SHELL_LOOP);
    const loopHostSeconds = (performance.now() - t1) / 1000;
    // The counter is 32 bits: the loop (~3.5 G instructions) wraps it at most once.
    const loopInstructions = (emulator.get_instruction_counter() - i1 + 2 ** 32) % 2 ** 32;
    const syscallGuestSeconds = syscallInitrd ? await syscallLoop(guest) : undefined;
    return { version: v86.version, bootSeconds, loopGuestSeconds, loopHostSeconds, loopInstructions, syscallGuestSeconds };
  } finally {
    await emulator.destroy();
  }
}
