/**
 * `popek serve` as a user runs it: a child process that prints the URL with
 * its token, serves the UI and the API on 127.0.0.1, refuses requests without
 * the token, and exits cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { vmDraft } from './fixtures/vmDraft.ts';

let child: ChildProcess | undefined;
let root: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (root) await rm(root, { recursive: true, force: true });
});

function startServe(args: string[]): Promise<{ url: string; output: () => string }> {
  const proc = spawn(process.execPath, ['bin/popek.mjs', 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /Popek manager: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48})\n/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ url: m[1], output: () => out });
      } else if (proc.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`serve exited early (${proc.exitCode}):\n${out}`));
      }
    }, 20);
  });
}

describe('popek serve', () => {
  it('prints a tokened URL, enforces the token, and stops on SIGTERM', async () => {
    root = await mkdtemp(join(tmpdir(), 'popek-serve-'));
    const { url, output } = await startServe(['--port', '0', '--library', join(root, 'lib')]);
    const { origin, searchParams } = new URL(url);
    const token = searchParams.get('token')!;

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app"></div>');

    const denied = await fetch(`${origin}/api/listVms`, { method: 'POST', body: '{"args":[]}' });
    expect(denied.status).toBe(403);
    const wrong = await fetch(`${origin}/api/listVms`, { method: 'POST', body: '{"args":[]}', headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(403);
    const allowed = await fetch(`${origin}/api/getHostInfo`, { method: 'POST', body: '{"args":[]}', headers: { Authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toMatchObject({ value: { mode: 'server', libraryFolder: join(root, 'lib') } });

    // a running VM (firmware that loops forever) is powered off on SIGTERM
    const rom = new Uint8Array(64 * 1024);
    rom.set([0xeb, 0xfe], 0xfff0); // jmp $
    await writeFile(join(root, 'loop.rom'), rom);
    const call = async (method: string, args: unknown[]) => {
      const res = await fetch(`${origin}/api/${method}`, { method: 'POST', body: JSON.stringify({ args }), headers: { Authorization: `Bearer ${token}` } });
      return (await res.json()) as { value?: { vm?: { id: string }; state?: string } };
    };
    const config = vmDraft({ name: 'loop', guestType: 'firmware-rom', memoryMiB: 4, boot: { kind: 'rom', rom: join(root, 'loop.rom') }, bootOrder: [] });
    const id = (await call('createVm', [{ config }])).value!.vm!.id;
    expect((await call('startVm', [id])).value!.state).toBe('running');

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output()).toContain('SIGTERM: powering off running VMs and stopping');
  });

  it('refuses a bad port with exit code 1', async () => {
    const proc = spawn(process.execPath, ['bin/popek.mjs', 'serve', '--port', '70000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err).toBe('popek serve: --port must be 0..65535, not 70000\n');
  });
});
