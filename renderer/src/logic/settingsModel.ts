/**
 * The Settings dialog's form model. The form starts as an exact copy of the
 * VM's config; `draftFromSettings` turns it back into the VmConfigDraft sent
 * to `updateVm`, so fields the user did not touch go back byte-for-byte as
 * they were (an absent initrd stays absent, a stored path stays stored).
 */
import type {
  BootConfig,
  BootDevice,
  CdromConfig,
  DiskConfig,
  FieldError,
  SerialPortConfig,
  VmConfig,
  VmConfigDraft,
} from '../../../core/host/api.ts';
import { ACCELERATION_INFO, accelerationProblem, apicProblem } from '../../../core/machine/acceleration.ts';
import { checkVmDraft, CPUS_SUPPORTED } from '../../../core/machine/config.ts';
import { dedupe } from './wizardModel.ts';

export interface SerialForm {
  enabled: boolean;
  mode: SerialPortConfig['mode'];
  path: string;
  /** NaN while the box is empty. */
  port: number;
}

/** A network adapter as Settings edits it (an empty MAC: the host's automatic one). */
export interface NicForm {
  network: string;
  mac: string;
}

export interface SettingsForm {
  name: string;
  description: string;
  guestType: string;
  memoryMiB: number;
  cpus: number;
  bootKind: BootConfig['kind'];
  kernel: string;
  initrd: string;
  cmdline: string;
  rom: string;
  bootOrder: BootDevice[];
  disks: DiskConfig[];
  nics: NicForm[];
  /** The IDE CD-ROM drives, kept as they are (the dialog does not edit them yet). */
  cdroms: CdromConfig[];
  serial: [SerialForm, SerialForm];
  clock: VmConfig['clock'];
  acceleration: VmConfig['acceleration'];
  nestedPaging: boolean;
  /** A memory balloon device, and the MiB it asks the guest for at start (kept while the box is unticked). */
  balloon: boolean;
  balloonTargetMiB: number;
  /** The board's local APIC and I/O APIC (VmConfig.apic; saved only when on). */
  apic: boolean;
  /** VirtIO console ports (VmConfig.virtioConsoles; 0: none, saved as absent). */
  virtioConsoles: number;
}

export const BOOT_DEVICES: readonly BootDevice[] = ['disk', 'cdrom', 'network'];

function serialForm(port: SerialPortConfig): SerialForm {
  return { enabled: port.enabled, mode: port.mode, path: port.path ?? '', port: port.port ?? Number.NaN };
}

export function settingsFromConfig(config: VmConfig): SettingsForm {
  const boot = config.boot;
  return {
    name: config.name,
    description: config.description ?? '',
    guestType: config.guestType,
    memoryMiB: config.memoryMiB,
    cpus: config.cpus,
    bootKind: boot.kind,
    kernel: boot.kind === 'linux' ? boot.kernel : '',
    initrd: boot.kind === 'linux' ? (boot.initrd ?? '') : '',
    cmdline: boot.kind === 'linux' ? boot.cmdline : '',
    rom: boot.kind === 'rom' ? boot.rom : '',
    bootOrder: [...config.bootOrder],
    disks: config.disks.map((d) => ({ ...d })),
    nics: (config.nics ?? []).map((n) => ({ network: n.network, mac: n.mac ?? '' })),
    cdroms: (config.cdroms ?? []).map((cd) => ({ ...cd })),
    serial: [serialForm(config.serial[0]), serialForm(config.serial[1])],
    clock: config.clock,
    acceleration: config.acceleration,
    nestedPaging: config.nestedPaging,
    balloon: config.balloon !== undefined,
    balloonTargetMiB: config.balloon?.targetMiB ?? 0,
    apic: config.apic === true,
    virtioConsoles: config.virtioConsoles ?? 0,
  };
}

