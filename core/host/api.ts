/**
 * The host API: the one typed surface the UI talks to. It is transport
 * agnostic; two transports expose it:
 *
 * - Electron: the preload exposes `window.popek: PopekBridge` through
 *   contextBridge; each HostApi method is one `ipcRenderer.invoke` channel
 *   (`popek:<method>`), events arrive on `popek:event`.
 * - Browser / `popek serve`: HTTP + WebSocket on 127.0.0.1, described in
 *   ./wire.ts (request/response and event message shapes, byte encoding).
 *
 * Conventions:
 * - Every HostApi method returns a Promise. Failures reject with an Error whose
 *   `message` is meant for the user; over a transport the rejection carries a
 *   `HostErrorInfo` (code + message) so the UI can branch on `code`.
 * - Config validation problems are data, not exceptions: create/update return
 *   `{ ok: false, errors: FieldError[] }`.
 * - Serial bytes are Uint8Array (raw bytes as the guest's UART sent them; the
 *   terminal decodes UTF-8 itself, across chunk boundaries).
 */
import type { DiskConfig, FieldError, VmConfig, VmConfigDraft } from '../machine/config.ts';
import type { SerialIndex } from '../machine/types.ts';
import type { ConsolePort, VirtioConsolePort } from './consolePort.ts';
import type { ScreenSnapshot } from '../devices/vga/textScreen.ts';
import type { HostKeyEvent } from '../devices/hostKeyboard.ts';
import type { InspectedBlock, TranslationCacheView } from '../machine/translationCacheView.ts';

export type { CachedBlockSummary, InspectedBlock, InspectedInstruction, TcLine, TranslationCacheView } from '../machine/translationCacheView.ts';

export type { FieldError, VmConfig, VmConfigDraft, SerialIndex, ConsolePort, VirtioConsolePort, ScreenSnapshot, HostKeyEvent };
export type { TextScreen, TextCursor, GraphicsScreen } from '../devices/vga/textScreen.ts';
export type {
  BootConfig,
  BootDevice,
  CdromConfig,
  ClockSetting,
  DiskConfig,
  SerialMode,
  SerialPortConfig,
} from '../machine/config.ts';
export type { Acceleration } from '../machine/acceleration.ts';

// ---- VM states -------------------------------------------------------------

/**
 * VirtualBox's machine states. Transitions (core/host/lifecycle.ts):
 *   poweredOff|aborted --start--> starting --(worker up)--> running
 *   running --pause--> paused --resume--> running
 *   running|paused --reset--> running
 *   running|paused|starting --powerOff--> poweredOff
 *   running --acpiShutdown--> running (guest decides; it reaches poweredOff when the guest powers off)
 *   starting|running|paused --(crash, triple fault, worker exit)--> aborted
 * `saved` is reserved for save-state; nothing enters it yet.
 */
export type VmState = 'poweredOff' | 'starting' | 'running' | 'paused' | 'saved' | 'aborted';

export interface VmStatus {
  state: VmState;
  /** Set when state is 'aborted': why (e.g. "triple fault at 0008:c0101234: ..."). */
  reason?: string;
  /** Host wall-clock time (ms since epoch) when the VM entered this state. */
  since: number;
}

/** A VM in the library as the UI lists it. */
export type VmEntry = AccessibleVm | InaccessibleVm;

export interface AccessibleVm {
  accessible: true;
  id: string;
  /** Absolute path of the VM's folder. */
  folder: string;
  config: VmConfig;
  status: VmStatus;
}

/**
 * A folder in the library whose vm.json could not be read: malformed or
 * truncated JSON, an unknown or newer `version`, or invalid contents. Shown
 * with the reason; the host never rewrites such a file.
 */
export interface InaccessibleVm {
  accessible: false;
  /** The folder's name (the config's id could not be trusted). */
  id: string;
  folder: string;
  /** Human-readable reason, e.g. "vm.json is version 3; this Popek reads version 1". */
  problem: string;
  /** Field-level details when the file parsed but did not validate. */
  errors?: FieldError[];
  status: VmStatus;
}

