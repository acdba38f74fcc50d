/**
 * An instruction's form as the measurement scripts count it: opcode (with
 * the ModRM reg for the group opcodes), register or memory operand, operand
 * size and prefixes, e.g. `c1/5 SHR reg o16`.
 */
import type { Insn } from '../../../../core/cpu/insn.ts';
import { oneByteMap, twoByteMap } from '../../../../core/cpu/opcodeTable.ts';

/** Opcodes whose ModRM reg field selects the operation (two-byte ones as 0x1nn). */
const GROUP_OPCODES = [0x80, 0x81, 0x83, 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff, 0x100, 0x101, 0x1ba];

export function formOf(i: Insn): string {
  const def = i.opcode < 0x100 ? oneByteMap[i.opcode] : twoByteMap[i.opcode & 0xff];
  const group = GROUP_OPCODES.includes(i.opcode);
  const parts = [`${i.opcode.toString(16).padStart(2, '0')}${group ? `/${i.reg}` : ''} ${def?.name ?? '?'}`];
  if (def?.modrm) parts.push(i.mod === 3 ? 'reg' : 'mem');
  parts.push(i.o32 ? 'o32' : 'o16');
  if (!i.a32) parts.push('a16');
  if (i.rep) parts.push('rep');
  if (i.lock) parts.push('lock');
  return parts.join(' ');
}
