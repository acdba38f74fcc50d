/**
 * How a failed VMX instruction reads in an error report: VMfailInvalid, or
 * VMfailValid with the VM-instruction error number and its SDM meaning.
 */
import type { VmxResult } from '../../cpu/vmx/rootOps.ts';

const ERRORS: Record<number, string> = {
  1: 'VMCALL executed in VMX root operation',
  2: 'VMCLEAR with invalid physical address',
  3: 'VMCLEAR with VMXON pointer',
  4: 'VMLAUNCH with non-clear VMCS',
  5: 'VMRESUME with non-launched VMCS',
  6: 'VMRESUME after VMXOFF',
  7: 'VM entry with invalid control field(s)',
  8: 'VM entry with invalid host-state field(s)',
  9: 'VMPTRLD with invalid physical address',
  10: 'VMPTRLD with VMXON pointer',
  11: 'VMPTRLD with incorrect VMCS revision identifier',
  12: 'VMREAD/VMWRITE from/to unsupported VMCS component',
  13: 'VMWRITE to read-only VMCS component',
  15: 'VMXON executed in VMX root operation',
  26: 'VM entry with events blocked by MOV SS',
  28: 'invalid operand to INVEPT/INVVPID',
};

export function vmxFailure(r: VmxResult): string {
  if (r.ok) return 'succeeded';
  if (r.kind === 'failInvalid') return 'VMfailInvalid (no current VMCS)';
  return `VMfailValid, VM-instruction error ${r.error} (${ERRORS[r.error] ?? 'unknown'})`;
}
