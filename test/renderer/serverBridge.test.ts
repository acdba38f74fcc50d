// @vitest-environment happy-dom
/**
 * The browser transport speaks core/host/wire.ts exactly: POST /api/<method>
 * with a Bearer token and `{ args }`, Uint8Array as `{ $bytes }`, errors as
 * HostError with the host's code, events over /api/events?token=..., serial
 * subscriptions re-sent after a reconnect.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HostError } from '../../core/host/api.ts';
import { createServerBridge, type ServerBridge } from '../../renderer/src/host/serverBridge.ts';

class FakeSocket {
  static instances: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(): void {
    this.onclose?.();
  }
  open(): void {
    this.onopen?.();
  }
  receive(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let fetchMock: ReturnType<typeof vi.fn>;
let bridge: ServerBridge;

beforeEach(() => {
  FakeSocket.instances = [];
  fetchMock = vi.fn(async () => jsonResponse(200, { value: null }));
  bridge = createServerBridge({
    origin: 'http://127.0.0.1:4321',
    token: 'se cret',
    fetchImpl: fetchMock as unknown as typeof fetch,
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
  });
});

afterEach(() => {
  bridge.close();
  vi.useRealTimers();
});

describe('server bridge requests', () => {
  it('posts the arguments with the bearer token and decodes the value', async () => {
    fetchMock.mockResolvedValueOnce(jsonResponse(200, { value: [{ field: 'name', message: 'Name is required' }] }));
    const errors = await bridge.validateVm({ name: '' }, 'abc');
    expect(errors).toEqual([{ field: 'name', message: 'Name is required' }]);
    expect(fetchMock).toHaveBeenCalledWith('http://127.0.0.1:4321/api/validateVm', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer se cret' },
      body: JSON.stringify({ args: [{ name: '' }, 'abc'] }),
    });
  });

  it('sends serial input bytes as base64', async () => {
    fetchMock.mockResolvedValueOnce(jsonResponse(200, {}));
    await bridge.sendSerialInput('vm1', 0, new Uint8Array([0x6c, 0x73, 0x0d]));
    const init = fetchMock.mock.calls[0]![1] as RequestInit;
    expect(JSON.parse(init.body as string)).toEqual({ args: ['vm1', 0, { $bytes: 'bHMN' }] });
  });

  it('rejects with the host error code and message', async () => {
    fetchMock.mockResolvedValueOnce(jsonResponse(409, { error: { code: 'ILLEGAL_TRANSITION', message: 'cannot pause a powered-off VM' } }));
    const failure = await bridge.pauseVm('vm1').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(HostError);
    expect((failure as HostError).code).toBe('ILLEGAL_TRANSITION');
    expect((failure as HostError).message).toBe('cannot pause a powered-off VM');
  });

  it('explains a 403 without a body as a token problem', async () => {
    fetchMock.mockResolvedValueOnce(new Response('forbidden', { status: 403 }));
    await expect(bridge.listVms()).rejects.toThrow('The host refused the request (403): the access token in the page URL is missing or wrong.');
  });
});

describe('server bridge events', () => {
  it('connects to the events endpoint with the token in the query', () => {
    expect(FakeSocket.instances.map((s) => s.url)).toEqual(['ws://127.0.0.1:4321/api/events?token=se%20cret']);
  });

  it('dispatches state, stats, library and serial messages to their listeners', () => {
    const socket = FakeSocket.instances[0]!;
    socket.open();
    const states: unknown[] = [];
    const library = vi.fn();
    const serial: number[][] = [];
    bridge.onStateChange((e) => states.push(e));
    bridge.onLibraryChange(library);
    bridge.subscribeSerial('vm1', 1, (data) => serial.push([...data]));
    expect(socket.sent).toEqual([JSON.stringify({ type: 'subscribeSerial', vmId: 'vm1', port: 1 })]);
    socket.receive({ type: 'state', vmId: 'vm1', status: { state: 'running', since: 5 } });
    socket.receive({ type: 'library' });
    socket.receive({ type: 'serial', vmId: 'vm1', port: 1, data: 'aGk=' });
    socket.receive({ type: 'serial', vmId: 'vm1', port: 0, data: 'eA==' }); // other port: not ours
    expect(states).toEqual([{ vmId: 'vm1', status: { state: 'running', since: 5 } }]);
    expect(library).toHaveBeenCalledTimes(1);
    expect(serial).toEqual([[0x68, 0x69]]);
  });

  it('unsubscribes when the last listener of a port leaves', () => {
    const socket = FakeSocket.instances[0]!;
    socket.open();
    const off = bridge.subscribeSerial('vm1', 0, () => {});
    off();
    expect(socket.sent.map((s) => JSON.parse(s))).toEqual([
      { type: 'subscribeSerial', vmId: 'vm1', port: 0 },
      { type: 'unsubscribeSerial', vmId: 'vm1', port: 0 },
    ]);
  });

  it('reconnects, tells connection listeners first, then re-subscribes serial streams', () => {
    vi.useFakeTimers();
    const first = FakeSocket.instances[0]!;
    first.open();
    const order: string[] = [];
    bridge.onConnectionChange((up) => order.push(up ? 'up' : 'down'));
    bridge.subscribeSerial('vm1', 0, () => {});
    first.close();
    expect(order).toEqual(['down']);
    vi.advanceTimersByTime(250);
    const second = FakeSocket.instances[1]!;
    second.send = (text: string) => order.push(`sent ${text}`);
    second.open();
    expect(order).toEqual(['down', 'up', `sent ${JSON.stringify({ type: 'subscribeSerial', vmId: 'vm1', port: 0 })}`]);
  });
});
