/**
 * The counters of an SVM vCPU: exits by EXITCODE (#NPF's 400h included),
 * named with the APM's names, beside VT-x's numbering in the same module.
 */
import { describe, expect, it } from 'vitest';
import * as B from '../../core/cpu/svm/vmcb.ts';
import { HypervisorCounters } from '../../core/hypervisor/counters.ts';
import { exitName } from '../../core/hypervisor/exitNames.ts';

describe('hypervisor counters for SVM', () => {
  it('count exits by EXITCODE, #NPF included, and say so to a reader of the same buffer', () => {
    const c = new HypervisorCounters();
    c.setVendor('svm');
    const reader = new HypervisorCounters(c.buffer);
    for (const code of [B.VMEXIT_IOIO, B.VMEXIT_IOIO, B.VMEXIT_HLT, B.VMEXIT_INTR, B.VMEXIT_NPF, B.VMEXIT_EXCP_BASE + 14]) c.exit(code);
    c.exit(0x500); // no such EXITCODE: not counted
    const s = reader.snapshot();
    expect(s.vendor).toBe('svm');
    expect(s.exitsByReason.length).toBe(B.VMEXIT_NPF + 1);
    const counted = Object.fromEntries(s.exitsByReason.flatMap((n, code) => (n > 0 ? [[exitName(s.vendor, code), n]] : [])));
    expect(counted).toEqual({ IOIO: 2, HLT: 1, INTR: 1, NPF: 1, EXCP14: 1 });
    expect(reader.totalExits()).toBe(6);
    expect(reader.exitsFor(B.VMEXIT_NPF)).toBe(1);
    c.reset();
    expect(reader.totalExits()).toBe(0);
    expect(reader.snapshot().vendor).toBe('svm');
  });

  it('name every intercept the hypervisor sets with the APM name', () => {
    const names = [B.VMEXIT_CR0_WRITE + 3, B.VMEXIT_DR0_READ + 7, B.VMEXIT_VINTR, B.VMEXIT_CPUID, B.VMEXIT_MSR, B.VMEXIT_SHUTDOWN, B.VMEXIT_VMRUN, B.VMEXIT_VMMCALL, B.VMEXIT_INVLPG]
      .map((code) => exitName('svm', code));
    expect(names).toEqual(['CR3_WRITE', 'DR7_READ', 'VINTR', 'CPUID', 'MSR', 'SHUTDOWN', 'VMRUN', 'VMMCALL', 'INVLPG']);
    expect(exitName('svm', 0x8f)).toBe('EXITCODE 0x8f');
    expect(exitName('vmx', 30)).toBe('IO_INSTRUCTION');
    expect(new HypervisorCounters().snapshot().vendor).toBe('vmx');
  });
});
