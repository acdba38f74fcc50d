/**
 * MachineOptions.jit reaches the processor on both processor sides of the
 * board: the bare emulated PC and the hypervisor's (VT-x and AMD-V), where
 * the compiled code runs the guest in VMX non-root operation / SVM guest
 * mode (vmxNonRoot.test.ts, ../svm/jit.test.ts show it is exact there).
 */
import { describe, expect, it } from 'vitest';
import { BareProcessor } from '../../../core/machine/bareProcessor.ts';
import { HypervisorProcessor } from '../../../core/machine/hypervisorProcessor.ts';
import type { MachineOptions } from '../../../core/machine/types.ts';
import { JIT_DEFAULTS } from '../../../core/cpu/jit/jit.ts';

const BASE: MachineOptions = { memoryMiB: 16, clock: 'deterministic' };

describe('MachineOptions.jit', () => {
  it.each([
    ['none', (o: MachineOptions) => new BareProcessor(o)],
    ['vtx', (o: MachineOptions) => new HypervisorProcessor({ ...o, acceleration: 'vtx' })],
    ['svm', (o: MachineOptions) => new HypervisorProcessor({ ...o, acceleration: 'svm' })],
  ] as const)('turns the block compiler on and off (%s)', (_name, make) => {
    expect(make({ ...BASE, jit: true }).cpu.jit.enabled).toBe(true);
    expect(make({ ...BASE, jit: false }).cpu.jit.enabled).toBe(false);
    expect(make(BASE).cpu.jit.enabled).toBe(JIT_DEFAULTS.enabled);
  });
});
