import { describe, expect, it } from 'vitest';
import { checkVmDraft, parseVmConfigFile, serializeVmConfig, type VmConfig, type VmConfigDraft } from '../../core/machine/config.ts';
import { vmDraft } from './fixtures/vmDraft.ts';

function draft(overrides: Partial<VmConfigDraft> = {}): VmConfigDraft {
  return vmDraft({ name: 'demo', guestType: 'tiny-linux', memoryMiB: 128, boot: { kind: 'linux', kernel: '/k/bzImage', cmdline: 'console=ttyS0' }, ...overrides });
}

const ID = '0b7c1c2e-4f3a-4d8e-9a51-6c2f1b0e9d11';
function config(overrides: Partial<VmConfig> = {}): VmConfig {
  return { version: 1, id: ID, ...draft(), ...overrides };
}

describe('VM config schema', () => {
  it('accepts a complete draft unchanged', () => {
    const d = draft();
    expect(checkVmDraft(d)).toEqual({ ok: true, value: d });
  });

  it.each([
    [3, 'Memory (MiB) must be at least 4'],
    [1793, 'Memory (MiB) must be at most 1792'],
    [64.5, 'Memory (MiB) must be a whole number'],
    [Number.NaN, 'Memory (MiB) must be a number'],
  ])('refuses memoryMiB %s with a field error', (memoryMiB, message) => {
    expect(checkVmDraft(draft({ memoryMiB }))).toEqual({ ok: false, errors: [{ field: 'memoryMiB', message }] });
  });

  it('accepts the memory bounds 4 and 1792', () => {
    expect(checkVmDraft(draft({ memoryMiB: 4 })).ok).toBe(true);
    expect(checkVmDraft(draft({ memoryMiB: 1792 })).ok).toBe(true);
  });

  it('refuses names that are empty, too long or contain path separators', () => {
    expect(checkVmDraft(draft({ name: '' }))).toEqual({ ok: false, errors: [{ field: 'name', message: 'Name is required' }] });
    expect(checkVmDraft(draft({ name: 'x'.repeat(65) }))).toEqual({
      ok: false,
      errors: [{ field: 'name', message: 'Name must be at most 64 characters' }],
    });
    expect(checkVmDraft(draft({ name: 'a/b' }))).toEqual({ ok: false, errors: [{ field: 'name', message: 'Name must not contain / or \\' }] });
    expect(checkVmDraft(draft({ name: 'a\\b' }))).toEqual({ ok: false, errors: [{ field: 'name', message: 'Name must not contain / or \\' }] });
    expect(checkVmDraft(draft({ name: '..' }))).toEqual({ ok: false, errors: [{ field: 'name', message: 'Name must not be . or ..' }] });
    expect(checkVmDraft(draft({ name: 'x'.repeat(64) })).ok).toBe(true);
  });

  it('refuses network names that are not one plain folder name', () => {
    const nic = (network: string) => checkVmDraft(draft({ nics: [{ network }] }));
    expect(nic('..')).toEqual({ ok: false, errors: [{ field: 'nics.0.network', message: 'A network name must not be only dots' }] });
    expect(nic('.')).toEqual({ ok: false, errors: [{ field: 'nics.0.network', message: 'A network name must not be only dots' }] });
    expect(nic('a/b')).toEqual({ ok: false, errors: [{ field: 'nics.0.network', message: 'Network names are 1 to 32 letters, digits, dots, dashes or underscores' }] });
    expect(nic('lab.1').ok).toBe(true);
  });

  it('addresses nested errors by dotted path', () => {
    const d = draft({
      serial: [
        { enabled: true, mode: 'tcp', port: 80 },
        { enabled: true, mode: 'file' },
      ],
    });
    expect(checkVmDraft(d)).toEqual({ ok: false, errors: [{ field: 'serial.0.port', message: 'TCP port must be at least 1024' }] });
    const d2 = draft({ serial: [{ enabled: true, mode: 'tcp' }, { enabled: true, mode: 'file' }] });
    expect(checkVmDraft(d2)).toEqual({
      ok: false,
      errors: [
        { field: 'serial.0.port', message: 'Choose the TCP port to listen on' },
        { field: 'serial.1.path', message: 'Choose the file the output goes to' },
      ],
    });
  });

  it('refuses two serial ports on the same TCP port', () => {
    const d = draft({ serial: [{ enabled: true, mode: 'tcp', port: 5000 }, { enabled: true, mode: 'tcp', port: 5000 }] });
    expect(checkVmDraft(d)).toEqual({ ok: false, errors: [{ field: 'serial.1.port', message: 'COM1 already listens on this port' }] });
  });

  it('refuses a CPU count outside 1..8 and a disk format other than raw and qcow2', () => {
    expect(checkVmDraft(draft({ cpus: 9 }))).toEqual({ ok: false, errors: [{ field: 'cpus', message: 'Processors must be at most 8' }] });
    const bad = { ...draft(), disks: [{ path: 'd.vmdk', format: 'vmdk', sizeMiB: 10 }] };
    expect(checkVmDraft(bad)).toEqual({ ok: false, errors: [{ field: 'disks.0.format', message: 'Disk format must be raw or qcow2' }] });
    const readOnly = { ...draft(), disks: [{ path: 'd.qcow2', format: 'qcow2', sizeMiB: 10, readOnly: 'yes' }] };
    expect(checkVmDraft(readOnly)).toEqual({ ok: false, errors: [{ field: 'disks.0.readOnly', message: 'Read-only must be true or false' }] });
    const good = { ...draft(), disks: [{ path: 'a.qcow2', format: 'qcow2', sizeMiB: 10, readOnly: true }, { path: 'b.img', format: 'raw', sizeMiB: 1 }] };
    expect(checkVmDraft(good)).toEqual({ ok: true, value: good });
  });

  it('refuses a missing kernel path', () => {
    const d = draft({ boot: { kind: 'linux', kernel: '', cmdline: '' } });
    expect(checkVmDraft(d)).toEqual({ ok: false, errors: [{ field: 'boot.kernel', message: 'Kernel is required' }] });
  });

  it('refuses values that are not a config at all', () => {
    expect(checkVmDraft(null)).toEqual({ ok: false, errors: [{ field: '', message: 'The configuration must be an object' }] });
    expect(checkVmDraft([1])).toEqual({ ok: false, errors: [{ field: '', message: 'The configuration must be an object' }] });
  });

  it('names each missing field', () => {
    const { memoryMiB: _m, clock: _c, ...rest } = draft();
    expect(checkVmDraft({ ...rest, boot: { kind: 'linux', cmdline: '' } })).toEqual({
      ok: false,
      errors: [
        { field: 'memoryMiB', message: 'Memory (MiB) is required' },
        { field: 'boot.kernel', message: 'Kernel is required' },
        { field: 'clock', message: 'Clock is required' },
      ],
    });
  });
});

