/**
 * The contract between a running machine and whoever drives it (the headless
 * CLI, or the host's per-machine worker). Everything here is plain data so it
 * crosses thread boundaries by structured clone.
 */
import type { ClockMode } from '../cpu/clock.ts';
import type { Acceleration } from './acceleration.ts';
import type { CounterSnapshot } from '../hypervisor/counters.ts';
import type { InspectedBlock, TranslationCacheView } from './translationCacheView.ts';
import type { MachineMemoryShare } from '../hypervisor/memory/machineMemory.ts';
import type { ScreenSnapshot } from '../devices/vga/textScreen.ts';
import type { HostKeyEvent } from '../devices/hostKeyboard.ts';

export type SerialIndex = 0 | 1; // COM1, COM2

export interface MachineOptions {
  /** RAM in MiB. */
  memoryMiB: number;
  clock: ClockMode;
  /** Raw firmware image (size a multiple of 64 KiB) mapped to end at 4 GiB. */
  rom?: Uint8Array;
  /** Linux bzImage or Multiboot v1 kernel. */
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  /** Ports whose written bytes are reported through `MachineHooks.onPortByte` (POST codes, debug consoles). */
  logPorts?: number[];
  /** Number of virtual CPUs (only 1 until the SMP issue). */
  cpus?: number;
  /**
   * Disk images attached as VirtIO disks in this order (the guest's
   * /dev/vda, /dev/vdb, ...), opened by the machine's thread (core/dom0/block).
   */
  disks?: VirtioDiskOption[];
  /**
   * Disk images on the PIIX3 IDE controller, in the order primary master,
   * primary slave, secondary master, secondary slave (Linux's ata_piix names
   * them /dev/sda, /dev/sdb, ...); see core/machine/ideBoard.ts.
   */
  ideDisks?: VirtioDiskOption[];
  /** CD-ROM drives on the IDE controller, in the places after the IDE disks; `path` is the ISO image in the drive (read-only), absent for an empty drive. At most 4 IDE devices in all. */
  cdroms?: { path?: string }[];
  /**
   * Network adapters (virtio-net, the guest's eth0, eth1, ... in order): on the
   * internal network `network` (a switch shared by the machines of this
   * process naming it) or not attached when absent; `mac` like 52:54:00:12:34:56.
   */
  nics?: { network?: string; mac?: string }[];
  /** Adds a virtio-console (the guest's /dev/hvc0); its output goes to `MachineHooks.onVirtioConsoleOutput`. */
  virtioConsole?: boolean;
  /** The virtio-console's console ports, 1 to 16 (default 1): port n is the guest's /dev/hvc<n>. */
  virtioConsolePorts?: number;
  /** Adds a virtio-rng (host randomness; a fixed-seed stream on the deterministic clock). */
  virtioRng?: boolean;
  /** Adds a virtio-balloon; `MachineApi.setBalloonTarget` sets its target. */
  virtioBalloon?: boolean;
  /**
   * virtio-blk, virtio-rng and the virtio-net adapters on an internal
   * network are served by dom0 in its own worker thread (core/dom0/worker/:
   * the images, the entropy source and the virtqueue processing), and the
   * internal networks' switches are in dom0's network thread, unless this is
   * false, which keeps them in the machine's thread (default: on). The core
   * bundles carry dom0's worker entries as dom0Thread.mjs and netThread.mjs.
   */
  dom0Thread?: boolean;
  /**
   * Adds a VGA (core/devices/vga): its registers, and its planes behind
   * 0xA0000-0xBFFFF, in mode 3 as a VGA BIOS leaves it; `MachineApi.takeScreen`
   * gives its picture. Default false: no display adapter.
   */
  vga?: boolean;
  /**
   * The local APIC (0xFEE00000) and I/O APIC (0xFEC00000) of core/devices/apic,
   * described to the guest by CPUID.1:EDX.APIC, the ACPI MADT and the MP
   * table. Default false (a PIC-only board) until a guest that takes the
   * APICs over has been seen booting with them (core/machine/apicOption.ts).
   */
  apic?: boolean;
  /**
   * The VGA's BIOS (an option ROM image, e.g. resources/firmware/seabios/
   * vgabios-isavga.bin), handed to the firmware through fw_cfg as
   * vgaroms/vgabios.bin; SeaBIOS runs it, so its text shows on the screen as
   * well as on COM1. Used only with `vga` and `rom`.
   */
  vgaBios?: Uint8Array;
  /**
   * The firmware's boot order by device class (the VM's Boot order setting):
   * the CMOS boot-order bytes and fw_cfg's `bootorder` list the devices of
   * each class in this order, and nothing outside it boots. Absent: QEMU's
   * default (hard disks, then CD-ROMs, then whatever else SeaBIOS finds).
   */
  bootOrder?: ('disk' | 'cdrom' | 'network')[];
  /**
   * When true, a guest-requested reset stops the machine with reason 'reset'
   * instead of restarting it (the CLI's --no-reboot). Default false: the
   * machine reboots itself, reloading the kernel or firmware.
   */
  noReboot?: boolean;
  /**
   * How the guest runs (core/machine/acceleration.ts): 'none' (default) is the
   * bare emulated PC; a mode this build cannot run is refused with a BootError.
   */
  acceleration?: Acceleration;
  /**
   * Under the hypervisor: the host's machine memory pool shared by every
   * running VM, and this domain's owner id in it (core/host/machinePool.ts);
   * without it the domain gets a pool of its own.
   */
  machineMemory?: { share: MachineMemoryShare; owner: number };
  /** With 'vtx': EPT (default true); false runs the guest on the hypervisor's shadow page tables. */
  nestedPaging?: boolean;
  /** Compile hot guest code (core/cpu/jit); default: JIT_DEFAULTS.enabled. False runs everything interpreted. */
  jit?: boolean;
}