// ---- presets ---------------------------------------------------------------

/** A guest type the New VM wizard offers, with its defaults. */
export interface GuestPreset {
  /** Stored in VmConfig.guestType. Known ids: 'tiny-linux', 'linux-custom', 'firmware-rom'. */
  id: string;
  label: string;
  description: string;
  /** Defaults for the wizard (name excluded). */
  defaults: Omit<VmConfigDraft, 'name'>;
  /** True when the boot files are bundled with the app (the user does not pick them). */
  bundled: boolean;
  /** False when the bundled files are missing from this installation (the wizard disables the preset). */
  available: boolean;
  /** Why it is unavailable, when it is. */
  unavailableReason?: string;
  /** The wizard starts with "Create a new virtual hard disk" checked (a guest that installs itself onto it). */
  newDisk?: boolean;
}

// ---- requests / results ------------------------------------------------------

export interface CreateVmRequest {
  config: VmConfigDraft;
  /** Create a new empty disk image of this size (MiB) in the VM folder and attach it. */
  newDiskMiB?: number;
  /** Its format (default raw: a sparse file; qcow2 grows as the guest writes). */
  newDiskFormat?: 'raw' | 'qcow2';
}

/** A disk image file as its header describes it (HostApi.inspectDisk). */
export interface DiskImageInfo {
  format: 'raw' | 'qcow2';
  sizeBytes: number;
  /** sizeBytes in MiB, rounded up. */
  sizeMiB: number;
  /** qcow2 overlays: the backing file name stored in the image. */
  backingFile?: string;
}

export type DiskInspection = { ok: true; image: DiskImageInfo } | { ok: false; message: string };

/** Settings -> Storage "Create new disk": an empty image for an existing VM (not attached until the config is saved). */
export interface CreateDiskRequest {
  vmId: string;
  /** Relative to the VM folder (must stay inside it), or absolute. */
  path: string;
  format: 'raw' | 'qcow2';
  sizeMiB: number;
}

/** On success, the DiskConfig to add to the VM's disks; field errors address `path`, `format`, `sizeMiB`. */
export type CreateDiskResult = { ok: true; disk: DiskConfig } | { ok: false; errors: FieldError[] };

export type ConfigResult = { ok: true; vm: AccessibleVm } | { ok: false; errors: FieldError[] };

// ---- statistics ------------------------------------------------------------------

export interface VmStats {
  vmId: string;
  /** Guest instructions retired since power-on. */
  instructions: number;
  /** Millions of instructions per second over the last sampling interval. */
  mips: number;
  /** Interrupts delivered since power-on. */
  interrupts: number;
  /** Exceptions raised since power-on. */
  exceptions: number;
  /** Guest time in nanoseconds (guest uptime). */
  guestNs: number;
  /** Realtime clock: host time dropped from guest time because the guest lagged too far to catch up (ns; absent when none was). */
  droppedNs?: number;
  /** Host time (ms since epoch) of this sample. */
  sampledAt: number;
  /** What the hypervisor did since power-on, when one runs the VM ('vtx'). */
  hypervisor?: HypervisorStats;
  /** Per VirtIO device, cumulative since power-on (absent without VirtIO devices). */
  devices?: DeviceStats[];
  /** The memory balloon now (absent without one). */
  balloon?: BalloonStats;
  /** The host-wide links of the internal networks the VM's adapters name (absent when none has one open). */
  networks?: InternalNetworkStats[];
}

/**
 * This host process's link to a host-wide internal network (other Popek
 * processes of the user on this computer), counted since it opened. Shared by
 * every VM of this process on the network, so not one adapter's own traffic.
 */
export interface InternalNetworkStats {
  network: string;
  /** Other processes on the network that this one reaches. */
  peers: number;
  /** Frames (and their bytes) sent to other processes, once per receiving process. */
  framesSent: number;
  bytesSent: number;
  /** Frames (and their bytes) other processes sent here. */
  framesReceived: number;
  bytesReceived: number;
  /** Datagrams dropped: malformed, or from a sender that is not on the network. */
  dropped: number;
  /** Sends the operating system refused. */
  sendErrors: number;
}

