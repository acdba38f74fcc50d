/**
 * A compact Intel-syntax rendering of one decoded instruction, for the
 * translation-cache inspection. It reads the processor's own decoder output
 * (`Insn`) and the operand template of the opcode-table entry ("mov Ev,Gv",
 * "jcc Jb", "grp7"), so it names exactly what the decoder decoded; forms it
 * has no rendering for show the table's name as is (never a wrong guess).
 */
import { decodeInstruction } from '../../../cpu/decoder.ts';
import type { Insn } from '../../../cpu/insn.ts';
import { oneByteMap, threeByte38Map, twoByteMap } from '../../../cpu/opcodeTable.ts';

const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?', '?'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const GROUPS: Record<string, string[]> = {
  grp1: ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'],
  grp2: ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'],
  grp3: ['test', 'test', 'not', 'neg', 'mul', 'imul', 'div', 'idiv'],
  grp4: ['inc', 'dec', '?', '?', '?', '?', '?', '?'],
  grp5: ['inc', 'dec', 'call', 'call far', 'jmp', 'jmp far', 'push', '?'],
  grp6: ['sldt', 'str', 'lldt', 'ltr', 'verr', 'verw', '?', '?'],
  grp7: ['sgdt', 'sidt', 'lgdt', 'lidt', 'smsw', '?', 'lmsw', 'invlpg'],
  grp8: ['?', '?', '?', '?', 'bt', 'bts', 'btr', 'btc'],
  grp9: ['?', 'cmpxchg8b', '?', '?', '?', '?', '?', '?'],
};

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

function memory(i: Insn, size: string): string {
  const parts: string[] = [];
  const regs = i.a32 ? R32 : R16;
  if (i.base >= 0) parts.push(regs[i.base]);
  if (i.index >= 0) parts.push(i.scale > 0 ? `${regs[i.index]}*${1 << i.scale}` : regs[i.index]);
  let text = parts.join('+');
  const disp = i.disp | 0;
  if (text === '') text = hex(i.a32 ? disp : disp & 0xffff);
  else if (disp !== 0) text += disp < 0 ? `-${hex(-disp)}` : `+${hex(disp)}`;
  const seg = i.segOverride ? `${SREG[i.seg]}:` : '';
  return `${size}${seg}[${text}]`;
}

function operand(i: Insn, token: string): string {
  const v = i.o32;
  const sizeName = (t: string): string => (t.endsWith('b') ? 'byte ' : t.endsWith('w') ? 'word ' : t.endsWith('d') ? 'dword ' : v ? 'dword ' : 'word ');
  switch (token) {
    case 'Eb': case 'Ew': case 'Ed': case 'Ev':
      if (i.mod === 3) return token === 'Eb' ? R8[i.rm] : token === 'Ew' ? R16[i.rm] : v || token === 'Ed' ? R32[i.rm] : R16[i.rm];
      return memory(i, sizeName(token));
    case 'M': case 'Ma': case 'Mp': case 'Ms': case 'Mq':
      return memory(i, '');
    case 'Gb': return R8[i.reg];
    case 'Gw': return R16[i.reg];
    case 'Gv': return v ? R32[i.reg] : R16[i.reg];
    case 'Rd': return R32[i.rm];
    case 'Cd': return `cr${i.reg}`;
    case 'Dd': return `dr${i.reg}`;
    case 'Sw': return SREG[i.reg];
    case 'r': return v ? R32[i.opcode & 7] : R16[i.opcode & 7];
    case 'r8': return R8[i.opcode & 7];
    case 'AL': return 'al';
    case 'eAX': return v ? 'eax' : 'ax';
    case 'DX': return 'dx';
    case 'Ib': case 'Iw': case 'Iv': return hex(i.imm);
    case 'Ibs': return hex(i.imm);
    case 'Jb': case 'Jv': return hex(i.imm);
    case 'Ob': return memory(i, 'byte ');
    case 'Ov': return memory(i, sizeName('v'));
    case 'Ap': return `${hex(i.imm2)}:${hex(i.imm)}`;
    default: return token;
  }
}

/** Intel-syntax text of a decoded instruction. */
export function formatInstruction(i: Insn): string {
  const op = i.opcode;
  const map = op >= 0x200 ? threeByte38Map : op >= 0x100 ? twoByteMap : oneByteMap;
  const def = map[op & 0xff];
  if (def === undefined) return '(bad)';
  const space = def.name.indexOf(' ');
  let mnemonic = space < 0 ? def.name : def.name.slice(0, space);
  const template = space < 0 ? '' : def.name.slice(space + 1).replace(' (alias)', '');
  const group = GROUPS[mnemonic];
  if (group !== undefined) mnemonic = group[i.reg];
  else if (mnemonic === 'jcc' || mnemonic === 'setcc' || mnemonic === 'cmovcc') mnemonic = mnemonic.slice(0, -2) + CC[op & 0xf];
  else if (mnemonic === 'jcxz') mnemonic = i.a32 ? 'jecxz' : 'jcxz';
  let tokens = template === '' ? [] : template.split(',');
  if (group !== undefined && tokens.length === 0) tokens = ['Ev'];
  if ((mnemonic === 'sgdt' || mnemonic === 'sidt' || mnemonic === 'lgdt' || mnemonic === 'lidt' || mnemonic === 'invlpg') && i.mod !== 3) tokens = ['M'];
  if (mnemonic === 'smsw' || mnemonic === 'lmsw' || mnemonic === 'sldt' || mnemonic === 'str' || mnemonic === 'lldt' || mnemonic === 'ltr' || mnemonic === 'verr' || mnemonic === 'verw') tokens = ['Ew'];
  const prefix = (i.rep === 1 ? 'rep ' : i.rep === 2 ? 'repne ' : '') + (i.lock ? 'lock ' : '');
  const text = tokens.map((t) => operand(i, t)).join(', ');
  return `${prefix}${mnemonic}${text === '' ? '' : ' ' + text}`;
}

/** Decodes and formats the 32-bit instruction in `bytes` at `offset` (address `eip`): its length and text. */
export function disassembleAt(bytes: ArrayLike<number>, offset: number, eip: number): { length: number; text: string } {
  const i = decodeInstruction((k) => {
    if (offset + k >= bytes.length) throw new RangeError('instruction runs past the bytes given');
    return bytes[offset + k];
  }, true, eip);
  return { length: i.len, text: formatInstruction(i) };
}