export interface VirtioDiskOption {
  path: string;
  /** Probed from the image when absent. */
  format?: 'raw' | 'qcow2';
  readOnly?: boolean;
}

/** Why a machine stopped running for good (until reset/restart). */
export type StopReason =
  | { kind: 'poweroff' } // ACPI S5 or equivalent
  | { kind: 'halt'; cs: number; eip: number } // HLT with interrupts disabled and nothing that can wake it
  | { kind: 'shutdown'; cs: number; eip: number; detail: string } // triple fault
  | { kind: 'reset'; cause: string } // guest asked for a reset (only reported when the machine is told not to reboot)
  | { kind: 'error'; message: string; cs?: number; eip?: number }; // bug in a device model or the emulator

export interface MachineHooks {
  onSerialOutput?(port: SerialIndex, bytes: Uint8Array): void;
  onPortByte?(port: number, byte: number): void;
  /** Bytes the guest wrote to virtio console port `port` (its /dev/hvc<port>). */
  onVirtioConsoleOutput?(bytes: Uint8Array, port: number): void;
  /** A frame one of the machine's adapters sent on internal network `network` for machines outside this process. */
  onNetworkFrame?(network: string, frame: Uint8Array): void;
}

export interface MachineStats {
  /** Guest instructions retired since power-on. */
  instructions: number;
  /** Interrupts delivered to the CPU since power-on (external + exceptions). */
  interrupts: number;
  /** Exceptions raised since power-on. */
  exceptions: number;
  /** Guest time in nanoseconds. */
  guestNs: number;
  /** Realtime clock: host time dropped from guest time because the guest lagged too far to catch up (ns; core/cpu/clock.ts MAX_LAG_NS). */
  droppedNs?: number;
  /** What the hypervisor did (exits by reason, entries, injections...), when one runs the guest ('vtx'). */
  hypervisor?: CounterSnapshot;
  /** Per virtio device: requests, bytes, kicks, interrupts, and for a NIC the frames it dropped (absent without virtio devices). */
  virtio?: { name: string; counters: { kicks: number; interrupts: number; requests: number; bytesRead: number; bytesWritten: number; errors: number; resetsNeeded: number }; dropped?: number }[];
  /** The virtio balloon in 4 KiB pages: host target, the guest's reported size, pages the host holds, and under the hypervisor the machine pool's free frames (absent without a balloon). */
  balloon?: { targetPages: number; actualPages: number; reclaimedPages: number; poolFreeFrames?: number };
}

/** Result of one `run` slice. */
export type RunResult = { kind: 'running' } | { kind: 'stopped'; reason: StopReason };

/**
 * A running machine as its driver sees it. Created by `createMachine` in
 * core/machine/machine.ts; one instance per thread, driven in slices.
 */
export interface MachineApi {
  /** Runs the guest for about `sliceMs` of host time (less if it stops). */
  run(sliceMs: number): RunResult;
  /**
   * For a driver whose `run` came back early (the guest halted) and that
   * would now sleep: blocks at most `timeoutMs`, ending as soon as a thread
   * serving this thread's machines leaves something for one (dom0 a frame in
   * a guest's receive buffers, dom0's network thread a frame for an uplink),
   * so the next `run` takes it at once; true when it waited, false at once
   * when nothing from another thread can wake this guest (no network adapter
   * on an internal network): sleep then.
   */
  waitIdle?(timeoutMs: number): boolean;
  /** Bytes typed into a serial port; buffered by the UART model until the guest reads them. */
  serialInput(port: SerialIndex, bytes: Uint8Array): void;
  /** Presses the ACPI power button (a shutdown request the guest may honour). */
  powerButton(): void;
  /** Hard reset (like the reset button). */
  reset(): void;
  /** Guest time stops while paused (realtime clock). */
  pause(): void;
  resume(): void;
  stats(): MachineStats;
  /** The physical memory, shared with other threads. */
  readonly memory: SharedArrayBuffer;
  /** Bytes typed into virtio console port `port` (default 0: hvc0); ignored when the machine has no such port. */
  virtioConsoleInput?(bytes: Uint8Array, port?: number): void;
  /** A frame of internal network `network` from a machine outside this process. */
  networkInput?(network: string, frame: Uint8Array): void;
  /** Sets the virtio balloon's target in 4 KiB pages (ignored without a balloon). */
  setBalloonTarget?(pages: number): void;
  /** The display adapter's picture if it changed since the last call that returned one, else null (also without a display adapter). */
  takeScreen?(): ScreenSnapshot | null;
  /** Keys typed on the host (KeyboardEvent.code names), for the PS/2 keyboard in the set the guest reads. */
  keyEvents?(events: readonly HostKeyEvent[]): void;
  /** Binary translation ('bt'): the translation cache's blocks; null in other modes, or before the guest kernel first ran translated. */
  translationCache?(): TranslationCacheView | null;
  /** Binary translation: block `id` of the cache, guest instructions beside their translation; null when it is not in the cache. */
  inspectTranslatedBlock?(id: number): InspectedBlock | null;
}