/** A VM's memory balloon, in 4 KiB pages. */
export interface BalloonStats {
  /** What the host asked the guest to give up. */
  targetPages: number;
  /** What the guest's driver reports it has given (it follows the target at its own pace). */
  actualPages: number;
  /** Frames free in the host's machine memory pool (VMs under the hypervisor; the bare PC has no pool). */
  poolFreeFrames?: number;
}

/** One VirtIO device's counters: what its driver asked and what the backend did. */
export interface DeviceStats {
  /** e.g. "virtio-blk vda", "virtio-net eth0". */
  name: string;
  /** Requests completed (descriptor chains); bytes the guest read (disk reads, frames received) and wrote (disk writes, frames sent). */
  requests: number;
  bytesRead: number;
  bytesWritten: number;
  /** Notifications from the driver, interrupts to it, and requests answered with an error. */
  kicks: number;
  interrupts: number;
  errors: number;
  /** A network adapter's frames lost: arrived with no receive buffer posted (or too small a one), or on a full ring to or from its switch. Absent for other devices. */
  dropped?: number;
}

/** The hypervisor's counters for one VM, cumulative since power-on (the app derives rates from two samples). */
export interface HypervisorStats {
  /** VM exits by the SDM name of their basic exit reason (IO_INSTRUCTION, HLT, ...); reasons that never occurred are absent. */
  exitsByReason: Record<string, number>;
  entries: number;
  injectedInterrupts: number;
  eptViolations: number;
  /** Host milliseconds with the processor in the guest. */
  guestMs: number;
  /** Host milliseconds in the hypervisor's exit handling and entry preparation. */
  hypervisorMs: number;
  /** Shadow paging's counters when the guest runs on shadow page tables (nested paging off, and the software modes). */
  shadowPaging?: ShadowPagingStats;
  /** The software monitor's counters (acceleration 'trap' and 'bt'); there are no VM exits then, so `exitsByReason` is empty. */
  monitor?: SoftwareMonitorStats;
  /** The binary translator's counters ('bt', once the guest kernel has run translated code). */
  translator?: TranslatorStats;
}

/** Shadow paging, cumulative (core/hypervisor/shadow/shadowCounters.ts says what each counts). */
export interface ShadowPagingStats {
  /** Page faults fixed by the hypervisor or monitor without the guest seeing them (a shadow entry filled in). */
  hiddenFaults: number;
  /** Page faults that were the guest's own, given to it with its error code and CR2. */
  reflectedFaults: number;
  /** Writes to a guest page-table page, which is write-protected while it is shadowed. */
  pageTableWriteFaults: number;
  resyncs: number;
  shadowPagesBuilt: number;
  cr3Switches: number;
}

/** The software monitor (core/hypervisor/software), cumulative since power-on. */
export interface SoftwareMonitorStats {
  /** Privileged instructions that trapped and were emulated, by instruction ('cli', 'in/out', 'mov cr', ...); those that never trapped are absent. */
  trapsByInstruction: Record<string, number>;
  /** Exceptions and interrupts reflected into the guest through its own IDT, by vector; vectors never reflected are absent. */
  reflectedByVector: Record<number, number>;
  /** External interrupts that arrived while the guest's virtual IF was 0, held until it set IF again. */
  heldInterrupts: number;
  /** Rebuilds of the monitor's shadow GDT that found a guest descriptor changed. */
  gdtResyncs: number;
  /** Guest GDT pages no longer write-protected until the next LGDT (16 trapped writes beside the table: busy data shares the page). */
  gdtPagesUnwatched: number;
  /** Guest GDT descriptors found changed and rewritten in both views of the shadow GDT: by the write watch (after a guest write to the table's page), and by whole-table resyncs (LGDT, CR3 loads, selector faults). */
  gdtEntriesByWatch: number;
  gdtEntriesByResync: number;
  /** Switches of the shadow GDT/LDT's view: to the user view on leaving an event at CPL 3, to the user view lazily (user code's first #GP/#SS on the kernel view, 'trap'), to the kernel view (an event from user code). */
  viewSwitchesToUser: number;
  lazyViewSwitchesToUser: number;
  viewSwitchesToKernel: number;
  /** Guest instructions the monitor's emulator ran (real mode, 16-bit code, what ring compression cannot run). */
  emulatedInstructions: number;
  /** Hand-overs of the guest to the emulator, and back to ring-compressed execution. */
  emulatorEntries: number;
  emulatorExits: number;
}

