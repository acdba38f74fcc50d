/**
 * Which toolbar action is legal in which VM state. Mirrors the host's
 * lifecycle (core/host/api.ts, VmState): the UI only offers what the host
 * would accept, and the host still has the last word.
 */
import type { VmEntry, VmState } from '../../../core/host/api.ts';

export type VmAction = 'settings' | 'start' | 'pause' | 'resume' | 'reset' | 'powerOff' | 'acpiShutdown' | 'remove' | 'console';

const LEGAL: Record<VmAction, readonly VmState[]> = {
  // The dialog opens in every state; while the VM runs it only edits name and description.
  settings: ['poweredOff', 'starting', 'running', 'paused', 'saved', 'aborted'],
  start: ['poweredOff', 'aborted'],
  pause: ['running'],
  resume: ['paused'],
  reset: ['running', 'paused'],
  powerOff: ['starting', 'running', 'paused'],
  acpiShutdown: ['running'],
  remove: ['poweredOff', 'aborted'],
  // A console can be opened any time: it replays the last run's output and stays attached for the next.
  console: ['poweredOff', 'starting', 'running', 'paused', 'saved', 'aborted'],
};

/** Whether `action` may be applied to `vm` (null = nothing selected). */
export function isActionEnabled(action: VmAction, vm: VmEntry | null): boolean {
  if (!vm) return false;
  // A VM whose config cannot be read can only be removed.
  if (!vm.accessible) return action === 'remove';
  return LEGAL[action].includes(vm.status.state);
}

/** States in which boot-affecting settings (everything but name and description) may change. */
export function canEditHardware(state: VmState): boolean {
  return state === 'poweredOff' || state === 'aborted';
}

export const STATE_LABELS: Record<VmState, string> = {
  poweredOff: 'Powered Off',
  starting: 'Starting',
  running: 'Running',
  paused: 'Paused',
  saved: 'Saved',
  aborted: 'Aborted',
};
