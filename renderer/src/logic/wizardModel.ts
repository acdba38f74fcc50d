/**
 * The New VM wizard's form model: what the user edits, how a preset fills it
 * with defaults, how it becomes the VmConfigDraft the host receives, and the
 * checks that run on every keystroke (the same schema the host applies, plus
 * the rules the UI can decide alone). The host's `validateVm` adds what needs
 * the file system (boot files exist) and has the last word.
 */
import type { BootConfig, FieldError, GuestPreset, VmConfigDraft } from '../../../core/host/api.ts';
import { checkVmDraft, CPUS_SUPPORTED, DISK_MIB_MAX, MEMORY_MIB_MAX, MEMORY_MIB_MIN } from '../../../core/machine/config.ts';

export interface WizardForm {
  name: string;
  description: string;
  guestType: string;
  bootKind: 'linux' | 'rom';
  kernel: string;
  initrd: string;
  cmdline: string;
  rom: string;
  /** The ISO image for the first CD-ROM drive, for presets whose machine has one (the 'Install from an ISO image' preset). */
  iso: string;
  memoryMiB: number;
  cpus: number;
  createDisk: boolean;
  diskMiB: number;
  /** Format of the new disk (the host creates it with core/dom0/block's createDisk). */
  diskFormat: 'raw' | 'qcow2';
  /** A network adapter (eth0) on the internal network `network`. */
  attachNic: boolean;
  network: string;
}

/** Field path of the wizard-only "new disk size" (not part of VmConfigDraft). */
export const NEW_DISK_FIELD = 'newDiskMiB';
export const DEFAULT_DISK_MIB = 2048;
/** Field path of the ISO image in the first CD-ROM drive. */
export const ISO_FIELD = 'cdroms.0.path';

/** Whether the preset's machine has a CD-ROM drive the wizard asks an ISO image for. */
export function presetHasCdrom(preset: GuestPreset | undefined): boolean {
  return (preset?.defaults.cdroms?.length ?? 0) > 0;
}

export { MEMORY_MIB_MAX, MEMORY_MIB_MIN, DISK_MIB_MAX, CPUS_SUPPORTED };

/** Fills the form with a preset's defaults, keeping the name (and description) the user typed. */
export function formFromPreset(preset: GuestPreset, keep?: Pick<WizardForm, 'name' | 'description'>): WizardForm {
  const d = preset.defaults;
  const boot = d.boot;
  return {
    name: keep?.name ?? '',
    description: keep?.description ?? d.description ?? '',
    guestType: preset.id,
    bootKind: boot.kind,
    kernel: boot.kind === 'linux' ? boot.kernel : '',
    initrd: boot.kind === 'linux' ? (boot.initrd ?? '') : '',
    cmdline: boot.kind === 'linux' ? boot.cmdline : '',
    rom: boot.kind === 'rom' ? boot.rom : '',
    iso: d.cdroms?.[0]?.path ?? '',
    memoryMiB: d.memoryMiB,
    cpus: d.cpus,
    createDisk: preset.newDisk === true,
    diskMiB: DEFAULT_DISK_MIB,
    diskFormat: 'qcow2',
    attachNic: (d.nics?.length ?? 0) > 0,
    network: d.nics?.[0]?.network ?? 'intnet',
  };
}

/** The exact draft the host gets: the preset's defaults overridden by the form. */
export function draftFromForm(form: WizardForm, preset: GuestPreset): VmConfigDraft {
  const boot: BootConfig =
    form.bootKind === 'rom'
      ? { kind: 'rom', rom: form.rom.trim() }
      : {
          kind: 'linux',
          kernel: form.kernel.trim(),
          ...(form.initrd.trim() ? { initrd: form.initrd.trim() } : {}),
          cmdline: form.cmdline,
        };
  const defaults = preset.defaults;
  const draft: VmConfigDraft = {
    name: form.name,
    guestType: preset.id,
    memoryMiB: form.memoryMiB,
    cpus: form.cpus,
    boot,
    bootOrder: [...defaults.bootOrder],
    disks: defaults.disks.map((disk) => ({ ...disk })),
    serial: [{ ...defaults.serial[0] }, { ...defaults.serial[1] }],
    clock: defaults.clock,
    acceleration: defaults.acceleration,
    nestedPaging: defaults.nestedPaging,
  };
  const description = form.description.trim();
  if (description) draft.description = description;
  if (form.attachNic) draft.nics = [{ network: form.network.trim() }];
  if (defaults.cdroms?.length) {
    // The first drive holds the ISO the user chose; any others keep the preset's (empty) media.
    const iso = form.iso.trim();
    draft.cdroms = defaults.cdroms.map((cd, i) => (i === 0 ? (iso ? { path: iso } : {}) : { ...cd }));
  }
  return draft;
}

export interface WizardContext {
  /** True if another VM already has this name (case-insensitive). */
  nameTaken(name: string): boolean;
  /** Whether the preset's files are present (bundled presets). */
  preset: GuestPreset | undefined;
}

/** Every problem the UI can see without the host, addressed like the host's field errors. */
export function validateWizard(form: WizardForm, context: WizardContext): FieldError[] {
  const errors: FieldError[] = [];
  const preset = context.preset;
  if (!preset) {
    errors.push({ field: 'guestType', message: 'Choose a guest type' });
    return errors;
  }
  if (!preset.available) {
    errors.push({ field: 'guestType', message: preset.unavailableReason ?? `${preset.label} is not available in this installation` });
  }
  const checked = checkVmDraft(draftFromForm(form, preset));
  if (!checked.ok) errors.push(...checked.errors);
  if (presetHasCdrom(preset) && form.iso.trim() === '') {
    errors.push({ field: ISO_FIELD, message: 'Choose the ISO image to boot from' });
  }
  if (form.name.trim() !== '' && context.nameTaken(form.name)) {
    errors.push({ field: 'name', message: `A VM named "${form.name}" already exists` });
  }
  if (Number.isInteger(form.cpus) && form.cpus > CPUS_SUPPORTED && form.cpus >= 1) {
    errors.push({
      field: 'cpus',
      message: `Only ${CPUS_SUPPORTED} processor can run for now: multiprocessor (SMP) support is not implemented yet`,
    });
  }
  if (form.createDisk) {
    const size = form.diskMiB;
    if (!Number.isInteger(size) || size < 1 || size > DISK_MIB_MAX) {
      errors.push({ field: NEW_DISK_FIELD, message: `Disk size must be a whole number of MiB from 1 to ${DISK_MIB_MAX}` });
    }
  }
  return dedupe(errors);
}

/** One message per field (the first one wins), in the order the fields were reported. */
export function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The first message for `field` (exact path) or any of its sub-fields. */
export function errorFor(errors: readonly FieldError[], field: string): string | undefined {
  return errors.find((e) => e.field === field || e.field.startsWith(`${field}.`))?.message;
}
