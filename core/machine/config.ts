/**
 * The VM configuration as stored in each VM's `vm.json`: the plain-data types
 * (importable as types by the renderer), then the valibot schema that checks
 * untrusted input (files on disk, requests from the UI) against them, with
 * field-level errors addressed by dotted path ("serial.1.port").
 *
 * Library-level rules (unique names, boot files that exist, the CPU count that
 * can actually run) need the file system and live in core/host/validation.ts.
 */
import * as v from 'valibot';
import { ACCELERATIONS, VTX_MEMORY_MIB_MAX, type Acceleration } from './acceleration.ts';

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
   * The host keeps the scrollback in every mode, so the app can still show an
   * enabled port's output; 'file' and 'tcp' add a destination.
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
  /** Relative paths resolve against the VM folder (new disks are created there) and must stay inside it. */
  path: string;
  /** The image's format (core/dom0/block); the host checks it against the file's header. */
  format: 'raw' | 'qcow2';
  /** Virtual size in MiB (rounded up) as recorded when the disk was created or attached; the image's header is authoritative. */
  sizeMiB: number;
  /** Attached read-only (the guest cannot write it). Absent means writable. */
  readOnly?: boolean;
}

/**
 * A CD-ROM drive on the board's IDE controller (after its IDE disks: primary
 * master, primary slave, ...), which the firmware boots from when the boot
 * order says 'cdrom'.
 */
export interface CdromConfig {
  /** The ISO image in the drive (read-only); absent, the drive is empty. Relative paths resolve against the VM folder. */
  path?: string;
}

/**
 * A network adapter (virtio-net, the guest's eth0, eth1, ... in order) on an
 * internal network: every running VM whose adapter names the same network is
 * on one virtual switch (core/dom0/virtualSwitch.ts, relayed between the VMs'
 * workers by the host).
 */
export interface NicConfig {
  /** Internal network name: 1-32 letters, digits, '.', '_' or '-'. */
  network: string;
  /** Like 52:54:00:12:34:56; absent, the host derives a stable one from the VM's id. */
  mac?: string;
}

export type ClockSetting = 'realtime' | 'deterministic';

/**
 * A virtio-balloon (core/devices/virtio/virtioBalloon.ts): the host asks the
 * guest's driver to give `targetMiB` of its memory back (under the hypervisor
 * those frames return to the machine's pool). The app and `popek run
 * --balloon` change the target of a running VM; this is the target it starts
 * with.
 */
export interface BalloonConfig {
  /** MiB the guest is asked to give up at start, 0..memoryMiB - MEMORY_MIB_MIN. */
  targetMiB: number;
}

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
  /** IDE CD-ROM drives (absent in files from before they existed: none). */
  cdroms?: CdromConfig[];
  /** Network adapters (absent in files from before they existed: none). */
  nics?: NicConfig[];
  /** A memory balloon device (absent: none). */
  balloon?: BalloonConfig;
  /**
   * Ports of a VirtIO console, 1-16: the guest's /dev/hvc0, /dev/hvc1, ...,
   * each a console tab in the app beside the serial ports (absent: no VirtIO console).
   */
  virtioConsoles?: number;
  /**
   * The board's local APIC and I/O APIC (MachineOptions.apic), described to
   * the guest by CPUID, the MP table and the ACPI MADT, as VirtualBox's
   * "Enable I/O APIC". Absent (files from before it existed, and the
   * presets): the legacy 8259 PIC only. The checks below turn an explicit
   * `false` into absent, so off has one form (the lock on a running VM's
   * settings and the Settings dialog compare configs field by field).
   */
  apic?: boolean;
  /** [COM1, COM2]. */
  serial: [SerialPortConfig, SerialPortConfig];
  clock: ClockSetting;
  /**
   * How the guest runs (core/machine/acceleration.ts lists the modes and which
   * are built). Replaces the old `hardwareAssist` flag; files that still have it
   * migrate on load (migrateLegacyFields).
   */
  acceleration: Acceleration;
  /** EPT/NPT for the hardware-assist modes; off needs shadow page tables (issue 9). Ignored by the other modes. */
  nestedPaging: boolean;
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
export const MAX_NICS = 4;
/** The IDE controller's places (two channels, master and slave). */
export const MAX_CDROMS = 4;
/** Longest kernel command line Linux accepts on x86 (COMMAND_LINE_SIZE). */
export const CMDLINE_MAX_LENGTH = 2047;
export const DESCRIPTION_MAX_LENGTH = 2000;
export const PATH_MAX_LENGTH = 4096;
/** Largest disk the wizard creates (2 TiB). */
export const DISK_MIB_MAX = 2 * 1024 * 1024;
export const TCP_PORT_MIN = 1024;
export const TCP_PORT_MAX = 65535;

