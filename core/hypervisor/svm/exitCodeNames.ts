/**
 * The APM names of SVM's EXITCODEs (AMD64 APM Vol. 2, Appendix C), from the
 * VMEXIT_* constants of the processor's SVM without their prefix: what
 * reports, `--stats` and the app's Hypervisor panel call each exit. The
 * ranges the APM numbers by register or vector (CR0-15 reads and writes,
 * DR0-15, EXCP0-31) are named the APM's way too (CR0_WRITE, EXCP14).
 */
import * as B from '../../cpu/svm/vmcb.ts';

const RANGES: [base: number, name: (n: number) => string][] = [
  [B.VMEXIT_CR0_READ, (n) => `CR${n}_READ`],
  [B.VMEXIT_CR0_WRITE, (n) => `CR${n}_WRITE`],
  [B.VMEXIT_DR0_READ, (n) => `DR${n}_READ`],
  [B.VMEXIT_DR0_WRITE, (n) => `DR${n}_WRITE`],
];

export const EXIT_CODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries([
  ...RANGES.flatMap(([base, name]) => Array.from({ length: 16 }, (_, n) => [base + n, name(n)])),
  ...Array.from({ length: 32 }, (_, v) => [B.VMEXIT_EXCP_BASE + v, `EXCP${v}`]),
  ...Object.entries(B)
    .filter(([name, value]) => name.startsWith('VMEXIT_') && typeof value === 'number' && value >= 0x60)
    .map(([name, value]) => [value as number, name.slice('VMEXIT_'.length)]),
]);

export function exitCodeName(code: number): string {
  return EXIT_CODE_NAMES[code] ?? `EXITCODE 0x${code.toString(16)}`;
}
