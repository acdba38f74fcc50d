/**
 * What a callout site in the translation cache stands for. The translated
 * code reaches the monitor with `INT calloutVector`; the site table says
 * which of these the INT at that address is.
 */
export const CALLOUT_KINDS = [
  // Sensitive instructions that would run silently wrong at CPL 1: emulated against the vCPU, then the block goes on.
  'pushf', 'popf', 'cli', 'sti', 'sgdt', 'sidt', 'sldt', 'str', 'smsw', 'lar', 'lsl', 'verr', 'verw',
  'movFromCs', 'movFromSs', 'pushCs', 'pushSs',
  // Control transfers whose target only the guest's state knows: emulated, then dispatched to the target's translation.
  'ret', 'indirectJmp', 'indirectCall', 'near16',
  // Privilege-changing transfers: handed to the monitor (shadow descriptors, the guest's IDT), then dispatched.
  'farJmp', 'farCall', 'farRet', 'iret', 'intN', 'int3', 'into', 'int1',
  // An exit stub: the target is not translated (or not chained) yet.
  'exit',
  // Resuming after the code under the translation was written (self-modifying code).
  'redispatch',
] as const;

export type CalloutKind = (typeof CALLOUT_KINDS)[number];

/** Kinds whose emulation leaves EIP at the next guest instruction, so the translated block simply continues. */
export const INLINE_KINDS: ReadonlySet<CalloutKind> = new Set<CalloutKind>([
  'pushf', 'popf', 'cli', 'sti', 'sgdt', 'sidt', 'sldt', 'str', 'smsw', 'lar', 'lsl', 'verr', 'verw',
  'movFromCs', 'movFromSs', 'pushCs', 'pushSs',
]);

/** Kinds the monitor emulates (they change CS, privilege or go through the guest's IDT). */
export const MONITOR_KINDS: ReadonlySet<CalloutKind> = new Set<CalloutKind>([
  'farJmp', 'farCall', 'farRet', 'iret', 'intN', 'int3', 'into', 'int1',
]);