/** Pages of 4 KiB in a MiB (the balloon's unit on the wire and in the device). */
export const BALLOON_PAGES_PER_MIB = 256;

/** The largest balloon target for a VM of `memoryMiB`: the guest keeps at least MEMORY_MIB_MIN. */
export function balloonTargetMaxMiB(memoryMiB: number): number {
  return Math.max(0, memoryMiB - MEMORY_MIB_MIN);
}

// ---- schema ---------------------------------------------------------------------
//
// Everything below checks untrusted data (a vm.json on disk, a request from the
// UI) against the types above. Messages are written for the user: the UI shows
// them next to the field named by the error's dotted path.

const pathString = (what: string) =>
  v.pipe(
    v.string(`${what} must be a path`),
    v.minLength(1, `${what} is required`),
    v.maxLength(PATH_MAX_LENGTH, `${what} is longer than ${PATH_MAX_LENGTH} characters`),
    v.check((s) => !s.includes('\0'), `${what} contains a NUL character`),
  );

const integerIn = (what: string, min: number, max: number) =>
  v.pipe(
    v.number(`${what} must be a number`),
    v.integer(`${what} must be a whole number`),
    v.minValue(min, `${what} must be at least ${min}`),
    v.maxValue(max, `${what} must be at most ${max}`),
  );

const nameSchema = v.pipe(
  v.string('Name must be text'),
  v.minLength(1, 'Name is required'),
  v.maxLength(NAME_MAX_LENGTH, `Name must be at most ${NAME_MAX_LENGTH} characters`),
  v.check((s) => !/[/\\]/.test(s), 'Name must not contain / or \\'),
  // eslint-disable-next-line no-control-regex
  v.check((s) => !/[\u0000-\u001f\u007f]/.test(s), 'Name must not contain control characters'),
  v.check((s) => s.trim() === s, 'Name must not start or end with spaces'),
  v.check((s) => s !== '.' && s !== '..', 'Name must not be . or ..'),
);

const bootSchema = v.variant(
  'kind',
  [
    v.object({
      kind: v.literal('linux'),
      kernel: pathString('Kernel'),
      initrd: v.optional(pathString('Initrd')),
      cmdline: v.pipe(
        v.string('Command line must be text'),
        v.maxLength(CMDLINE_MAX_LENGTH, `Command line must be at most ${CMDLINE_MAX_LENGTH} characters`),
        v.check((s) => !s.includes('\0'), 'Command line contains a NUL character'),
      ),
    }),
    v.object({ kind: v.literal('rom'), rom: pathString('ROM image') }),
  ],
  'Boot source must be a Linux kernel or a ROM image',
);

const serialPortSchema = v.object({
  enabled: v.boolean('Enabled must be true or false'),
  mode: v.picklist(['console', 'file', 'tcp'], 'Mode must be console, file or tcp'),
  path: v.optional(pathString('Output file')),
  port: v.optional(integerIn('TCP port', TCP_PORT_MIN, TCP_PORT_MAX)),
});

const diskSchema = v.object({
  path: pathString('Disk image'),
  format: v.picklist(['raw', 'qcow2'], 'Disk format must be raw or qcow2'),
  sizeMiB: integerIn('Disk size (MiB)', 1, DISK_MIB_MAX),
  readOnly: v.optional(v.boolean('Read-only must be true or false')),
});