describe('vm.json parsing', () => {
  it('round-trips a config through serializeVmConfig', () => {
    const c = config();
    expect(parseVmConfigFile(serializeVmConfig(c))).toEqual({ ok: true, config: c });
  });

  it('reports truncated JSON as malformed', () => {
    const text = serializeVmConfig(config());
    const result = parseVmConfigFile(text.slice(0, text.length / 2));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(/^vm\.json is not valid JSON \(truncated or corrupted\): /);
  });

  it('reports a newer version as written by a newer Popek', () => {
    const result = parseVmConfigFile(JSON.stringify({ ...config(), version: 2 }));
    expect(result).toEqual({
      ok: false,
      problem: 'vm.json is version 2, written by a newer Popek; this version reads version 1',
    });
  });

  it('reports missing and unknown versions', () => {
    const { version: _v, ...rest } = config();
    expect(parseVmConfigFile(JSON.stringify(rest))).toEqual({ ok: false, problem: 'vm.json has no version field' });
    expect(parseVmConfigFile(JSON.stringify({ ...config(), version: 'one' }))).toEqual({
      ok: false,
      problem: 'vm.json has an unknown version ("one")',
    });
    expect(parseVmConfigFile(JSON.stringify({ ...config(), version: 0 }))).toEqual({ ok: false, problem: 'vm.json has an unknown version (0)' });
  });

  it('reports invalid contents with the field errors', () => {
    const result = parseVmConfigFile(JSON.stringify({ ...config(), memoryMiB: 99999 }));
    expect(result).toEqual({
      ok: false,
      problem: 'vm.json is invalid: memoryMiB: Memory (MiB) must be at most 1792',
      errors: [{ field: 'memoryMiB', message: 'Memory (MiB) must be at most 1792' }],
    });
  });

  it('migrates an old hardwareAssist flag to acceleration + nestedPaging, keeping every other field', () => {
    const { acceleration: _a, nestedPaging: _n, ...current } = config({ description: 'kept', memoryMiB: 96, clock: 'deterministic' });
    expect(parseVmConfigFile(JSON.stringify({ ...current, hardwareAssist: true }))).toEqual({
      ok: true,
      config: { ...current, acceleration: 'vtx', nestedPaging: true },
    });
    expect(parseVmConfigFile(JSON.stringify({ ...current, hardwareAssist: false }))).toEqual({
      ok: true,
      config: { ...current, acceleration: 'none', nestedPaging: true },
    });
    // The migrated config serializes in the new form, without the old field.
    const migrated = parseVmConfigFile(JSON.stringify({ ...current, hardwareAssist: true }));
    if (!migrated.ok) throw new Error(migrated.problem);
    expect(JSON.parse(serializeVmConfig(migrated.config))).toEqual({ ...current, acceleration: 'vtx', nestedPaging: true });
  });

  it('keeps the new fields when a file has both, and reports a malformed old field', () => {
    const c = config({ acceleration: 'none' });
    expect(parseVmConfigFile(JSON.stringify({ ...c, hardwareAssist: true }))).toEqual({ ok: true, config: c });
    const { acceleration: _a, nestedPaging: _n, ...current } = c;
    expect(parseVmConfigFile(JSON.stringify({ ...current, hardwareAssist: 'yes' }))).toEqual({
      ok: false,
      problem: 'vm.json is invalid: acceleration: Acceleration is required; nestedPaging: Nested paging is required',
      errors: [
        { field: 'acceleration', message: 'Acceleration is required' },
        { field: 'nestedPaging', message: 'Nested paging is required' },
      ],
    });
  });

  it('keeps room in machine memory for the hypervisor under VT-x', () => {
    expect(checkVmDraft(draft({ acceleration: 'vtx', memoryMiB: 1760 })).ok).toBe(true);
    expect(checkVmDraft(draft({ acceleration: 'vtx', memoryMiB: 1761 }))).toEqual({
      ok: false,
      errors: [{ field: 'memoryMiB', message: "Under VT-x at most 1760 MiB: machine memory (1792 MiB) also holds the hypervisor's tables for the VM" }],
    });
    expect(checkVmDraft(draft({ acceleration: 'none', memoryMiB: 1792 })).ok).toBe(true);
  });

  it('takes a balloon target up to the memory less 4 MiB, and refuses anything else', () => {
    expect(checkVmDraft(draft({ balloon: { targetMiB: 0 } }))).toEqual({ ok: true, value: draft({ balloon: { targetMiB: 0 } }) });
    expect(checkVmDraft(draft({ balloon: { targetMiB: 124 } })).ok).toBe(true);
    expect(checkVmDraft(draft({ balloon: { targetMiB: 125 } }))).toEqual({
      ok: false,
      errors: [{ field: 'balloon.targetMiB', message: "The balloon can take at most 124 MiB of this VM's 128 MiB (the guest keeps 4 MiB)" }],
    });
    expect(checkVmDraft(draft({ balloon: { targetMiB: -1 } }))).toEqual({ ok: false, errors: [{ field: 'balloon.targetMiB', message: 'Balloon target (MiB) must be at least 0' }] });
    expect(checkVmDraft(draft({ balloon: { targetMiB: 2.5 } }))).toEqual({ ok: false, errors: [{ field: 'balloon.targetMiB', message: 'Balloon target (MiB) must be a whole number' }] });
    expect(checkVmDraft(draft({ balloon: {} as { targetMiB: number } }))).toEqual({ ok: false, errors: [{ field: 'balloon.targetMiB', message: 'Balloon target (MiB) is required' }] });
    expect(checkVmDraft(draft({ balloon: 16 as unknown as { targetMiB: number } })).ok).toBe(false);
    // A vm.json with a balloon round-trips.
    const withBalloon = config({ balloon: { targetMiB: 32 } });
    expect(parseVmConfigFile(serializeVmConfig(withBalloon))).toEqual({ ok: true, config: withBalloon });
  });

  it('takes the I/O APIC setting as true or false, stores off as absent, and refuses anything else', () => {
    expect(checkVmDraft(draft({ apic: true }))).toEqual({ ok: true, value: draft({ apic: true }) });
    // Off has one form: an explicit false comes back absent (and the caller's object is left as it was).
    const explicitOff = draft({ apic: false });
    const checkedOff = checkVmDraft(explicitOff);
    expect(checkedOff.ok && 'apic' in checkedOff.value).toBe(false);
    expect(checkedOff).toEqual({ ok: true, value: draft() });
    expect(explicitOff.apic).toBe(false);
    for (const bad of ['yes', 1, null, { enabled: true }]) {
      expect(checkVmDraft(draft({ apic: bad as unknown as boolean }))).toEqual({ ok: false, errors: [{ field: 'apic', message: 'I/O APIC must be true or false' }] });
    }
    // vm.json: a file from before the setting (no apic) loads as off; one with it round-trips; a bad value is named.
    expect(parseVmConfigFile(serializeVmConfig(config()))).toEqual({ ok: true, config: config() });
    const withApic = config({ apic: true });
    expect(serializeVmConfig(withApic)).toContain('"apic": true');
    expect(parseVmConfigFile(serializeVmConfig(withApic))).toEqual({ ok: true, config: withApic });
    expect(parseVmConfigFile(JSON.stringify({ ...config(), apic: 'on' }))).toEqual({
      ok: false,
      problem: 'vm.json is invalid: apic: I/O APIC must be true or false',
      errors: [{ field: 'apic', message: 'I/O APIC must be true or false' }],
    });
  });

  it('accepts every reserved acceleration mode and refuses unknown ones', () => {
    for (const acceleration of ['none', 'vtx', 'svm', 'bt', 'trap'] as const) {
      expect(checkVmDraft(draft({ acceleration })).ok).toBe(true);
    }
    expect(checkVmDraft({ ...draft(), acceleration: 'kvm' })).toEqual({
      ok: false,
      errors: [{ field: 'acceleration', message: 'Acceleration must be one of none, vtx, svm, bt, trap' }],
    });
    expect(checkVmDraft({ ...draft(), nestedPaging: 'on' })).toEqual({
      ok: false,
      errors: [{ field: 'nestedPaging', message: 'Nested paging must be true or false' }],
    });
  });

  it('reports a non-object document', () => {
    expect(parseVmConfigFile('[1,2]')).toEqual({ ok: false, problem: 'vm.json does not hold a configuration object' });
  });
});
