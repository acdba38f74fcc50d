// @vitest-environment happy-dom
/**
 * The main window wired to the stores: the list shows each VM's name, type,
 * state and memory; host events update it; toolbar actions reach the host;
 * live statistics appear for a running VM. (The xterm console is stubbed:
 * happy-dom has no layout to render a terminal into.)
 */
import { createPinia } from 'pinia';
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountManagerWindow, unmountAndClear } from './mountComponents.ts';
import { withUnbuiltBt } from '../machine/unbuiltMode.ts';

const BETA_ID = '0f7e1d2c-3b4a-4596-8877-665544332211';
let host: FakeHost;
let wrapper: VueWrapper | null = null;

async function mountManager(): Promise<VueWrapper> {
  wrapper = await mountManagerWindow(host, createPinia());
  return wrapper;
}

function toolbarButton(w: VueWrapper, label: string) {
  const button = w.findAll('[role="toolbar"] button').find((b) => b.text() === label);
  if (!button) throw new Error(`no toolbar button ${label}`);
  return button;
}

beforeEach(() => {
  host = new FakeHost();
  host.vms = [
    makeVm(makeConfig({ name: 'Alpha' })),
    makeVm(makeConfig({ id: BETA_ID, name: 'Beta', memoryMiB: 1024, guestType: 'linux-custom' }), 'running'),
  ];
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('ManagerWindow', () => {
  it('lists every VM with its guest type, memory and state', async () => {
    const w = await mountManager();
    const rows = w.findAll('[role="option"]');
    expect(rows.map((r) => r.find('.vm-name').text())).toEqual(['Alpha', 'Beta']);
    expect(rows.map((r) => r.find('.vm-meta').text())).toEqual(['Tiny Linux demo · 128 MiB', 'Linux (custom kernel) · 1 GiB']);
    expect(rows.map((r) => r.find('.state-label').text())).toEqual(['Powered Off', 'Running']);
    expect(rows[0]!.attributes('aria-selected')).toBe('true');
  });

  it('says the list is loading until the host has answered, and only then that it is empty', async () => {
    host.vms = [];
    let answer: (vms: typeof host.vms) => void = () => {};
    host.api.listVms.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    const w = await mountManager();
    expect(w.find('.vm-list-wrap').attributes('aria-busy')).toBe('true');
    expect(w.find('.vm-empty[role="status"]').text()).toBe('Loading virtual machines…');
    expect(w.text()).not.toContain('No virtual machines yet.');
    answer([]);
    await settle();
    expect(w.find('.vm-list-wrap').attributes('aria-busy')).toBe('false');
    expect(w.find('.vm-empty').text()).toContain('No virtual machines yet.');
    expect(w.find('[role="status"]').exists()).toBe(false);
  });

  it('follows state events in the list and the toolbar', async () => {
    const w = await mountManager();
    expect(toolbarButton(w, 'Start').attributes('disabled')).toBeUndefined();
    host.emitState({ vmId: makeConfig().id, status: { state: 'running', since: 2 } });
    await settle();
    expect(w.findAll('[role="option"]')[0]!.find('.state-label').text()).toBe('Running');
    expect(toolbarButton(w, 'Start').attributes('disabled')).toBeDefined();
    expect(toolbarButton(w, 'Pause').attributes('disabled')).toBeUndefined();
  });

  it('starts the selected VM and opens its COM1 console in a tab', async () => {
    const w = await mountManager();
    await toolbarButton(w, 'Start').trigger('click');
    await settle();
    expect(host.api.startVm).toHaveBeenCalledWith(makeConfig().id);
    const tabs = w.findAll('[role="tab"]').map((t) => t.text());
    expect(tabs).toEqual(['Details', 'Alpha · COM1']);
    expect(w.find('.console-stub').text()).toBe(`${makeConfig().id}:0`);
  });

  it('lists the VirtIO console ports beside the serial ports and opens one in its own tab', async () => {
    host.vms[0] = makeVm(makeConfig({ name: 'Alpha', virtioConsoles: 2 }), 'running');
    const w = await mountManager();
    expect(w.find('#details-serial').text()).toBe('Serial ports and VirtIO consoles');
    const open = w.findAll('button').filter((b) => /^Open (COM\d|hvc\d) console$/.test(b.attributes('aria-label') ?? '')).map((b) => b.attributes('aria-label'));
    expect(open).toEqual(['Open COM1 console', 'Open hvc0 console', 'Open hvc1 console']);
    await w.find('[aria-label="Open hvc1 console"]').trigger('click');
    await settle();
    expect(w.findAll('[role="tab"]').map((t) => t.text())).toEqual(['Details', 'Alpha · hvc1']);
    expect(w.find('.console-stub').text()).toBe(`${makeConfig().id}:hvc1`);
  });

  it('shows the host’s refusal of an action in an alert', async () => {
    host.api.startVm.mockRejectedValueOnce(new Error('Kernel not found: /x'));
    const w = await mountManager();
    await toolbarButton(w, 'Start').trigger('click');
    await settle();
    expect(w.find('[role="alert"]').text()).toBe('Kernel not found: /x');
    expect(w.findAll('[role="tab"]').length).toBe(1);
  });

  it('removes a VM only after confirmation', async () => {
    const w = await mountManager();
    await toolbarButton(w, 'Remove').trigger('click');
    await settle();
    const dialog = w.find('[role="dialog"]');
    expect(dialog.find('h2').text()).toBe('Remove Alpha?');
    expect(host.api.removeVm).not.toHaveBeenCalled();
    await dialog.find('form').trigger('submit');
    await settle();
    expect(host.api.removeVm).toHaveBeenCalledWith(makeConfig().id);
    expect(w.findAll('[role="option"]').map((r) => r.find('.vm-name').text())).toEqual(['Beta']);
  });

  it('shows live statistics of the selected running VM', async () => {
    const w = await mountManager();
    await w.findAll('[role="option"]')[1]!.trigger('click');
    host.emitStats({ vmId: BETA_ID, instructions: 123456789, mips: 42.25, interrupts: 1500, exceptions: 7, guestNs: 65_000_000_000, sampledAt: 1 });
    await settle();
    expect(w.find('[data-stat="instructions"]').text()).toBe('123,456,789');
    expect(w.find('[data-stat="mips"]').text()).toBe('42.3 MIPS');
    expect(w.find('[data-stat="interrupts"]').text()).toBe('1,500');
    expect(w.find('[data-stat="uptime"]').text()).toBe('1:05.0');
  });

  it('shows the acceleration mode the VM runs in, and says when this build cannot start it', async () => {
    const w = await mountManager();
    const acceleration = () => {
      const dt = w.findAll('.details dt').find((d) => d.text() === 'Acceleration')!;
      return (dt.element.nextElementSibling as HTMLElement).textContent;
    };
    expect(acceleration()).toBe('None (emulated PC)');
    const detailFor = async (config: Parameters<typeof makeConfig>[0]) => {
      host.vms = [makeVm(makeConfig(config))];
      wrapper!.unmount();
      const again = await mountManager();
      const dt = again.findAll('.details dt').find((d) => d.text() === 'Acceleration')!;
      return (dt.element.nextElementSibling as HTMLElement).textContent;
    };
    expect(await detailFor({ acceleration: 'vtx' })).toBe('Intel VT-x (nested paging on)');
    expect(await detailFor({ acceleration: 'vtx', nestedPaging: false })).toBe('Intel VT-x (nested paging off)');
    expect(await detailFor({ acceleration: 'svm', nestedPaging: false, boot: { kind: 'rom', rom: '/fw.bin' } })).toBe(
      'AMD-V (SVM) (nested paging off): cannot start, without nested paging the hypervisor runs only a kernel (Linux boot): firmware starts in real mode, which needs nested paging',
    );
    await withUnbuiltBt(async () => {
      expect(await detailFor({ acceleration: 'bt' })).toBe('Binary translation: cannot start, not yet built: (marked unbuilt by this test)');
    });
  });

  it('shows the Hypervisor panel for a VM the hypervisor runs: totals, and the chart once two samples give a rate', async () => {
    const w = await mountManager();
    await w.findAll('[role="option"]')[1]!.trigger('click');
    const sample = (at: number, io: number, hlt: number) => ({
      vmId: BETA_ID, instructions: 1, mips: 1, interrupts: 1, exceptions: 0, guestNs: 1, sampledAt: at,
      hypervisor: { exitsByReason: { IO_INSTRUCTION: io, HLT: hlt }, entries: io + hlt, injectedInterrupts: 7, eptViolations: 0, guestMs: 300, hypervisorMs: 100 },
    });
    host.emitStats({ vmId: BETA_ID, instructions: 1, mips: 1, interrupts: 1, exceptions: 0, guestNs: 1, sampledAt: 500 });
    await settle();
    expect(w.find('#details-hypervisor').exists()).toBe(false); // no hypervisor counters: the bare PC
    host.emitStats(sample(1000, 100, 10));
    await settle();
    expect(w.find('#details-hypervisor').text()).toBe('Hypervisor (VT-x)');
    expect(w.find('.hv .waiting').exists()).toBe(true);
    expect(w.find('[data-exit="IO_INSTRUCTION"]').text()).toBe('100');
    expect(w.find('[data-hv="entries"]').text()).toBe('110');
    expect(w.find('[data-hv="injected"]').text()).toBe('7');
    expect(w.find('[data-hv="guest-share"]').text()).toBe('75.0 %');
    host.emitStats(sample(1500, 400, 20));
    await settle();
    expect(w.find('.chart-stub').text()).toBe('1');
    expect(w.find('[data-exit="IO_INSTRUCTION"]').text()).toBe('400');
  });

  it('moves the selection with the arrow keys', async () => {
    const w = await mountManager();
    await w.find('[role="listbox"]').trigger('keydown', { key: 'ArrowDown' });
    expect(w.findAll('[role="option"]')[1]!.attributes('aria-selected')).toBe('true');
    expect(w.find('#details-general').exists()).toBe(true);
    expect(w.find('.details dd').text()).toBe('Beta');
  });
});