const cdromSchema = v.object({
  path: v.optional(pathString('ISO image')),
});

const nicSchema = v.object({
  network: v.pipe(
    v.string('Network must be a name'),
    v.regex(/^[A-Za-z0-9._-]{1,32}$/, 'Network names are 1 to 32 letters, digits, dots, dashes or underscores'),
    // The name is a folder of the host-wide network (core/host/hostNetwork.ts): '.' and '..' would leave it.
    v.check((name) => !/^\.+$/.test(name), 'A network name must not be only dots'),
  ),
  mac: v.optional(
    v.pipe(
      v.string('MAC address must be text'),
      v.regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'MAC address must look like 52:54:00:12:34:56'),
      v.check((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, 'MAC address must be a unicast address (first byte even)'),
    ),
  ),
});

/** Linux's hvc layer has 16 console slots (core/devices/virtio/virtioConsole.ts MAX_CONSOLE_PORTS). */
export const VIRTIO_CONSOLES_MAX = 16;

const balloonSchema = v.object({
  targetMiB: integerIn('Balloon target (MiB)', 0, MEMORY_MIB_MAX),
});

const draftEntries = {
  name: nameSchema,
  description: v.optional(
    v.pipe(v.string('Description must be text'), v.maxLength(DESCRIPTION_MAX_LENGTH, `Description must be at most ${DESCRIPTION_MAX_LENGTH} characters`)),
  ),
  guestType: v.pipe(v.string('Guest type must be text'), v.minLength(1, 'Guest type is required'), v.maxLength(64, 'Guest type is too long')),
  memoryMiB: integerIn('Memory (MiB)', MEMORY_MIB_MIN, MEMORY_MIB_MAX),
  cpus: integerIn('Processors', 1, CPUS_MAX),
  boot: bootSchema,
  bootOrder: v.pipe(
    v.array(v.picklist(['disk', 'cdrom', 'network'], 'Boot device must be disk, cdrom or network'), 'Boot order must be a list'),
    v.maxLength(3, 'Boot order lists at most 3 devices'),
  ),
  disks: v.pipe(v.array(diskSchema, 'Disks must be a list'), v.maxLength(MAX_DISKS, `At most ${MAX_DISKS} disks`)),
  cdroms: v.optional(v.pipe(v.array(cdromSchema, 'CD-ROM drives must be a list'), v.maxLength(MAX_CDROMS, `At most ${MAX_CDROMS} CD-ROM drives`))),
  nics: v.optional(v.pipe(v.array(nicSchema, 'Network adapters must be a list'), v.maxLength(MAX_NICS, `At most ${MAX_NICS} network adapters`))),
  balloon: v.optional(balloonSchema),
  virtioConsoles: v.optional(integerIn('VirtIO console ports', 1, VIRTIO_CONSOLES_MAX)),
  apic: v.optional(v.boolean('I/O APIC must be true or false')),
  serial: v.tuple([serialPortSchema, serialPortSchema], 'Serial must list COM1 and COM2'),
  clock: v.picklist(['realtime', 'deterministic'], 'Clock must be realtime or deterministic'),
  acceleration: v.picklist(ACCELERATIONS, `Acceleration must be one of ${ACCELERATIONS.join(', ')}`),
  nestedPaging: v.boolean('Nested paging must be true or false'),
};

const draftSchema = v.object(draftEntries);
const configSchema = v.object({
  version: v.literal(VM_CONFIG_VERSION, `Version must be ${VM_CONFIG_VERSION}`),
  id: v.pipe(v.string('Id must be text'), v.uuid('Id must be a UUID')),
  ...draftEntries,
});