function serialConfig(form: SerialForm): SerialPortConfig {
  const port: SerialPortConfig = { enabled: form.enabled, mode: form.mode };
  if (form.path.trim() !== '') port.path = form.path.trim();
  if (!Number.isNaN(form.port)) port.port = form.port;
  return port;
}

export function draftFromSettings(form: SettingsForm): VmConfigDraft {
  const boot: BootConfig =
    form.bootKind === 'rom'
      ? { kind: 'rom', rom: form.rom.trim() }
      : {
          kind: 'linux',
          kernel: form.kernel.trim(),
          ...(form.initrd.trim() !== '' ? { initrd: form.initrd.trim() } : {}),
          cmdline: form.cmdline,
        };
  const draft: VmConfigDraft = {
    name: form.name,
    guestType: form.guestType,
    memoryMiB: form.memoryMiB,
    cpus: form.cpus,
    boot,
    bootOrder: [...form.bootOrder],
    disks: form.disks.map((d) => ({ path: d.path.trim(), format: d.format, sizeMiB: d.sizeMiB, ...(d.readOnly !== undefined ? { readOnly: d.readOnly } : {}) })),
    serial: [serialConfig(form.serial[0]), serialConfig(form.serial[1])],
    clock: form.clock,
    acceleration: form.acceleration,
    nestedPaging: form.nestedPaging,
  };
  if (form.description.trim() !== '') draft.description = form.description;
  if (form.cdroms.length > 0) draft.cdroms = form.cdroms.map((cd) => ({ ...cd }));
  if (form.balloon) draft.balloon = { targetMiB: form.balloonTargetMiB };
  if (form.apic) draft.apic = true;
  // 0 is none (absent); anything else goes to the config's check, which refuses what is not 1-16.
  if (form.virtioConsoles !== 0) draft.virtioConsoles = form.virtioConsoles;
  if (form.nics.length > 0) {
    draft.nics = form.nics.map((n) => ({ network: n.network.trim(), ...(n.mac.trim() !== '' ? { mac: n.mac.trim().toLowerCase() } : {}) }));
  }
  return draft;
}

/** The draft of the config as it is now (the baseline the dialog compares against). */
export function draftOfConfig(config: VmConfig): VmConfigDraft {
  const { id: _id, version: _version, ...draft } = config;
  return draft;
}

/** Top-level fields whose value differs between two drafts (compared as JSON). */
export function changedFields(before: VmConfigDraft, after: VmConfigDraft): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof VmConfigDraft>;
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

/** Fields that may change while the VM is not powered off. */
export const LIVE_EDITABLE_FIELDS: readonly (keyof VmConfigDraft)[] = ['name', 'description'];

export function validateSettings(form: SettingsForm, nameTaken: (name: string) => boolean): FieldError[] {
  const draft = draftFromSettings(form);
  const errors: FieldError[] = [];
  const checked = checkVmDraft(draft);
  if (!checked.ok) errors.push(...checked.errors);
  if (form.name.trim() !== '' && nameTaken(form.name)) errors.push({ field: 'name', message: `A VM named "${form.name}" already exists` });
  if (Number.isInteger(form.cpus) && form.cpus > CPUS_SUPPORTED) {
    errors.push({ field: 'cpus', message: `Only ${CPUS_SUPPORTED} processor can run for now: multiprocessor (SMP) support is not implemented yet` });
  }
  // The same rule the host applies (core/host/validation.ts): a mode this build cannot run cannot be saved.
  const accelProblem = accelerationProblem(form.acceleration, form.nestedPaging, form.bootKind === 'linux');
  if (accelProblem !== undefined) {
    errors.push({ field: (form.acceleration === 'vtx' || form.acceleration === 'svm') && ACCELERATION_INFO[form.acceleration].built ? 'nestedPaging' : 'acceleration', message: accelProblem });
  }
  const apicRefused = form.apic ? apicProblem(form.acceleration) : undefined;
  if (apicRefused !== undefined) errors.push({ field: 'apic', message: apicRefused });
  return dedupe(errors);
}
