/**
 * Runs an SVM test ROM on the AMD part: a small hypervisor in SVM host mode
 * built on svm.inc (which builds on pmode.inc). The VMCB offsets, intercept
 * bits and exit codes of core/cpu/svm/vmcb.ts are defined for the assembler
 * under their APM names, so the ROMs and the implementation share one table.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASM_DIR, assemble, runRom, type RomRun, type RomRunOptions } from '../harness.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';
import { AMD_SVM_MODEL } from '../../../core/cpu/processorModel.ts';

export const SVM_DIR = new URL('./', import.meta.url).pathname;

const includeHash = createHash('sha256')
  .update(readFileSync(join(ASM_DIR, 'pmode.inc')))
  .update(readFileSync(join(SVM_DIR, 'svm.inc')))
  .digest('hex').slice(0, 16);

const equates = Object.entries(B)
  .filter((e): e is [string, number] => typeof e[1] === 'number')
  .map(([name, value]) => `${name} equ 0x${(value >>> 0).toString(16)}`)
  .join('\n');

/** Assembles `body` (32-bit host code starting at `svm_main`) inside the svm.inc frame and runs it on the AMD part. */
export function runSvm(body: string, opts?: RomRunOptions): RomRun {
  const source = `; pmode.inc + svm.inc ${includeHash}
%include "rom.inc"
%include "pmode.inc"
        bits 32
${equates}
%include "svm.inc"
${body}
        bits 16
        ROM_END
`;
  const run = runRom(assemble(source, [ASM_DIR, SVM_DIR]), { maxInstructions: 2_000_000, cpuModel: AMD_SVM_MODEL, ...opts });
  // POPEK_DUMP_ROMS=<dir>: keep the source and our reports for test/cpu/svm/bochsCheck.ts.
  const dump = process.env.POPEK_DUMP_ROMS;
  if (dump) {
    const name = `svm-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`;
    writeFileSync(join(dump, `${name}.asm`), source);
    writeFileSync(join(dump, `${name}.json`), JSON.stringify(run.values));
  }
  return run;
}

export const hex = (values: number[]): string[] => values.map((v) => '0x' + (v >>> 0).toString(16));

/** One #VMEXIT as exit_loop of svm.inc reports it. */
export interface ExitRecord {
  code: number;
  info1: number;
  info2: number;
  rip: number;
  nrip: number;
}

/** Splits exit_loop's values into records (5 values each). */
export function exitRecords(values: number[]): ExitRecord[] {
  const out: ExitRecord[] = [];
  for (let k = 0; k + 5 <= values.length; k += 5) {
    const [code, info1, info2, rip, nrip] = values.slice(k, k + 5);
    out.push({ code, info1, info2, rip, nrip });
  }
  return out;
}