// The schemas must produce exactly the declared types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _draftMatches: Same<v.InferOutput<typeof draftSchema>, VmConfigDraft> = true;
const _configMatches: Same<v.InferOutput<typeof configSchema>, VmConfig> = true;
void _draftMatches;
void _configMatches;

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** What a missing field is called in "X is required", by its last path segment. */
const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  guestType: 'Guest type',
  memoryMiB: 'Memory (MiB)',
  cpus: 'Processors',
  boot: 'Boot source',
  bootOrder: 'Boot order',
  disks: 'Disks',
  serial: 'Serial ports',
  clock: 'Clock',
  acceleration: 'Acceleration',
  nestedPaging: 'Nested paging',
  version: 'Version',
  id: 'Id',
  kernel: 'Kernel',
  cmdline: 'Command line',
  rom: 'ROM image',
  enabled: 'Enabled',
  mode: 'Mode',
  path: 'Path',
  format: 'Format',
  sizeMiB: 'Disk size (MiB)',
  network: 'Network',
  targetMiB: 'Balloon target (MiB)',
};

function issuesToErrors(issues: readonly v.BaseIssue<unknown>[]): FieldError[] {
  return issues.map((issue) => {
    const field = v.getDotPath(issue) ?? '';
    // valibot reports a missing key as an "object" issue at the key's path.
    if (issue.type === 'object' && issue.input === undefined && field !== '') {
      const key = field.slice(field.lastIndexOf('.') + 1);
      return { field, message: `${FIELD_LABELS[key] ?? key} is required` };
    }
    return { field, message: issue.message };
  });
}

const NOT_AN_OBJECT: FieldError[] = [{ field: '', message: 'The configuration must be an object' }];

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Rules that span fields (the schema checks each field alone). */
function crossFieldErrors(d: VmConfigDraft): FieldError[] {
  const errors: FieldError[] = [];
  if ((d.acceleration === 'vtx' || d.acceleration === 'svm') && d.memoryMiB > VTX_MEMORY_MIB_MAX) {
    errors.push({
      field: 'memoryMiB',
      message: `Under ${d.acceleration === 'vtx' ? 'VT-x' : 'AMD-V'} at most ${VTX_MEMORY_MIB_MAX} MiB: machine memory (${MEMORY_MIB_MAX} MiB) also holds the hypervisor's tables for the VM`,
    });
  }
  d.serial.forEach((s, i) => {
    if (s.mode === 'file' && s.path === undefined) errors.push({ field: `serial.${i}.path`, message: 'Choose the file the output goes to' });
    if (s.mode === 'tcp' && s.port === undefined) errors.push({ field: `serial.${i}.port`, message: 'Choose the TCP port to listen on' });
  });
  const [com1, com2] = d.serial;
  if (com1.enabled && com2.enabled && com1.mode === 'tcp' && com2.mode === 'tcp' && com1.port === com2.port) {
    errors.push({ field: 'serial.1.port', message: 'COM1 already listens on this port' });
  }
  if (com1.enabled && com2.enabled && com1.mode === 'file' && com2.mode === 'file' && com1.path === com2.path) {
    errors.push({ field: 'serial.1.path', message: 'COM1 already writes to this file' });
  }
  if (d.balloon && d.balloon.targetMiB > balloonTargetMaxMiB(d.memoryMiB)) {
    errors.push({
      field: 'balloon.targetMiB',
      message: `The balloon can take at most ${balloonTargetMaxMiB(d.memoryMiB)} MiB of this VM's ${d.memoryMiB} MiB (the guest keeps ${MEMORY_MIB_MIN} MiB)`,
    });
  }
  const seenBoot = new Set<string>();
  d.bootOrder.forEach((b, i) => {
    if (seenBoot.has(b)) errors.push({ field: `bootOrder.${i}`, message: `${b} is listed twice` });
    seenBoot.add(b);
  });
  const seenMac = new Set<string>();
  (d.nics ?? []).forEach((nic, i) => {
    if (nic.mac === undefined) return;
    const mac = nic.mac.toLowerCase();
    if (seenMac.has(mac)) errors.push({ field: `nics.${i}.mac`, message: 'Another adapter of this VM has this MAC address' });
    seenMac.add(mac);
  });
  const seenDisk = new Set<string>();
  d.disks.forEach((disk, i) => {
    if (seenDisk.has(disk.path)) errors.push({ field: `disks.${i}.path`, message: 'This disk image is attached twice' });
    seenDisk.add(disk.path);
  });
  return errors;
}

