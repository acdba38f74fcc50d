/**
 * The VM state machine (VirtualBox's states). Pure: it decides which
 * transitions are legal and records the current status; the host service
 * (core/host/hostService.ts) performs the side effects.
 *
 * Actions come from the user (start, pause, resume, reset, powerOff,
 * acpiShutdown) and from the running machine (started, guestPoweredOff,
 * abort). `saved` is reserved for save-state: no action leads into or out of
 * it yet.
 */
import { HostError, type VmState, type VmStatus } from './api.ts';

export type LifecycleAction =
  | 'start' // user: power on
  | 'started' // machine: worker is up and running the guest
  | 'pause'
  | 'resume'
  | 'reset' // hard reset; the VM keeps running
  | 'powerOff' // user: pull the plug
  | 'acpiShutdown' // user: press the power button (no state change; the guest decides)
  | 'guestPoweredOff' // machine: the guest powered itself off
  | 'abort'; // machine: triple fault, emulator error, worker died

/** For each action, the states it may be taken from and the state it leads to. */
const TRANSITIONS: Record<LifecycleAction, { from: readonly VmState[]; to: VmState | 'same' }> = {
  start: { from: ['poweredOff', 'aborted'], to: 'starting' },
  started: { from: ['starting'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  reset: { from: ['running', 'paused'], to: 'running' },
  powerOff: { from: ['starting', 'running', 'paused'], to: 'poweredOff' },
  acpiShutdown: { from: ['running'], to: 'same' },
  guestPoweredOff: { from: ['running', 'paused'], to: 'poweredOff' },
  abort: { from: ['starting', 'running', 'paused'], to: 'aborted' },
};

export const ALL_STATES: readonly VmState[] = ['poweredOff', 'starting', 'running', 'paused', 'saved', 'aborted'];
export const ALL_ACTIONS = Object.keys(TRANSITIONS) as LifecycleAction[];

const STATE_WORDS: Record<VmState, string> = {
  poweredOff: 'powered off',
  starting: 'starting',
  running: 'running',
  paused: 'paused',
  saved: 'saved',
  aborted: 'aborted',
};

/** True when `action` may be taken in `state`. */
export function isAllowed(state: VmState, action: LifecycleAction): boolean {
  return TRANSITIONS[action].from.includes(state);
}

/** The state after `action`; throws ILLEGAL_TRANSITION (with a message for the user) when not allowed. */
export function nextState(state: VmState, action: LifecycleAction, vmName = 'the VM'): VmState {
  const t = TRANSITIONS[action];
  if (!t.from.includes(state)) {
    const allowed = t.from.map((s) => STATE_WORDS[s]).join(' or ');
    throw new HostError(
      'ILLEGAL_TRANSITION',
      `Cannot ${action} ${vmName}: it is ${STATE_WORDS[state]} (${action} needs it ${allowed || 'in no state yet'})`,
    );
  }
  return t.to === 'same' ? state : t.to;
}

/** One VM's current status, changed only through legal transitions. */
export class VmLifecycle {
  private current: VmStatus;
  private readonly onChange: (status: VmStatus) => void;
  private readonly vmName: () => string;

  constructor(onChange: (status: VmStatus) => void, vmName: () => string = () => 'the VM', initial: VmState = 'poweredOff') {
    this.current = { state: initial, since: Date.now() };
    this.onChange = onChange;
    this.vmName = vmName;
  }

  get status(): VmStatus {
    return this.current;
  }

  get state(): VmState {
    return this.current.state;
  }

  /** Throws ILLEGAL_TRANSITION without changing anything when `action` is not allowed now. */
  check(action: LifecycleAction): void {
    nextState(this.current.state, action, this.vmName());
  }

  /** Applies `action`; `reason` is recorded for 'abort'. Notifies only when the status changed. */
  apply(action: LifecycleAction, reason?: string): VmStatus {
    const to = nextState(this.current.state, action, this.vmName());
    if (to === this.current.state && action !== 'reset') return this.current;
    this.current = to === 'aborted' ? { state: to, reason: reason ?? 'unknown error', since: Date.now() } : { state: to, since: Date.now() };
    this.onChange(this.current);
    return this.current;
  }
}
