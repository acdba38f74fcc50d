/** Assembles a test kernel from test/machine/kernels with nasm (flat binary). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../scripts/nasm.ts';

const KERNELS = join(import.meta.dirname, 'kernels');

export function assembleKernel(name: string, defines: string[] = []): Uint8Array {
  const source = readFileSync(join(KERNELS, `${name}.asm`), 'utf8');
  const defs = Object.fromEntries(defines.map((d) => [d.split('=')[0], d.includes('=') ? d.split('=')[1] : '1']));
  return assemble(source, [KERNELS], defs);
}
