import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HostService } from '../../core/host/hostService.ts';
import { startHostServer, type RunningHostServer } from '../../core/host/httpServer.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { base64ToBytes, toWire, type ServerMessage } from '../../core/host/wire.ts';
import { vmDraft } from './fixtures/vmDraft.ts';

const TOKEN = 'a'.repeat(48);
let root: string;
let kernel: string;
let host: HostService;
let server: RunningHostServer;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-http-'));
  kernel = join(root, 'bzImage');
  await writeFile(kernel, new Uint8Array(16));
  const ui = join(root, 'ui');
  await mkdir(join(ui, 'assets'), { recursive: true });
  await writeFile(join(ui, 'index.html'), '<!doctype html><title>Popek</title>');
  await writeFile(join(ui, 'assets', 'app.js'), 'export {};');
  await writeFile(join(root, 'secret.txt'), 'secret');
  host = new HostService({
    library: new VmLibrary(join(root, 'machines'), join(root, 'guests')),
    mode: 'server',
    version: 'test',
    machineModuleUrl: pathToFileURL(resolve('test/host/fixtures/scriptedMachine.ts')).href,
  });
  server = await startHostServer({ host, token: TOKEN, port: 0, staticDir: ui });
});

afterEach(async () => {
  await host.shutdown();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function http(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** `token` null sends no Authorization header at all. */
const api = (method: string, args: unknown[], token: string | null = TOKEN) =>
  http('POST', `/api/${method}`, token === null ? {} : { Authorization: `Bearer ${token}` }, JSON.stringify({ args: toWire(args) }));

function draft(name: string, cmdline: string) {
  return vmDraft({ name, guestType: 'linux-custom', memoryMiB: 4, boot: { kind: 'linux', kernel, cmdline } });
}

function openSocket(query: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; messages: ServerMessage[] } | number> {
  return new Promise((done) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events${query}`, { headers });
    const messages: ServerMessage[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString()) as ServerMessage));
    ws.on('open', () => done({ ws, messages }));
    ws.on('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
}

async function waitFor<T>(probe: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('popek serve HTTP + WebSocket transport', () => {
  it('prints a URL on 127.0.0.1 with the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
  });

  it('refuses API requests without the token, or with a wrong one, with 403', async () => {
    expect((await api('listVms', [], null)).status).toBe(403);
    expect((await api('listVms', [], 'b'.repeat(48))).status).toBe(403);
    expect((await api('listVms', [], TOKEN.slice(1))).status).toBe(403);
    expect((await http('POST', `/api/listVms?token=${TOKEN}`, {}, '{"args":[]}')).status).toBe(403);
  });

  it('answers API requests that carry the token', async () => {
    const reply = await api('listVms', []);
    expect(reply).toMatchObject({ status: 200, body: '{"value":[]}' });
  });

  it('refuses the event WebSocket without the right token with 403', async () => {
    expect(await openSocket('')).toBe(403);
    expect(await openSocket('?token=wrong')).toBe(403);
    const ok = await openSocket(`?token=${TOKEN}`);
    expect(typeof ok).toBe('object');
    if (typeof ok === 'object') ok.ws.close();
  });

  it('refuses requests whose Host header names another site (DNS rebinding)', async () => {
    const reply = await http('POST', '/api/listVms', { Authorization: `Bearer ${TOKEN}`, Host: `evil.example:${server.port}` }, '{"args":[]}');
    expect(reply.status).toBe(403);
    expect(await openSocket(`?token=${TOKEN}`, { Host: 'evil.example' })).toBe(403);
  });

  it('maps host errors to status codes and refuses unknown operations and malformed bodies', async () => {
    expect(await api('getVm', ['no-such-vm'])).toMatchObject({ status: 404, body: '{"error":{"code":"NOT_FOUND","message":"No VM with id no-such-vm"}}' });
    expect((await api('getVm', [42])).status).toBe(400);
    expect((await api('constructor', [])).status).toBe(404);
    expect((await http('POST', '/api/listVms', { Authorization: `Bearer ${TOKEN}` }, '{"args":')).status).toBe(400);
    expect((await http('GET', '/api/listVms', { Authorization: `Bearer ${TOKEN}` })).status).toBe(405);
  });

  it('answers a VM whose I/O APIC setting is not true or false with the field and why, and creates nothing', async () => {
    const refused = await api('createVm', [{ config: { ...draft('apic', ''), apic: 'yes' } }]);
    expect(refused.status).toBe(200);
    expect(JSON.parse(refused.body)).toEqual({ value: { ok: false, errors: [{ field: 'apic', message: 'I/O APIC must be true or false' }] } });
    expect(JSON.parse((await api('listVms', [])).body)).toEqual({ value: [] });
  });

  it('serves the UI without the token, with a CSP, and nothing outside it', async () => {
    const page = await http('GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toBe('<!doctype html><title>Popek</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect((await http('GET', '/assets/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await http('GET', '/../secret.txt')).status).toBe(404);
    expect((await http('GET', '/%2e%2e/secret.txt')).status).toBe(404);
  });

  it('creates and starts a VM over HTTP and streams state events and serial output over the WebSocket', async () => {
    const socket = await openSocket(`?token=${TOKEN}`);
    if (typeof socket === 'number') throw new Error(`socket refused: ${socket}`);
    const created = await api('createVm', [{ config: draft('web', 'echo hello') }]);
    expect(created.status).toBe(200);
    const id = (JSON.parse(created.body) as { value: { vm: { id: string } } }).value.vm.id;
    socket.ws.send(JSON.stringify({ type: 'subscribeSerial', vmId: id, port: 0 }));
    expect(JSON.parse((await api('startVm', [id])).body)).toMatchObject({ value: { state: 'running' } });
    await api('sendSerialInput', [id, 0, new TextEncoder().encode('pwd')]);
    const serialText = () =>
      socket.messages
        .filter((m): m is Extract<ServerMessage, { type: 'serial' }> => m.type === 'serial' && m.vmId === id)
        .map((m) => Buffer.from(base64ToBytes(m.data)).toString())
        .join('');
    await waitFor(() => serialText() === 'hello\nPWD', 'serial output');
    expect(socket.messages.filter((m) => m.type === 'library').length).toBe(1);
    expect(socket.messages.filter((m) => m.type === 'state').map((m) => m.type === 'state' && m.status.state)).toEqual(['starting', 'running']);
    await waitFor(() => socket.messages.some((m) => m.type === 'stats'), 'stats');

    // a second socket subscribing later gets the scrollback first
    const late = await openSocket(`?token=${TOKEN}`);
    if (typeof late === 'number') throw new Error('refused');
    late.ws.send(JSON.stringify({ type: 'subscribeSerial', vmId: id, port: 0 }));
    const replay = await waitFor(() => late.messages.find((m) => m.type === 'serial'), 'replay');
    expect(replay.type === 'serial' && Buffer.from(base64ToBytes(replay.data)).toString()).toBe('hello\nPWD');
    expect(JSON.parse((await api('powerOffVm', [id])).body)).toMatchObject({ value: { state: 'poweredOff' } });
    socket.ws.close();
    late.ws.close();
  });
});
