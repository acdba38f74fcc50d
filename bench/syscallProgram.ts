/**
 * The bench's system-call workload in the guest: builds bench/guest/getppid.c
 * on the host (gcc -m32 -static -O2; cached by source in the OS temp
 * directory, never committed) and hands the Tiny Linux initramfs with the
 * program added as /bin/getppid. Linux unpacks concatenated initramfs
 * archives in order, each compressed or not, so a second gzipped newc archive
 * appended to the bundled one adds the file without rebuilding the first.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TINY_LINUX } from '../scripts/guestConsole.ts';

const SOURCE = new URL('./guest/getppid.c', import.meta.url).pathname;
const CACHE = join(tmpdir(), 'popek-bench-guest');
/** Where the program lands in the guest. */
export const SYSCALL_PROGRAM = '/bin/getppid';
export const SYSCALL_CALLS = 100000;

/** Compiles the program (or takes it from the cache); throws with gcc's message when it cannot. */
export function buildSyscallProgram(): Uint8Array {
  const source = readFileSync(SOURCE);
  const out = join(CACHE, `getppid-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    try {
      execFileSync('gcc', ['-m32', '-static', '-O2', '-s', '-o', out, SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: Buffer; code?: string };
      if (err.code === 'ENOENT') throw new Error('gcc is not installed (apt-get install gcc-multilib)');
      throw new Error(`gcc -m32 -static failed (gcc-multilib installed?): ${err.stderr?.toString().split('\n')[0] ?? String(e)}`);
    }
  }
  return new Uint8Array(readFileSync(out));
}

/** The bundled initramfs followed by a gzipped newc archive holding the program at SYSCALL_PROGRAM. */
export function initramfsWithSyscallProgram(): Uint8Array {
  const base = readFileSync(TINY_LINUX + 'initramfs.cpio.gz');
  const extra = gzipSync(newcArchive([{ name: SYSCALL_PROGRAM.slice(1), mode: 0o100755, data: buildSyscallProgram() }]));
  // The kernel looks for the next archive at a 4-byte boundary, skipping zero padding.
  const pad = (4 - (base.length % 4)) % 4;
  const initrd = new Uint8Array(base.length + pad + extra.length);
  initrd.set(base, 0);
  initrd.set(extra, base.length + pad);
  return initrd;
}

interface NewcFile {
  /** Path without the leading slash; its directory must exist in an earlier archive. */
  name: string;
  mode: number;
  data: Uint8Array;
}

/** A cpio archive in the "newc" format (ASCII headers, 4-byte alignment) that the kernel's initramfs unpacker reads. */
function newcArchive(files: NewcFile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    size += bytes.length;
    const pad = (4 - (size % 4)) % 4;
    if (pad) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
  };
  const entry = (ino: number, name: string, mode: number, data: Uint8Array) => {
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const header = '070701' + [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0].map(hex).join('');
    push(new TextEncoder().encode(header + name + '\0'));
    if (data.length) push(data);
  };
  files.forEach((f, i) => entry(i + 1, f.name, f.mode, f.data));
  entry(0, 'TRAILER!!!', 0, new Uint8Array(0));
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
