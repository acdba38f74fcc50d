import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTempFileName, writeFileAtomic } from '../../core/host/atomicWrite.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'popek-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the file contents', async () => {
    const path = join(dir, 'vm.json');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new contents');
    expect(await readFile(path, 'utf8')).toBe('new contents');
    expect(await readdir(dir)).toEqual(['vm.json']);
  });

  it('leaves the old file intact when the write fails before the rename, and removes its temp file', async () => {
    const path = join(dir, 'vm.json');
    await writeFile(path, 'old');
    await expect(
      writeFileAtomic(path, 'new', {
        beforeRename: () => {
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['vm.json']);
  });

  it('leaves the old file intact when the process is killed between write and rename', async () => {
    const path = join(dir, 'vm.json');
    await writeFile(path, 'old');
    const moduleUrl = pathToFileURL(resolve('core/host/atomicWrite.ts')).href;
    // A separate process that dies (SIGKILL, no cleanup) after the temp file is
    // written and synced but before the rename: a crash at the worst moment.
    const script = `
      const { writeFileAtomic } = await import(${JSON.stringify(moduleUrl)});
      await writeFileAtomic(${JSON.stringify(path)}, 'new', { beforeRename: () => process.kill(process.pid, 'SIGKILL') });
    `;
    const signal = await new Promise<string | null>((done) => {
      const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], () => done(child.signalCode));
    });
    expect(signal).toBe('SIGKILL');
    expect(await readFile(path, 'utf8')).toBe('old');
    const names = await readdir(dir);
    expect(names.length).toBe(2);
    const stray = names.find((n) => n !== 'vm.json')!;
    expect(isTempFileName(stray)).toBe(true);
    expect(await readFile(join(dir, stray), 'utf8')).toBe('new');
  });
});
