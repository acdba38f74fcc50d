/**
 * The VM configuration as stored in each VM's `vm.json` (plain data, no
 * behaviour). The valibot schema that checks untrusted input against these
 * types lives in ./config.ts; these types are split out so that the renderer
 * can import them without pulling the schema library into its bundle.
 */

/** The only config file format this build reads and writes. */
export const VM_CONFIG_VERSION = 1;

export type SerialMode = 'console' | 'file' | 'tcp';

/** One serial port (COM1 or COM2) of the VM. */
export interface SerialPortConfig {
  enabled: boolean;
  /**
   * console: shown in the app (and kept in the host's scrollback);
   * file: raw bytes appended to `path`;
   * tcp: a TCP server on 127.0.0.1:`port`, one client at a time, bytes both ways.
   */
  mode: SerialMode;
  /** Required when mode is 'file'. Relative paths resolve against the VM folder. */
  path?: string;
  /** Required when mode is 'tcp' (1024..65535). */
  port?: number;
}

/**
 * How the machine is booted.
 * - linux: the host loads a bzImage / Multiboot kernel (and initrd) directly.
 * - rom: a raw firmware image (multiple of 64 KiB) mapped to end at 4 GiB.
 *
 * Paths: absolute paths are used as they are; paths starting with `@guests/`
 * resolve against the app's bundled guests folder (resources/guests); any
 * other relative path resolves against the VM's folder.
 */
export type BootConfig =
  | { kind: 'linux'; kernel: string; initrd?: string; cmdline: string }
  | { kind: 'rom'; rom: string };

/**
 * Devices the firmware tries, in order, when booting from a ROM. Stored now;
 * honoured once a firmware that boots from devices exists.
 */
export type BootDevice = 'disk' | 'cdrom' | 'network';

export interface DiskConfig {
  /** Relative paths resolve against the VM folder (new disks are created there). */
  path: string;
  format: 'raw';
  sizeMiB: number;
}

export type ClockSetting = 'realtime' | 'deterministic';

export interface VmConfig {
  version: 1;
  /** UUID; also the name of the VM's folder in the library. */
  id: string;
  /** Unique in the library, 1-64 characters, no path separators. */
  name: string;
  /** Free text shown in the details pane (optional, up to 2000 characters). */
  description?: string;
  /** Id of the guest preset the VM was created from (see GuestPreset in core/host/api.ts). */
  guestType: string;
  /** RAM in MiB, integer 4..1792. */
  memoryMiB: number;
  /** Virtual CPUs 1..8 (only 1 runs until SMP support lands). */
  cpus: number;
  boot: BootConfig;
  bootOrder: BootDevice[];
  disks: DiskConfig[];
  /** [COM1, COM2]. */
  serial: [SerialPortConfig, SerialPortConfig];
  clock: ClockSetting;
  /** Run under the hypervisor's hardware-assist mode when available (stored; modes come later). */
  hardwareAssist: boolean;
}

/** A config before the library assigned it an id (what the New VM wizard submits). */
export type VmConfigDraft = Omit<VmConfig, 'id' | 'version'>;

/** One validation problem, addressed by the field's dotted path (e.g. "boot.kernel", "serial.1.port"). */
export interface FieldError {
  field: string;
  message: string;
}

export const MEMORY_MIB_MIN = 4;
export const MEMORY_MIB_MAX = 1792;
export const CPUS_MAX = 8;
/** CPUs that can actually run today. */
export const CPUS_SUPPORTED = 1;
export const NAME_MAX_LENGTH = 64;
export const MAX_DISKS = 4;