/** Off is absent (VmConfig.apic): drops an explicit `apic: false` from freshly parsed output. */
function canonicalApic<T extends VmConfigDraft>(parsed: T): T {
  if (parsed.apic === false) delete parsed.apic;
  return parsed;
}

/** Checks a draft (what the wizard submits). Does not look at the file system or the library. */
export function checkVmDraft(value: unknown): Checked<VmConfigDraft> {
  if (!isPlainObject(value)) return { ok: false, errors: NOT_AN_OBJECT };
  const result = v.safeParse(draftSchema, value);
  if (!result.success) return { ok: false, errors: issuesToErrors(result.issues) };
  const errors = crossFieldErrors(result.output);
  return errors.length ? { ok: false, errors } : { ok: true, value: canonicalApic(result.output) };
}

/** Checks a full config (version and id included). */
export function checkVmConfig(value: unknown): Checked<VmConfig> {
  if (!isPlainObject(value)) return { ok: false, errors: NOT_AN_OBJECT };
  const result = v.safeParse(configSchema, value);
  if (!result.success) return { ok: false, errors: issuesToErrors(result.issues) };
  const errors = crossFieldErrors(result.output);
  return errors.length ? { ok: false, errors } : { ok: true, value: canonicalApic(result.output) };
}

/** Why a vm.json cannot be used. `errors` is set when the JSON parsed but did not validate. */
export interface ConfigFileProblem {
  problem: string;
  errors?: FieldError[];
}

/**
 * Parses the text of a vm.json. Malformed or truncated JSON, a missing,
 * unknown or newer `version`, and invalid contents are reported as problems
 * (the caller shows the VM as inaccessible and must not rewrite the file).
 */
export function parseVmConfigFile(text: string): { ok: true; config: VmConfig } | ({ ok: false } & ConfigFileProblem) {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return { ok: false, problem: `vm.json is not valid JSON (truncated or corrupted): ${detail}` };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, problem: 'vm.json does not hold a configuration object' };
  }
  const version = (data as { version?: unknown }).version;
  if (version === undefined) return { ok: false, problem: 'vm.json has no version field' };
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { ok: false, problem: `vm.json has an unknown version (${JSON.stringify(version)})` };
  }
  if (version > VM_CONFIG_VERSION) {
    return { ok: false, problem: `vm.json is version ${version}, written by a newer Popek; this version reads version ${VM_CONFIG_VERSION}` };
  }
  if (version !== VM_CONFIG_VERSION) {
    return { ok: false, problem: `vm.json has an unknown version (${version})` };
  }
  const checked = checkVmConfig(migrateLegacyFields(data as Record<string, unknown>));
  if (!checked.ok) {
    return {
      ok: false,
      problem: `vm.json is invalid: ${checked.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')}`,
      errors: checked.errors,
    };
  }
  return { ok: true, config: checked.value };
}

/**
 * Brings fields of older builds' vm.json files to today's names, in memory
 * (the file is rewritten in the new form on the next save):
 * `hardwareAssist: true` asked for hardware assist, which is VT-x with nested
 * paging; `false` was the emulated PC. A file that has both the old and the new
 * field keeps the new one; an old field that is not a boolean is left for the
 * schema to report.
 */
export function migrateLegacyFields(data: Record<string, unknown>): Record<string, unknown> {
  if (!('hardwareAssist' in data)) return data;
  const { hardwareAssist, ...rest } = data;
  if (typeof hardwareAssist !== 'boolean') return data;
  const acceleration: Acceleration = hardwareAssist ? 'vtx' : 'none';
  return { ...rest, acceleration: rest.acceleration ?? acceleration, nestedPaging: rest.nestedPaging ?? true };
}

/** The text written to vm.json (stable key order, trailing newline). */
export function serializeVmConfig(config: VmConfig): string {
  return JSON.stringify(config, null, 2) + '\n';
}
