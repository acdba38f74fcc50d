/**
 * What the translator does with one decoded guest-kernel instruction:
 * copy it (innocuous, or privileged: a privileged instruction traps at CPL 1
 * by itself and the monitor emulates it at the precise guest EIP the TC map
 * gives), rewrite its relative control flow, or replace it by a callout (the
 * sensitive-but-unprivileged ones, which would run silently wrong at CPL 1,
 * and every transfer whose target only the guest's state knows).
 */
import type { Insn } from '../../../cpu/insn.ts';
import type { CalloutKind } from './calloutKinds.ts';

export type Treatment =
  | { how: 'copy' }
  | { how: 'jcc' } // Jcc rel8/rel32: two exits
  | { how: 'jmp' } // JMP rel: one exit
  | { how: 'call' } // CALL rel32: PUSH guest return address, then one exit
  | { how: 'loop' } // LOOP/LOOPE/LOOPNE/JECXZ: rel8 only, kept with two exits behind it
  | { how: 'callout'; kind: CalloutKind };

const callout = (kind: CalloutKind): Treatment => ({ how: 'callout', kind });
const COPY: Treatment = { how: 'copy' };

export function classify(i: Insn): Treatment {
  const op = i.opcode;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) return { how: 'jcc' };
  switch (op) {
    case 0xeb: case 0xe9: return { how: 'jmp' };
    case 0xe8: return i.o32 ? { how: 'call' } : callout('near16');
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: return { how: 'loop' };
    case 0xc2: case 0xc3: return callout('ret');
    case 0xff:
      if (i.reg === 2) return callout('indirectCall');
      if (i.reg === 3) return callout('farCall');
      if (i.reg === 4) return callout('indirectJmp');
      if (i.reg === 5) return callout('farJmp');
      return COPY;
    case 0x9a: return callout('farCall');
    case 0xea: return callout('farJmp');
    case 0xca: case 0xcb: return callout('farRet');
    case 0xcf: return callout('iret');
    case 0xcd: return callout('intN');
    case 0xcc: return callout('int3');
    case 0xce: return callout('into');
    case 0xf1: return callout('int1');
    case 0x9c: return callout('pushf');
    case 0x9d: return callout('popf');
    case 0xfa: return callout('cli');
    case 0xfb: return callout('sti');
    case 0x0e: return callout('pushCs');
    case 0x16: return callout('pushSs');
    case 0x8c:
      if (i.reg === 1) return callout('movFromCs');
      if (i.reg === 2) return callout('movFromSs');
      return COPY;
    case 0x100: // group 6: SLDT, STR, VERR, VERW (LLDT/LTR are privileged: they trap)
      if (i.reg === 0) return callout('sldt');
      if (i.reg === 1) return callout('str');
      if (i.reg === 4) return callout('verr');
      if (i.reg === 5) return callout('verw');
      return COPY;
    case 0x101: // group 7: SGDT, SIDT, SMSW (LGDT/LIDT/LMSW/INVLPG are privileged: they trap)
      if (i.reg === 0 && i.mod !== 3) return callout('sgdt');
      if (i.reg === 1 && i.mod !== 3) return callout('sidt');
      if (i.reg === 4) return callout('smsw');
      return COPY;
    case 0x102: return callout('lar');
    case 0x103: return callout('lsl');
    default: return COPY;
  }
}
