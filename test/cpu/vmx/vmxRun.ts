/**
 * Runs a VMX test ROM: a small hypervisor in VMX root operation built on
 * vmx.inc (which builds on pmode.inc). The VMCS field encodings, exit
 * reasons and control bits of core/cpu/vmx/vmcsFields.ts are defined for
 * the assembler under their SDM names, so the ROMs and the implementation
 * share one table.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  const run = runRom(assemble(source, [ASM_DIR, VMX_DIR]), { maxInstructions: 2_000_000, ...opts });
  // POPEK_DUMP_ROMS=<dir>: keep the source and our reported values for bochsCheck.ts (the Bochs oracle).
  const dump = process.env.POPEK_DUMP_ROMS;
  if (dump) {
    mkdirSync(dump, { recursive: true });
    const name = 'vmx-' + createHash('sha256').update(source).digest('hex').slice(0, 12);
    writeFileSync(join(dump, name + '.asm'), source);
    writeFileSync(join(dump, name + '.json'), JSON.stringify(run.values));
  }
  return run;
}

export const hex = (values: number[]): string[] => values.map((v) => '0x' + (v >>> 0).toString(16));
