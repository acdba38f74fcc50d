/**
 * The steps the network tests take between two guests on one internal
 * network, at the guests' shells: give eth0 an address, ping each other,
 * move a file of random bytes with nc and compare its md5 on both sides.
 * The guests are Tiny Linux's busybox userland (or Debian's kernel under
 * it); the shell is whatever console the test drives: an in-process
 * GuestConsole (test/machine), a `popek run` child's stdio (test/cli) or a
 * machine worker's COM1 through the host service (test/host).
 */
import { expect } from 'vitest';

/**
 * A guest's shell: types `line` at its prompt and returns what the command
 * printed before the next prompt (LF line ends), failing after `seconds`.
 */
export interface GuestShell {
  command(line: string, seconds?: number): Promise<string>;
}

/** A guest on the network: its shell and eth0's IPv4 address (in a /24 shared with the other guest). */
export interface NetworkGuest {
  shell: GuestShell;
  ip: string;
}

/** Gives eth0 the guest's address and brings the link up. */
export async function bringUpEth0(guest: NetworkGuest, seconds: number): Promise<void> {
  expect(await guest.shell.command(`ip addr add ${guest.ip}/24 dev eth0 && ip link set eth0 up && echo ok`, seconds)).toBe('ok\n');
}

/**
 * `a` pings `b` `there` times, then `b` pings `a` `back` times; every echo
 * request is answered. One `ping -c 1 -W 10` per request: busybox's `ping -c
 * N` waits only about twice the slowest round trip (at least a second of
 * the pinger's time) for the replies after its last request, which a peer
 * sharing the host thread can miss when the guests run slowly (compiler
 * off), while with one request it waits the -W seconds for the reply.
 */
export async function pingEachOther(a: NetworkGuest, b: NetworkGuest, counts: { there: number; back: number }, seconds: number): Promise<void> {
  const answered = '1 packets transmitted, 1 packets received, 0% packet loss';
  for (const [from, to, count] of [[a, b, counts.there], [b, a, counts.back]] as const) {
    const requests = Array.from({ length: count }, (_, k) => k + 1).join(' ');
    const out = await from.shell.command(`for i in ${requests}; do ping -c 1 -W 10 ${to.ip}; done`, seconds);
    expect(out.split(answered).length - 1, out).toBe(count);
  }
}

/** The sender's file and the receiver's copy (in /tmp, apart from the names the tests' other steps use). */
const SENT = '/tmp/nc-sent';
const RECEIVED = '/tmp/nc-received';

/**
 * Moves `kib` KiB of random bytes from `from` to `to` over TCP `port` with
 * nc (the receiver listens in the background, the sender sends and exits,
 * the receiver's shell waits for its listener), then checks that the copy's
 * md5 is the original's. Every command line stays shorter than the
 * console's 80 columns: a longer one comes back wrapped in the echo.
 */
export async function sendRandomFile(from: NetworkGuest, to: NetworkGuest, transfer: { kib: number; port: number }, seconds: number): Promise<void> {
  expect(await to.shell.command(`nc -l -p ${transfer.port} > ${RECEIVED} & echo listening`, seconds)).toMatch(/listening\n$/);
  expect(await from.shell.command(`dd if=/dev/urandom of=${SENT} bs=1k count=${transfer.kib} 2>/dev/null`, seconds)).toBe('');
  const sent = await from.shell.command(`md5sum < ${SENT}`, seconds);
  expect(sent).toMatch(/^[0-9a-f]{32}  -\n$/);
  expect(await from.shell.command(`nc ${to.ip} ${transfer.port} < ${SENT}; echo sent`, seconds)).toMatch(/sent\n$/);
  await to.shell.command('wait', seconds);
  expect(await to.shell.command(`md5sum < ${RECEIVED}`, seconds)).toBe(sent);
}
