/**
 * Messages between the host and a machine worker (one per running VM). Plain
 * data only, so the same protocol works over worker_threads and over
 * Electron's utilityProcess.
 */
import type { ClockMode } from '../cpu/clock.ts';
import type { Acceleration } from '../machine/acceleration.ts';
import type { MachineMemoryLease } from './machinePool.ts';
import type { MachineStats, SerialIndex, StopReason, VirtioDiskOption } from '../machine/types.ts';
import type { ScreenSnapshot } from '../devices/vga/textScreen.ts';
import type { HostKeyEvent } from '../devices/hostKeyboard.ts';
import type { InspectedBlock, TranslationCacheView } from '../machine/translationCacheView.ts';

/** What a worker answers a request with (`reply`): the translation cache's blocks, one block side by side, or null (not under 'bt', nothing translated yet, no such block). */
export type WorkerReply = TranslationCacheView | InspectedBlock | null;

/** What a worker needs to boot its machine. File paths are absolute; the worker reads them. */
export interface WorkerInit {
  vmId: string;
  memoryMiB: number;
  clock: ClockMode;
  cpus: number;
  /** How the guest runs (the host refuses modes this build cannot run before it starts a worker). */
  acceleration: Acceleration;
  /** Under the hypervisor: EPT / NPT, or shadow page tables when false. */
  nestedPaging: boolean;
  kernelPath?: string;
  initrdPath?: string;
  cmdline?: string;
  romPath?: string;
  /** Under the hypervisor: the host's machine memory pool and this domain's owner id in it. */
  machineMemory?: MachineMemoryLease;
  /** The VM's network adapters with their MAC addresses, in order (absent when it has none). */
  nics?: { network: string; mac: string }[];
  /** The board's local APIC and I/O APIC (MachineOptions.apic; absent: the 8259 PIC only). */
  apic?: boolean;
  /** A virtio-balloon with its target at start, in 4 KiB pages (MachineOptions.virtioBalloon; absent: no balloon). */
  balloon?: { targetPages: number };
  /** A VirtIO console with this many ports, hvc0 ... (MachineOptions.virtioConsolePorts; absent: none). */
  virtioConsolePorts?: number;
  /** The VM's disks, absolute paths, attached as VirtIO disks in this order (absent when it has none). */
  disks?: VirtioDiskOption[];
  /** The VM's IDE CD-ROM drives in order, each with the absolute path of its ISO image or empty (MachineOptions.cdroms; absent when it has none). */
  cdroms?: { path?: string }[];
  /** Gives the machine a VGA (MachineOptions.vga); its pictures come back as `screen` messages. */
  vga?: boolean;
  /** The VGA BIOS handed to a ROM-booting machine's firmware (MachineOptions.vgaBios), absolute path. */
  vgaBiosPath?: string;
  /** The VM's Boot order setting, for its firmware (MachineOptions.bootOrder). */
  bootOrder?: ('disk' | 'cdrom' | 'network')[];
  /** Host time per `MachineApi.run` call. */
  sliceMs: number;
  /** How often the worker posts statistics. */
  statsIntervalMs: number;
  /** URL of the module exporting `createMachine` (the dev tree's core/machine/machine.ts, or a bundled copy). */
  machineModuleUrl: string;
}

/** Host -> worker. */
export type ToWorker =
  | { type: 'serialInput'; port: SerialIndex; data: Uint8Array }
  /** Bytes typed into VirtIO console port `port` (the guest's hvc<port>). */
  | { type: 'virtioConsoleInput'; port: number; data: Uint8Array }
  /** Keys from the Screen view, for the PS/2 keyboard. */
  | { type: 'keys'; events: HostKeyEvent[] }
  | { type: 'pause' }
  | { type: 'resume' }
  /** Hard reset; a paused machine resumes after it. */
  | { type: 'reset' }
  | { type: 'powerButton' }
  /** The balloon's new target in 4 KiB pages. */
  | { type: 'balloonTarget'; pages: number }
  /** A frame of an internal network from another VM. */
  | { type: 'frame'; network: string; data: Uint8Array }
  /** Binary translation: the translation cache's blocks, answered by a `reply` with the same id. */
  | { type: 'translationCache'; requestId: number }
  /** Binary translation: block `blockId` side by side, answered by a `reply` with the same id. */
  | { type: 'inspectTranslatedBlock'; requestId: number; blockId: number }
  /** Stop now: the worker flushes its output, posts `exited` and ends. */
  | { type: 'powerOff' };

/** Worker -> host. */
export type FromWorker =
  /** The machine is built and about to run. */
  | { type: 'started' }
  | { type: 'serial'; port: SerialIndex; data: Uint8Array }
  /** What the guest wrote to VirtIO console port `port` (its hvc<port>), batched like serial output. */
  | { type: 'virtioConsole'; port: number; data: Uint8Array }
  /** A frame the VM sent on an internal network, for the other VMs on it. */
  | { type: 'frame'; network: string; data: Uint8Array }
  /** The display adapter's picture, when it changed (at most every SCREEN_INTERVAL_MS). */
  | { type: 'screen'; screen: ScreenSnapshot }
  /** `sampledAt` is the worker's performance.now() in ms. */
  | { type: 'stats'; stats: MachineStats; sampledAt: number }
  /** The guest stopped for good (power off, triple fault, ...). The worker ends after this. */
  | { type: 'stopped'; reason: StopReason }
  /** The machine could not be built, or threw while running. The worker ends after this. */
  | { type: 'failed'; message: string }
  /** The answer to a request (`translationCache`, `inspectTranslatedBlock`). */
  | { type: 'reply'; requestId: number; value: WorkerReply }
  /** Acknowledges `powerOff`; nothing follows. */
  | { type: 'exited' };
