/**
 * The host-wide internal network: every process of this user on this host
 * (`popek run`, `popek serve`, the app) whose VMs name the same internal
 * network joins one Ethernet segment.
 *
 * How the processes find and reach each other:
 *
 * - Each process that uses network NAME binds a UDP socket on 127.0.0.1
 *   (an ephemeral port) and creates an empty file `<pid>-<port>` in the
 *   endpoint directory `<runtime>/net/NAME/`. `<runtime>` is
 *   `$POPEK_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/popek`, else
 *   `<os.tmpdir()>/popek-<uid>`; it must be a directory of this user that no
 *   one else may enter (mode 0700), as tmux and ssh-agent check their socket
 *   folders, so another user can neither read the endpoints nor plant one.
 * - The processes form a full mesh, like QEMU's `-netdev dgram` and VDE's
 *   point-to-point wires rather than one hub process: a frame is one
 *   datagram from the sending process straight to the receiving one. Each
 *   other process is an isolated port on this process's switch (dom0's
 *   VirtualSwitch), so the switch learns which process has which MAC and a
 *   unicast frame goes to that process only; broadcast and unknown
 *   destinations go to all; a frame from one process is never relayed to a
 *   third (each process sends to all itself).
 * - A datagram is accepted only from 127.0.0.1 and from a port that an
 *   endpoint file of the same network names (the 0700 directory is the
 *   authentication), and it carries the network's name, so a reused port
 *   of another network's process cannot inject frames.
 *
 * Why UDP datagrams and not a unix stream socket with one process as the
 * hub: Node's dgram has no unix datagram sockets, and a stream hub needs a
 * hand-over (election, reconnects, frames lost meanwhile) when the hosting
 * process exits; with a mesh no process is special, a process that exits
 * takes only its own VMs away, and datagrams keep Ethernet's semantics (a
 * frame is delivered whole or lost, never half) without length prefixes.
 * The cost, O(processes) datagrams per broadcast, is small for a handful of
 * processes on one host.
 *
 * Leftovers: an exiting process sends BYE and removes its file (also on
 * process exit); a killed one (kill -9, crash) leaves its file, which the
 * next process that reads the directory removes when no process has that pid.
 * When the pid lives (reused by another program) but nothing answers HELLO
 * at that port within `confirmMs`, the endpoint is ignored (no frames are
 * sent to it) but its file stays: the process may only be busy, and it
 * becomes a peer again with its first datagram. Running endpoints check
 * their peers' pids every `livenessMs`, so a peer killed while the network
 * runs is forgotten (its learned MACs too) and its file removed.
 *
 * Datagram: "PKNT" (4 bytes), version 1, kind (1 FRAME, 2 HELLO, 3 HELLO
 * reply, 4 BYE), the name's length n (1..32), the name, then for FRAME the
 * Ethernet frame (14..1518 bytes). Anything else is dropped and counted.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lstatSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_FRAME, MIN_FRAME, type VirtualSwitch } from '../dom0/virtualSwitch.ts';

const MAGIC = [0x50, 0x4b, 0x4e, 0x54]; // "PKNT"
const VERSION = 1;
const FRAME = 1;
const HELLO = 2;
const HELLO_REPLY = 3;
const BYE = 4;
const HEADER = 7; // magic, version, kind, name length
const LOOPBACK = '127.0.0.1';
const ENDPOINT_FILE = /^(\d+)-(\d+)$/;

export class HostNetworkError extends Error {
  override readonly name = 'HostNetworkError';
}

/** Why `name` cannot be an internal network's name, or null when it can (it becomes a folder name: no separators, not '.' or '..'). */
export function networkNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) return `bad internal network name '${name}': 1 to 32 letters, digits, dots, dashes or underscores`;
  if (/^\.+$/.test(name)) return `bad internal network name '${name}': not only dots`;
  return null;
}

/** The folder this user's processes share their network endpoints in (not created here). */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.POPEK_RUNTIME_DIR) return env.POPEK_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'popek');
  return join(tmpdir(), `popek-${process.getuid?.() ?? 'user'}`);
}

export interface HostNetworkOptions {
  /** The runtime folder (default runtimeDir()). */
  root?: string;
  /** How often the peers' pids are checked (ms). */
  livenessMs?: number;
  /** How long a listed endpoint may stay silent after our HELLO before it counts as stale (ms). */
  confirmMs?: number;
}

