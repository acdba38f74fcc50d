/**
 * Turning what an operation raised (`acc`) into status-word changes, with
 * the x87 rule that an unmasked invalid-operation, denormal or zero-divide
 * exception leaves the destination (and the stack) untouched.
 */
import type { Fpu } from './fpu.ts';
import { SW_C1, SW_DE, SW_IE, SW_OE, SW_UE, SW_ZE } from './fpu.ts';
import { acc } from './numeric.ts';

const PRE = SW_IE | SW_DE | SW_ZE;

/** For register results: false when the result must not be written. */
export function settle(f: Fpu): boolean {
  const fl = acc.flags;
  if ((fl & PRE & ~f.control) !== 0) {
    f.clearC1();
    f.signal(fl & PRE);
    return false;
  }
  f.status = (f.status & ~SW_C1) | (acc.roundedUp ? SW_C1 : 0);
  if (fl !== 0) f.signal(fl);
  return true;
}

/** For memory stores: unmasked overflow and underflow also suppress the store. */
export function settleStore(f: Fpu): boolean {
  const fl = acc.flags;
  if ((fl & (PRE | SW_OE | SW_UE) & ~f.control) !== 0) {
    f.clearC1();
    f.signal(fl & (PRE | SW_OE | SW_UE));
    return false;
  }
  f.status = (f.status & ~SW_C1) | (acc.roundedUp ? SW_C1 : 0);
  if (fl !== 0) f.signal(fl);
  return true;
}
