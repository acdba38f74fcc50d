/**
 * Argument parsing for `popek run`. Pure: turns argv into a RunArgs value or
 * a UsageError whose message is the one line the user sees.
 */
import { JIT_DEFAULTS } from '../cpu/jit/jit.ts';
import type { ClockMode } from '../cpu/clock.ts';
import type { VirtioDiskOption } from '../machine/types.ts';
import { parseDiskArg } from './diskArg.ts';
import { parseNicArg } from './nicArg.ts';
import { MAX_CONSOLE_PORTS } from '../devices/virtio/virtioConsole.ts';
import { ACCELERATION_INFO, ACCELERATIONS, DEFAULT_ACCELERATION, apicProblem, type Acceleration } from '../machine/acceleration.ts';

export const RUN_USAGE = `usage: popek run [--kernel FILE | --rom FILE] [options]

  --kernel FILE        Linux bzImage or Multiboot v1 kernel to boot directly
  --rom FILE           raw firmware image (size a multiple of 64 KiB) instead of a kernel
                       (with neither, the bundled SeaBIOS firmware starts and boots the disks)
  --initrd FILE        initial ramdisk for the kernel
  --append "CMDLINE"   kernel command line
  --memory MiB         RAM size (default 128)
  --clock MODE         realtime (default) or deterministic
  --no-reboot          exit (status 0) when the guest reboots instead of restarting it
  --apic               a board with the local APIC and I/O APIC (default: the 8259 PIC only)
  --timeout SECONDS    stop after this much host time (exit status 124)
  --port-log PORT=FILE append every byte the guest writes to I/O port PORT to FILE (repeatable)
  --disk FILE[,format=raw|qcow2][,readonly][,if=virtio|ide]
                       attach a disk image as a VirtIO disk (repeatable: /dev/vda, /dev/vdb, ...
                       in order; the format is probed when not given); if=ide puts it on the
                       IDE controller instead (primary master, primary slave, ... in order)
  --cdrom FILE         an ISO image in a CD-ROM drive on the IDE controller, read-only
                       (repeatable; the drives take the IDE places after the IDE disks)
  --boot DEVICE[,DEVICE]  the firmware's boot order: disk, cdrom (default disk,cdrom);
                       not with --kernel
  --nic internal=NAME|none[,mac=52:54:00:xx:xx:xx]
                       a VirtIO network adapter (repeatable: eth0, eth1, ...) on the internal
                       network NAME (shared with every popek process of this user on this
                       host whose machines name it) or unattached
  --balloon MiB        a VirtIO memory balloon asking the guest to give MiB of its memory back
                       (0 = an empty balloon; at most --memory less 4); --stats prints it
  --virtio-console N   a VirtIO console with N console ports (1-16): the guest's /dev/hvc0 ... hvcN-1
  --console NAME       what stdin/stdout are connected to: com1 (default) or hvcK (a port of
                       --virtio-console; boot with console=hvcK or run a getty on it)
  --accel MODE         vtx (Popek's hypervisor on the processor's VT-x), svm (on an AMD
                       processor's AMD-V), trap (the software monitor, trap-and-emulate only;
                       real-mode code runs in its emulator) or none (the emulated PC without a hypervisor);
                       default ${DEFAULT_ACCELERATION}${ACCELERATION_INFO.vtx.built ? '' : '; vtx is not built yet'}
  --nested-paging on|off  EPT under vtx, NPT under svm (default on); off runs the guest on the
                       hypervisor's shadow page tables (a --kernel guest only: no real mode then)
  --jit on|off         compile hot guest code to JavaScript (default ${JIT_DEFAULTS.enabled ? 'on' : 'off'}; off interprets everything)
  --stats              print the machine's counters (and the hypervisor's, under vtx or svm) at exit
  --tc-dump N|all      with --accel bt: at exit, print the binary translator's translation cache on
                       stderr: its fill, then the N most recently translated blocks (all: every block
                       since the last flush), each guest instruction beside its translation

COM1 (or the --console port) is connected to stdin/stdout. On a terminal, press Ctrl-A x to quit,
Ctrl-A Ctrl-A to send Ctrl-A, Ctrl-A h for help, Ctrl-A t to print the translation
cache now (--accel bt: the latest --tc-dump blocks, default 5).

exit status: 0 power-off, halt or --no-reboot reboot; 1 bad arguments or files;
2 triple fault; 3 emulator error; 124 timeout
`;

export const DEFAULT_MEMORY_MIB = 128;
export const MIN_MEMORY_MIB = 2;
export const MAX_MEMORY_MIB = 1792;

export interface PortLog {
  port: number;
  file: string;
}