/** The binary translator (core/hypervisor/software/bt), cumulative since power-on. */
export interface TranslatorStats {
  blocksBuilt: number;
  guestInstructionsTranslated: number;
  /** Translated blocks entered through the monitor (a chained jump from block to block is not counted: it costs nothing). */
  blocksEntered: number;
  /** Jumps between blocks patched to go straight from one translation to the next. */
  chainsMade: number;
  /** Blocks dropped because the guest wrote to the code they were translated from. */
  blocksInvalidated: number;
  /** Guest writes to a page that held translated code. */
  codeWrites: number;
  /** Times the monitor emptied the translation cache whole (its first kernel entry, each hand-back from its emulator). */
  cacheFlushes: number;
  /** Times the full cache reused its oldest section (one eighth), and the blocks that dropped out with it. */
  sectionsReused: number;
  blocksEvicted: number;
  /** Bytes of translated code in the cache now, and its size. */
  tcUsed: number;
  tcSize: number;
  /** Callouts into the monitor by kind ('pushf', 'sgdt', 'ret', 'exit', ...); kinds that never ran are absent. */
  calloutsByKind: Record<string, number>;
}

// ---- host info -------------------------------------------------------------------

export interface HostInfo {
  /** 'electron' = desktop app (native pickers, console windows); 'server' = `popek serve` in a browser. */
  mode: 'electron' | 'server';
  version: string;
  /** Absolute path of the VM library folder. */
  libraryFolder: string;
  /** Folder bundled guest paths (`@guests/...`) resolve against. */
  guestsFolder: string;
}

// ---- errors ------------------------------------------------------------------------

export type HostErrorCode =
  | 'NOT_FOUND' // no VM with that id
  | 'INACCESSIBLE' // the VM's config cannot be read (see InaccessibleVm.problem)
  | 'ILLEGAL_TRANSITION' // e.g. pause while poweredOff; message says which state allows it
  | 'BUSY' // e.g. remove or update boot settings while running
  | 'INVALID_ARGUMENT' // malformed request (bad port number, wrong types)
  | 'IO' // file system error
  | 'UNSUPPORTED' // operation not available in this mode
  | 'INTERNAL';

/** What a rejected HostApi call carries across a transport. */
export interface HostErrorInfo {
  code: HostErrorCode;
  message: string;
}

/** Error thrown by host implementations; transports serialize it as HostErrorInfo. */
export class HostError extends Error implements HostErrorInfo {
  readonly code: HostErrorCode;
  constructor(code: HostErrorCode, message: string) {
    super(message);
    this.name = 'HostError';
    this.code = code;
  }
}

// ---- the API -------------------------------------------------------------------------

/** Request/response operations. */
export interface HostApi {
  /** Mode, version and folders of this host. */
  getHostInfo(): Promise<HostInfo>;

  /** Guest presets the wizard offers, with their defaults and availability. */
  listPresets(): Promise<GuestPreset[]>;

  /** All VMs in the library, accessible or not, sorted by name. Re-reads the library folder. */
  listVms(): Promise<VmEntry[]>;

  /** One VM by id. Rejects NOT_FOUND. */
  getVm(id: string): Promise<VmEntry>;

  /**
   * Checks a draft without saving anything: schema, name uniqueness (ignoring
   * the VM `forId`, for the settings dialog), boot files exist and are readable.
   * Returns [] when valid. Used by the wizard for live validation.
   */
  validateVm(draft: unknown, forId?: string): Promise<FieldError[]>;

