/** Assembles a test kernel from test/machine/kernels with nasm (flat binary). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasNasm(): boolean {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export function assembleKernel(name: string, defines: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'popek-kernel-'));
  try {
    const out = join(dir, `${name}.bin`);
    execFileSync('nasm', ['-f', 'bin', ...defines.map((d) => `-D${d}`), '-o', out, join(import.meta.dirname, 'kernels', `${name}.asm`)], { stdio: 'pipe' });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
