/**
 * Runs a VMX test ROM: a small hypervisor in VMX root operation built on
 * vmx.inc (which builds on pmode.inc). The VMCS field encodings, exit
 * reasons and control bits of core/cpu/vmx/vmcsFields.ts are defined for
 * the assembler under their SDM names, so the ROMs and the implementation
 * share one table.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASM_DIR, assemble, runRom, type RomRun, type RomRunOptions } from '../harness.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';

export const VMX_DIR = new URL('./', import.meta.url).pathname;

const includeHash = createHash('sha256')
  .update(readFileSync(join(ASM_DIR, 'pmode.inc')))
  .update(readFileSync(join(VMX_DIR, 'vmx.inc')))
  .digest('hex').slice(0, 16);

const equates = Object.entries(F)
  .filter((e): e is [string, number] => typeof e[1] === 'number')
  .map(([name, value]) => `${name} equ 0x${(value >>> 0).toString(16)}`)
  .join('\n');

/** Assembles `body` (32-bit host code starting at `vmx_main`) inside the vmx.inc frame and runs it. */
export function runVmx(body: string, opts?: RomRunOptions): RomRun {
  const source = `; pmode.inc + vmx.inc ${includeHash}
%include "rom.inc"
%include "pmode.inc"
        bits 32
${equates}
%include "vmx.inc"
${body}
        bits 16
        ROM_END
`;
  return runRom(assemble(source, [ASM_DIR, VMX_DIR]), { maxInstructions: 2_000_000, ...opts });
}

export const hex = (values: number[]): string[] => values.map((v) => '0x' + (v >>> 0).toString(16));
