/**
 * Assembles NASM source into a flat binary, for test programs and
 * benchmarks (never used at run time by Popek itself). Results are cached
 * by content in the OS temp directory.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CACHE = join(tmpdir(), 'popek-nasm-cache');

/**
 * @param source NASM source text
 * @param includeDirs directories searched by %include (their *.inc files are part of the cache key)
 * @param defines -D definitions
 */
export function assemble(source: string, includeDirs: string[] = [], defines: Record<string, string | number> = {}): Uint8Array {
  mkdirSync(CACHE, { recursive: true });
  const hash = createHash('sha256').update(source);
  for (const dir of includeDirs) {
    for (const name of existsSync(dir) ? readdirInc(dir) : []) hash.update(name).update(readFileSync(join(dir, name)));
  }
  const defineArgs = Object.entries(defines).map(([k, v]) => `-D${k}=${v}`);
  hash.update(defineArgs.join(' '));
  const key = hash.digest('hex').slice(0, 24);
  const out = join(CACHE, `${key}.bin`);
  if (!existsSync(out)) {
    const src = join(CACHE, `${key}.asm`);
    writeFileSync(src, source);
    const args = ['-f', 'bin', '-o', out, ...defineArgs, ...includeDirs.map((d) => `-i${d.endsWith('/') ? d : d + '/'}`), src];
    try {
      execFileSync('nasm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: Buffer; code?: string };
      if (err.code === 'ENOENT') throw new Error('nasm is not installed (apt-get install nasm)');
      throw new Error(`nasm failed:\n${err.stderr?.toString() ?? String(e)}`);
    }
  }
  return new Uint8Array(readFileSync(out));
}

function readdirInc(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.inc')).sort();
}