  /**
   * Creates a VM folder with its vm.json (and the new disk, if asked). Nothing
   * is created when the draft is invalid: the errors are returned instead.
   */
  createVm(request: CreateVmRequest): Promise<ConfigResult>;

  /**
   * Replaces a VM's config (the id and version cannot change). While the VM is
   * not poweredOff/aborted only `name` and `description` may change; other
   * changes are refused with a field error on each changed field.
   */
  updateVm(id: string, config: VmConfigDraft): Promise<ConfigResult>;

  /**
   * Looks at a disk image file (path relative to the VM folder, or absolute;
   * vmId is undefined for a VM not created yet): its format, virtual size and
   * backing file, or why it is not a usable disk image.
   */
  inspectDisk(vmId: string | undefined, path: string): Promise<DiskInspection>;

  /**
   * Creates an empty raw or qcow2 image for a VM (refusing to overwrite a
   * file). It is attached when the VM's config is saved with it in `disks`.
   */
  createDisk(request: CreateDiskRequest): Promise<CreateDiskResult>;

  /**
   * Deletes the VM's folder (vm.json and the disks inside it; files outside the
   * folder are left alone). Rejects BUSY unless the VM is poweredOff, aborted
   * or inaccessible.
   */
  removeVm(id: string): Promise<void>;

  /** poweredOff|aborted -> starting -> running. Resolves once running (or rejects with why it could not start). */
  startVm(id: string): Promise<VmStatus>;
  /** running -> paused (guest time stops). */
  pauseVm(id: string): Promise<VmStatus>;
  /** paused -> running. */
  resumeVm(id: string): Promise<VmStatus>;
  /** Hard reset (reset button) from running or paused; the VM ends up running. */
  resetVm(id: string): Promise<VmStatus>;
  /** Hard power off (pull the plug) from starting, running or paused -> poweredOff. */
  powerOffVm(id: string): Promise<VmStatus>;
  /**
   * Presses the ACPI power button (running only). The guest decides; the VM
   * becomes poweredOff when the guest powers off, observed as a state event.
   */
  acpiShutdownVm(id: string): Promise<VmStatus>;

  /** Latest statistics sample of a running or paused VM, null otherwise. */
  getStats(id: string): Promise<VmStats | null>;

  /**
   * Binary translation ('bt'): the blocks in the VM's translation cache
   * (since its last flush, invalidated ones included). Null when the VM is
   * not running or paused, runs in another mode, or has not translated
   * anything yet.
   */
  getTranslationCache(id: string): Promise<TranslationCacheView | null>;
  /**
   * Binary translation: cached block `blockId`, its guest instructions beside
   * their translation. Null when the block is no longer in the cache (a
   * flush), or as for getTranslationCache.
   */
  inspectTranslatedBlock(id: string, blockId: number): Promise<InspectedBlock | null>;

  /**
   * Bytes typed into a VM's console: a serial port (port 0 = COM1, 1 =
   * COM2) or a port of its VirtIO console ('hvc0', 'hvc1', ...). Ignored
   * (resolves) when the VM is not running; rejects INVALID_ARGUMENT for a
   * bad port or more than 64 KiB at once.
   */
  sendSerialInput(id: string, port: ConsolePort, data: Uint8Array): Promise<void>;

  /**
   * Keys pressed and released on the VM's Screen view, in order, named by
   * `KeyboardEvent.code`; the machine turns them into PS/2 scancodes in the
   * set the guest reads. Ignored (resolves) when the VM is not running;
   * rejects INVALID_ARGUMENT for more than 256 events or a malformed one.
   */
  sendKeys(id: string, events: HostKeyEvent[]): Promise<void>;

