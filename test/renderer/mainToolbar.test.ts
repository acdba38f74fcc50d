// @vitest-environment happy-dom
/**
 * The toolbar offers each action only in the VM states where the host's
 * lifecycle allows it.
 */
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { VmEntry, VmState } from '../../core/host/api.ts';
import MainToolbar from '../../renderer/src/components/MainToolbar.vue';
import { makeConfig, makeVm } from './fakeHost.ts';

function enabledLabels(vm: VmEntry | null, busy = false): string[] {
  const wrapper = mount(MainToolbar, { props: { vm, busy } });
  const labels = wrapper
    .findAll('button')
    .filter((b) => b.attributes('disabled') === undefined)
    .map((b) => b.text());
  wrapper.unmount();
  return labels;
}

describe('MainToolbar enablement', () => {
  const cases: [VmState, string[]][] = [
    ['poweredOff', ['New', 'Settings', 'Start', 'Console', 'Remove']],
    ['starting', ['New', 'Settings', 'Power off', 'Console']],
    ['running', ['New', 'Settings', 'Pause', 'Reset', 'Shut down', 'Power off', 'Console']],
    ['paused', ['New', 'Settings', 'Resume', 'Reset', 'Power off', 'Console']],
    ['saved', ['New', 'Settings', 'Console']],
    ['aborted', ['New', 'Settings', 'Start', 'Console', 'Remove']],
  ];
  for (const [state, expected] of cases) {
    it(`enables exactly ${expected.join(', ')} when the VM is ${state}`, () => {
      expect(enabledLabels(makeVm(makeConfig(), state))).toEqual(expected);
    });
  }

  it('shows Resume instead of Pause for a paused VM', () => {
    const wrapper = mount(MainToolbar, { props: { vm: makeVm(makeConfig(), 'paused') } });
    const labels = wrapper.findAll('button').map((b) => b.text());
    expect(labels).toContain('Resume');
    expect(labels).not.toContain('Pause');
  });

  it('enables only New when nothing is selected', () => {
    expect(enabledLabels(null)).toEqual(['New']);
  });

  it('enables only New and Remove for an inaccessible VM', () => {
    const vm: VmEntry = { accessible: false, id: 'broken', folder: '/lib/broken', problem: 'vm.json is not valid JSON', status: { state: 'poweredOff', since: 0 } };
    expect(enabledLabels(vm)).toEqual(['New', 'Remove']);
  });

  it('holds lifecycle actions while a request for the VM is in flight', () => {
    expect(enabledLabels(makeVm(makeConfig(), 'running'), true)).toEqual(['New', 'Settings', 'Console']);
  });

  it('emits the command of the clicked button', async () => {
    const wrapper = mount(MainToolbar, { props: { vm: makeVm(makeConfig(), 'running') } });
    await wrapper.find('button[data-command="pause"]').trigger('click');
    await wrapper.find('button[data-command="powerOff"]').trigger('click');
    expect(wrapper.emitted('command')).toEqual([['pause'], ['powerOff']]);
  });
});
