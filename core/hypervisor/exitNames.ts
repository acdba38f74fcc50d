/**
 * The name of a counted exit, by the vendor whose numbering the counters use
 * (counters.ts): the SDM's basic exit reason names for VT-x, the APM's
 * EXITCODE names for SVM. One entry point for `--stats` and the app.
 */
import type { ExitVendor } from './counters.ts';
import { exitCodeName } from './svm/exitCodeNames.ts';
import { exitReasonName } from './vmx/exitReasonNames.ts';

export function exitName(vendor: ExitVendor, exit: number): string {
  return vendor === 'svm' ? exitCodeName(exit) : exitReasonName(exit);
}
