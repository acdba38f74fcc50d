/**
 * Protected-mode and V86 interrupt delivery through IDT gates.
 * (Being written by the protected-mode engineer.)
 */
import type { Cpu } from '../cpu.ts';

export function deliverProtected(cpu: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  void kind; void errorCode; void hasErrorCode;
  throw new Error(`protected-mode interrupt delivery not implemented yet (vector ${vector})`);
}