export interface HostNetworkCounters {
  /** Frames sent to other processes (one per receiving process). */
  sent: number;
  /** Bytes of those frames (Ethernet header and payload, once per receiving process). */
  sentBytes: number;
  /** Frames from other processes given to the switch. */
  received: number;
  /** Bytes of those frames. */
  receivedBytes: number;
  /** Datagrams dropped as malformed: short, bad magic or version, unknown kind, another network's name, a frame too short or too long. */
  malformed: number;
  /** Datagrams from a sender that is not an endpoint of this network. */
  strangers: number;
  /** Endpoint files of dead processes this endpoint removed (found dead when listed, or while a peer). */
  staleRemoved: number;
  /** Sends the operating system refused. */
  sendErrors: number;
}

interface Peer {
  pid: number;
  udpPort: number;
  /** Its port on the switch; null while it is ignored (silent since we listed it). */
  switchPort: number | null;
  /** Whether a datagram from it has arrived (it is really there). */
  confirmed: boolean;
  /** When we first listed it (performance.now()). */
  since: number;
}

/** This process's end of internal network `network`: the other processes become isolated ports of `sw`. */
export class HostNetworkEndpoint {
  readonly network: string;
  readonly counters: HostNetworkCounters = { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0, malformed: 0, strangers: 0, staleRemoved: 0, sendErrors: 0 };
  private readonly peers = new Map<number, Peer>();
  private readonly nameBytes: Uint8Array;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    network: string,
    private readonly sw: VirtualSwitch,
    private readonly socket: Socket,
    private readonly dir: string,
    readonly udpPort: number,
    private readonly confirmMs: number,
    livenessMs: number,
  ) {
    this.network = network;
    this.nameBytes = new TextEncoder().encode(network);
    socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address, rinfo.port));
    this.timer = setInterval(() => this.checkPeers(), livenessMs);
    this.timer.unref();
    ownFiles.add(this.ownFile);
    if (ownFiles.size === 1) process.on('exit', removeOwnFilesAtExit);
  }

  private get ownFile(): string {
    return join(this.dir, `${process.pid}-${this.udpPort}`);
  }

  /** Binds the socket, publishes the endpoint, greets the processes already on `network`. */
  static async open(network: string, sw: VirtualSwitch, options: HostNetworkOptions = {}): Promise<HostNetworkEndpoint> {
    const problem = networkNameProblem(network);
    if (problem) throw new HostNetworkError(problem);
    const root = options.root ?? runtimeDir();
    const dir = join(root, 'net', network);
    privateFolder(root);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => {}); // send errors arrive through the callbacks; a socket error must not crash the process
    socket.unref(); // the machine, not the network, keeps a `popek run` alive
    const endpoint = new HostNetworkEndpoint(network, sw, socket, dir, socket.address().port, options.confirmMs ?? 3000, options.livenessMs ?? 1000);
    writeFileSync(endpoint.ownFile, '', { mode: 0o600 });
    endpoint.scan();
    return endpoint;
  }

  /** The other processes on this network that frames go to, by UDP port. */
  peerPorts(): number[] {
    return [...this.peers.values()].filter((p) => p.switchPort !== null).map((p) => p.udpPort);
  }

  /** Says goodbye to the peers, removes the endpoint file, closes the socket. */
  close(): void {
    if (this.closed) return;
    for (const peer of this.peers.values()) this.sendTo(peer.udpPort, BYE);
    for (const port of [...this.peers.keys()]) this.forget(port);
    this.closed = true;
    clearInterval(this.timer);
    ownFiles.delete(this.ownFile);
    if (ownFiles.size === 0) process.off('exit', removeOwnFilesAtExit);
    removeQuietly(this.ownFile);
    // After the BYEs left: close() would discard datagrams still queued in the socket.
    setImmediate(() => this.socket.close());
  }

  /** Reads the endpoint folder: new endpoints become peers and are greeted, dead processes' files go. */
  private scan(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = ENDPOINT_FILE.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      const udpPort = Number(m[2]);
      if (udpPort === this.udpPort && pid === process.pid) continue;
      if (this.peers.has(udpPort)) continue;
      if (!processAlive(pid)) {
        this.removeFile(pid, udpPort);
        continue;
      }
      this.peers.set(udpPort, { pid, udpPort, switchPort: this.attachPeer(udpPort), confirmed: false, since: performance.now() });
      this.sendTo(udpPort, HELLO);
    }
  }

  private onDatagram(msg: Buffer, address: string, port: number): void {
    if (this.closed) return;
    if (address !== LOOPBACK) {
      this.counters.strangers++;
      return;
    }
    let peer = this.peers.get(port);
    if (!peer) {
      this.scan();
      peer = this.peers.get(port);
      if (!peer) {
        this.counters.strangers++;
        return;
      }
    }
    const kind = this.parseHeader(msg);
    if (kind === null) {
      this.counters.malformed++;
      return;
    }
    const payload = new Uint8Array(msg.buffer, msg.byteOffset + HEADER + this.nameBytes.length, msg.length - HEADER - this.nameBytes.length);
    if ((kind === FRAME) !== payload.length > 0 || (kind === FRAME && (payload.length < MIN_FRAME || payload.length > MAX_FRAME))) {
      this.counters.malformed++;
      return;
    }
    peer.confirmed = true;
    peer.switchPort ??= this.attachPeer(port);
    switch (kind) {
      case FRAME:
        this.counters.received++;
        this.counters.receivedBytes += payload.length;
        this.sw.send(peer.switchPort!, payload);
        break;
      case HELLO:
        this.sendTo(port, HELLO_REPLY);
        break;
      case BYE:
        this.forget(port);
        break;
    }
  }

  /** The datagram's kind when its header is ours and names this network, else null. */
  private parseHeader(msg: Buffer): number | null {
    if (msg.length < HEADER) return null;
    for (let i = 0; i < MAGIC.length; i++) if (msg[i] !== MAGIC[i]) return null;
    if (msg[4] !== VERSION) return null;
    const kind = msg[5];
    if (kind !== FRAME && kind !== HELLO && kind !== HELLO_REPLY && kind !== BYE) return null;
    const n = msg[6];
    if (n !== this.nameBytes.length || msg.length < HEADER + n) return null;
    for (let i = 0; i < n; i++) if (msg[HEADER + i] !== this.nameBytes[i]) return null;
    return kind;
  }

  private sendTo(udpPort: number, kind: number, frame?: Uint8Array): void {
    if (this.closed) return;
    const datagram = new Uint8Array(HEADER + this.nameBytes.length + (frame?.length ?? 0));
    datagram.set(MAGIC, 0);
    datagram[4] = VERSION;
    datagram[5] = kind;
    datagram[6] = this.nameBytes.length;
    datagram.set(this.nameBytes, HEADER);
    if (frame) datagram.set(frame, HEADER + this.nameBytes.length);
    if (kind === FRAME) {
      this.counters.sent++;
      this.counters.sentBytes += frame!.length;
    }
    this.socket.send(datagram, udpPort, LOOPBACK, (error) => {
      if (error) this.counters.sendErrors++;
    });
  }

  private attachPeer(udpPort: number): number {
    return this.sw.attach((frame) => this.sendTo(udpPort, FRAME, frame), { isolated: true });
  }

  /** Forgets peers whose process died; ignores those that never answered HELLO (greeted again until then). */
  private checkPeers(): void {
    const now = performance.now();
    for (const peer of [...this.peers.values()]) {
      if (!processAlive(peer.pid)) {
        this.forget(peer.udpPort);
        this.removeFile(peer.pid, peer.udpPort);
      } else if (!peer.confirmed && peer.switchPort !== null) {
        if (now - peer.since > this.confirmMs) {
          this.sw.detach(peer.switchPort);
          peer.switchPort = null;
        } else {
          this.sendTo(peer.udpPort, HELLO);
        }
      }
    }
  }

  private forget(udpPort: number): void {
    const peer = this.peers.get(udpPort);
    if (!peer) return;
    this.peers.delete(udpPort);
    if (peer.switchPort !== null) this.sw.detach(peer.switchPort);
  }

  private removeFile(pid: number, udpPort: number): void {
    try {
      unlinkSync(join(this.dir, `${pid}-${udpPort}`));
      this.counters.staleRemoved++;
    } catch {
      // Another process removed it first.
    }
  }

}

/** The endpoint files of this process's open endpoints, removed by one exit handler (not one listener per endpoint). */
const ownFiles = new Set<string>();

function removeOwnFilesAtExit(): void {
  for (const file of ownFiles) removeQuietly(file);
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone (a peer judged us dead, or the folder was removed).
  }
}

/** Creates `root` (0700) if needed and refuses one that is a link, another user's, or open to others. */
function privateFolder(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = lstatSync(root);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new HostNetworkError(`the runtime folder ${root} is not a folder`);
  if (uid !== undefined && st.uid !== uid) throw new HostNetworkError(`the runtime folder ${root} belongs to another user`);
  if ((st.mode & 0o077) !== 0) throw new HostNetworkError(`the runtime folder ${root} is open to other users (mode ${(st.mode & 0o777).toString(8)}); it must be 700`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}