  /**
   * Asks a running or paused VM's guest to give `targetMiB` of its memory
   * back (its virtio-balloon's target; 0 deflates it). Not saved in the
   * config (that holds the target at start). Rejects ILLEGAL_TRANSITION when
   * the VM is not running, UNSUPPORTED when it has no balloon,
   * INVALID_ARGUMENT for a target that is not a whole number of MiB between
   * 0 and its memory less MEMORY_MIB_MIN. The guest's progress shows in
   * VmStats.balloon.
   */
  setBalloonTarget(id: string, targetMiB: number): Promise<void>;
}

export type Unsubscribe = () => void;

export interface VmStateEvent {
  vmId: string;
  status: VmStatus;
}

/** Pushed events. Each subscribe returns the function that ends the subscription. */
export interface HostEvents {
  /**
   * Output of one VM console (a serial port, or a VirtIO console port 'hvcN'). The host's scrollback (the most recent
   * 256 KiB) is delivered first, in one call, then live output as it comes.
   * Subscribing to a VM that is not running replays its last run's output and
   * stays attached for the next run. A consumer that falls behind is cut back
   * to the scrollback (it may miss bytes), never buffered without bound.
   */
  subscribeSerial(vmId: string, port: ConsolePort, listener: (data: Uint8Array) => void): Unsubscribe;
  /**
   * What the VM's display adapter shows, each time it changes (at most about
   * 30 times a second). The latest picture of the current or last run comes
   * first, when there is one; a VM whose machine has no display adapter never
   * delivers anything. Stays attached across runs, like subscribeSerial.
   */
  subscribeScreen(vmId: string, listener: (screen: ScreenSnapshot) => void): Unsubscribe;
  /** Every state change of every VM. */
  onStateChange(listener: (event: VmStateEvent) => void): Unsubscribe;
  /** Statistics of every running VM, about every 500 ms. */
  onStats(listener: (stats: VmStats) => void): Unsubscribe;
  /** VMs created, updated or removed (re-list to see what changed). */
  onLibraryChange(listener: () => void): Unsubscribe;
}

/** What kind of file a native picker is for (sets its title and filters). */
export type FileKind = 'kernel' | 'initrd' | 'disk' | 'rom' | 'iso';

/** Desktop-only operations (Electron). Absent in browser mode. */
export interface DesktopApi {
  /** Native open-file dialog; resolves to the chosen absolute path, or null if cancelled. */
  pickFile(kind: FileKind): Promise<string | null>;
  /** Opens a VM's serial console in its own window (route `#/console/<vmId>/<port>`). */
  openConsoleWindow(vmId: string, port: ConsolePort): Promise<void>;
  /**
   * Menu commands (File > New VM, Machine > Start/Pause/Reset/Power off) are
   * forwarded to the renderer, which applies them to the selected VM.
   */
  onMenuCommand(listener: (command: MenuCommand) => void): Unsubscribe;
}

export type MenuCommand = 'newVm' | 'start' | 'pause' | 'reset' | 'powerOff' | 'about';

/** Everything the host offers one client: operations plus events. */
export type HostBridge = HostApi & HostEvents;

/** `window.popek` in Electron. */
export type PopekBridge = HostBridge & DesktopApi;

/** The HostApi method names (the Electron IPC channel is `popek:<name>`, the HTTP route `/api/<name>`). */
export const HOST_API_METHODS = [
  'getHostInfo',
  'listPresets',
  'listVms',
  'getVm',
  'validateVm',
  'createVm',
  'updateVm',
  'inspectDisk',
  'createDisk',
  'removeVm',
  'startVm',
  'pauseVm',
  'resumeVm',
  'resetVm',
  'powerOffVm',
  'acpiShutdownVm',
  'getStats',
  'getTranslationCache',
  'inspectTranslatedBlock',
  'sendSerialInput',
  'sendKeys',
  'setBalloonTarget',
] as const satisfies readonly (keyof HostApi)[];

export type HostApiMethod = (typeof HOST_API_METHODS)[number];

// Compile-time check that HOST_API_METHODS lists every HostApi method.
type MissingMethods = Exclude<keyof HostApi, HostApiMethod>;
const _allMethodsListed: MissingMethods extends never ? true : MissingMethods = true;
void _allMethodsListed;