export interface RunArgs {
  kernel?: string;
  /** Raw firmware image; with neither `kernel` nor `rom` the bundled SeaBIOS boots. */
  rom?: string;
  initrd?: string;
  append?: string;
  memoryMiB: number;
  clock: ClockMode;
  noReboot: boolean;
  /** --apic: put the local APIC and I/O APIC on the board (MachineOptions.apic = true). */
  apic?: boolean;
  /** Host seconds; undefined = no limit. */
  timeoutSeconds?: number;
  portLogs: PortLog[];
  /** VirtIO disks in command-line order (absent without --disk). */
  disks?: VirtioDiskOption[];
  /** IDE disks (--disk ...,if=ide) in command-line order (absent without one). */
  ideDisks?: VirtioDiskOption[];
  /** CD-ROM images (--cdrom) in command-line order (absent without --cdrom). */
  cdroms?: string[];
  /** --boot: the firmware's boot order (absent: the board's default, disk then CD-ROM). */
  bootOrder?: BootDevice[];
  /** --balloon: a virtio-balloon with this target in MiB (absent: no balloon). */
  balloonMiB?: number;
  /** --virtio-console: the virtio console's ports (absent: no virtio console). */
  virtioConsolePorts?: number;
  /** --console hvcK: the virtio console port on stdin/stdout (absent: COM1). */
  consolePort?: number;
  /** VirtIO network adapters in command-line order (absent without --nic). */
  nics?: { network?: string; mac?: string }[];
  acceleration: Acceleration;
  nestedPaging: boolean;
  /** --jit: compile hot guest code (undefined: the CPU's default). */
  jit?: boolean;
  /** Print counters at exit. */
  stats: boolean;
  /** --tc-dump: print the translation cache at exit, the N latest blocks or all of them (absent: not printed). */
  tcDump?: number | 'all';
  help: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const VALUE_OPTIONS = new Set(['--kernel', '--rom', '--initrd', '--append', '--memory', '--clock', '--timeout', '--port-log', '--disk', '--cdrom', '--boot', '--nic', '--balloon', '--virtio-console', '--console', '--accel', '--nested-paging', '--jit', '--tc-dump']);

export function parseRunArgs(argv: string[]): RunArgs {
  const args: RunArgs = {
    memoryMiB: DEFAULT_MEMORY_MIB,
    clock: 'realtime',
    noReboot: false,
    portLogs: [],
    acceleration: DEFAULT_ACCELERATION,
    nestedPaging: true,
    stats: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    let option = argv[i];
    let value: string | undefined;
    const eq = option.indexOf('=');
    if (option.startsWith('--') && eq > 0 && VALUE_OPTIONS.has(option.slice(0, eq))) {
      value = option.slice(eq + 1);
      option = option.slice(0, eq);
    }
    if (VALUE_OPTIONS.has(option) && value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${option} needs a value`);
      value = argv[++i];
    }
    switch (option) {
      case '--kernel':
        args.kernel = value;
        break;
      case '--rom':
        args.rom = value;
        break;
      case '--initrd':
        args.initrd = value;
        break;
      case '--append':
        args.append = value;
        break;
      case '--memory':
        args.memoryMiB = parseMemory(value!);
        break;
      case '--clock':
        if (value !== 'realtime' && value !== 'deterministic') {
          throw new UsageError(`bad --clock value '${value}': expected realtime or deterministic`);
        }
        args.clock = value;
        break;
      case '--timeout':
        args.timeoutSeconds = parseTimeout(value!);
        break;
      case '--port-log':
        args.portLogs.push(parsePortLog(value!));
        break;
      case '--disk': {
        let disk: ReturnType<typeof parseDiskArg>;
        try {
          disk = parseDiskArg(value!);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        const { bus, ...options } = disk;
        if (bus === 'ide') (args.ideDisks ??= []).push(options);
        else (args.disks ??= []).push(options);
        break;
      }
      case '--cdrom':
        if (!value) throw new UsageError('--cdrom needs a file');
        (args.cdroms ??= []).push(value);
        break;
      case '--boot':
        args.bootOrder = parseBootOrder(value!);
        break;
      case '--nic':
        try {
          (args.nics ??= []).push(parseNicArg(value!));
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      case '--balloon':
        if (!/^\d{1,5}$/.test(value!)) throw new UsageError(`bad --balloon value '${value}': expected MiB, a whole number`);
        args.balloonMiB = Number(value);
        break;
      case '--virtio-console':
        if (!/^\d{1,2}$/.test(value!) || Number(value) < 1 || Number(value) > MAX_CONSOLE_PORTS) throw new UsageError(`bad --virtio-console value '${value}': expected 1 to ${MAX_CONSOLE_PORTS} ports`);
        args.virtioConsolePorts = Number(value);
        break;
      case '--console': {
        const hvc = /^hvc(\d{1,2})$/.exec(value!);
        if (value === 'com1') delete args.consolePort;
        else if (hvc) args.consolePort = Number(hvc[1]);
        else throw new UsageError(`bad --console value '${value}': expected com1 or hvcN`);
        break;
      }
      case '--accel':
        args.acceleration = parseAccel(value!);
        break;
      case '--nested-paging':
        if (value === 'on') args.nestedPaging = true;
        else if (value === 'off') args.nestedPaging = false;
        else throw new UsageError(`bad --nested-paging value '${value}': expected on or off`);
        break;
      case '--jit':
        if (value === 'on' || value === 'off') args.jit = value === 'on';
        else throw new UsageError(`bad --jit value '${value}': expected on or off`);
        break;
      case '--stats':
        args.stats = true;
        break;
      case '--tc-dump':
        if (value === 'all') args.tcDump = 'all';
        else if (/^[1-9]\d{0,5}$/.test(value!)) args.tcDump = Number(value);
        else throw new UsageError(`bad --tc-dump value '${value}': expected a number of blocks (1 or more) or all`);
        break;
      case '--no-reboot':
        args.noReboot = true;
        break;
      case '--apic':
        args.apic = true;
        break;
      case '-h':
      case '--help':
        args.help = true;
        break;
      default:
        throw new UsageError(`unknown option '${option}' (popek run --help lists them)`);
    }
  }
  if (args.help) return args;
  // The guest keeps at least 4 MiB, as the app's configs do (balloonTargetMaxMiB).
  if (args.balloonMiB !== undefined && args.balloonMiB > Math.max(0, args.memoryMiB - 4)) {
    throw new UsageError(`--balloon ${args.balloonMiB} leaves the guest less than 4 MiB of its ${args.memoryMiB} MiB`);
  }
  if (args.consolePort !== undefined && args.consolePort >= (args.virtioConsolePorts ?? 0)) {
    throw new UsageError(`--console hvc${args.consolePort} needs --virtio-console ${args.consolePort + 1} or more (ports hvc0 to hvcN-1)`);
  }
  if (args.kernel !== undefined && args.rom !== undefined) throw new UsageError('--kernel and --rom cannot be used together');
  if (args.kernel !== undefined && args.bootOrder !== undefined) throw new UsageError('--boot is the firmware\'s boot order: a --kernel guest is loaded directly');
  if (args.kernel === undefined && (args.initrd !== undefined || args.append !== undefined)) {
    throw new UsageError('--initrd and --append need --kernel');
  }
  if (!args.nestedPaging) {
    if (args.acceleration !== 'vtx' && args.acceleration !== 'svm') throw new UsageError('--nested-paging off needs --accel vtx or svm (nested paging is a hardware-assist setting)');
    if (args.kernel === undefined) {
      throw new UsageError(args.acceleration === 'svm'
        ? '--nested-paging off needs --kernel: firmware starts in real mode, which would run paged on shadow page tables, and the processor refuses paged real mode'
        : '--nested-paging off needs --kernel: firmware starts in real mode, which VT-x runs only as an unrestricted guest, under EPT');
    }
  }
  const apicRefused = args.apic ? apicProblem(args.acceleration) : undefined;
  if (apicRefused !== undefined) throw new UsageError(`--apic: ${apicRefused}`);
  if (args.tcDump !== undefined && args.acceleration !== 'bt') {
    throw new UsageError('--tc-dump needs --accel bt: only the binary translator has a translation cache');
  }
  return args;
}

function parseAccel(value: string): Acceleration {
  const mode = ACCELERATIONS.find((m) => m === value);
  if (mode === undefined) throw new UsageError(`bad --accel value '${value}': expected ${ACCELERATIONS.join(', ')}`);
  const info = ACCELERATION_INFO[mode];
  if (!info.built) throw new UsageError(`--accel ${mode} (${info.label}) is ${info.notBuiltReason}`);
  return mode;
}

function parseMemory(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < MIN_MEMORY_MIB || n > MAX_MEMORY_MIB) {
    throw new UsageError(`bad --memory value '${value}': expected a whole number of MiB from ${MIN_MEMORY_MIB} to ${MAX_MEMORY_MIB}`);
  }
  return n;
}

function parseTimeout(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0)) throw new UsageError(`bad --timeout value '${value}': expected a positive number of seconds`);
  return n;
}

function parsePortLog(value: string): PortLog {
  const eq = value.indexOf('=');
  const portText = eq > 0 ? value.slice(0, eq) : '';
  const file = eq > 0 ? value.slice(eq + 1) : '';
  const port = /^0x[0-9a-f]+$/i.test(portText) ? parseInt(portText.slice(2), 16) : /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 0xffff) || file === '') {
    throw new UsageError(`bad --port-log value '${value}': expected PORT=FILE with PORT from 0 to 0xffff`);
  }
  return { port, file };
}

type BootDevice = 'disk' | 'cdrom';

/** --boot disk,cdrom: devices the firmware tries in this order, each once. */
function parseBootOrder(value: string): BootDevice[] {
  const devices = value.split(',');
  const order: BootDevice[] = [];
  for (const device of devices) {
    if (device === 'network') throw new UsageError('--boot network: booting from the network is not implemented yet');
    if (device !== 'disk' && device !== 'cdrom') throw new UsageError(`bad --boot device '${device}': expected disk or cdrom`);
    if (order.includes(device)) throw new UsageError(`--boot lists ${device} twice`);
    order.push(device);
  }
  return order;
}
