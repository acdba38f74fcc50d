import { describe, expect, it } from 'vitest';
import type { VmState, VmStatus } from '../../core/host/api.ts';
import { ALL_ACTIONS, ALL_STATES, isAllowed, nextState, VmLifecycle, type LifecycleAction } from '../../core/host/lifecycle.ts';

/** The legal transitions, written out independently of the implementation's table. */
const LEGAL: Record<string, VmState> = {
  'poweredOff:start': 'starting',
  'aborted:start': 'starting',
  'starting:started': 'running',
  'running:pause': 'paused',
  'paused:resume': 'running',
  'running:reset': 'running',
  'paused:reset': 'running',
  'starting:powerOff': 'poweredOff',
  'running:powerOff': 'poweredOff',
  'paused:powerOff': 'poweredOff',
  'running:acpiShutdown': 'running',
  'running:guestPoweredOff': 'poweredOff',
  'paused:guestPoweredOff': 'poweredOff',
  'starting:abort': 'aborted',
  'running:abort': 'aborted',
  'paused:abort': 'aborted',
};

describe('VM lifecycle', () => {
  it('knows 6 states and 9 actions', () => {
    expect(ALL_STATES).toEqual(['poweredOff', 'starting', 'running', 'paused', 'saved', 'aborted']);
    expect([...ALL_ACTIONS].sort()).toEqual(
      ['abort', 'acpiShutdown', 'guestPoweredOff', 'pause', 'powerOff', 'reset', 'resume', 'start', 'started'].sort(),
    );
  });

  for (const state of ALL_STATES) {
    for (const action of ALL_ACTIONS) {
      const key = `${state}:${action}`;
      if (key in LEGAL) {
        it(`${state} --${action}--> ${LEGAL[key]}`, () => {
          expect(isAllowed(state, action)).toBe(true);
          expect(nextState(state, action)).toBe(LEGAL[key]);
        });
      } else {
        it(`refuses ${action} while ${state}`, () => {
          expect(isAllowed(state, action)).toBe(false);
          expect(() => nextState(state, action, 'VM "x"')).toThrow(expect.objectContaining({ code: 'ILLEGAL_TRANSITION' }));
        });
      }
    }
  }

  it('explains a refused transition', () => {
    expect(() => nextState('poweredOff', 'pause', 'VM "demo"')).toThrow('Cannot pause VM "demo": it is powered off (pause needs it running)');
    expect(() => nextState('saved', 'start', 'VM "demo"')).toThrow(
      'Cannot start VM "demo": it is saved (start needs it powered off or aborted)',
    );
  });

  it('records the abort reason and notifies each change once', () => {
    const seen: VmStatus[] = [];
    const vm = new VmLifecycle((s) => seen.push(s));
    vm.apply('start');
    vm.apply('started');
    vm.apply('acpiShutdown'); // no change, no event
    vm.apply('abort', 'triple fault at 0008:00001234');
    expect(seen.map((s) => s.state)).toEqual(['starting', 'running', 'aborted']);
    expect(vm.status.reason).toBe('triple fault at 0008:00001234');
  });

  it('leaves the state unchanged when an action is refused', () => {
    const vm = new VmLifecycle(() => {});
    const actions: LifecycleAction[] = ['pause', 'resume', 'reset', 'powerOff', 'acpiShutdown', 'started', 'guestPoweredOff', 'abort'];
    for (const a of actions) expect(() => vm.apply(a)).toThrow(/^Cannot /);
    expect(vm.state).toBe('poweredOff');
  });
});
