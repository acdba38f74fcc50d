/**
 * The run loop executes the hot 32-bit forms inline (core/cpu/fastForms.ts)
 * instead of calling their handlers. These tests run one program over every
 * fast form twice: once as is, and once with an instruction breakpoint armed
 * at an address the program never reaches, which makes the CPU execute one
 * instruction at a time through the handlers. Both runs must record the same
 * values (results, the arithmetic flags, branch outcomes, stack contents).
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

const PAIRS: [number, number][] = [
  [0, 0], [1, 2], [0x7fffffff, 1], [0x80000000, 0x80000000], [0xffffffff, 1], [0x1234abcd, 0xfedc0081],
];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const CONDITIONS = ['jo', 'jno', 'jb', 'jae', 'je', 'jne', 'jbe', 'ja', 'js', 'jns', 'jp', 'jnp', 'jl', 'jge', 'jle', 'jg'];
const MACROS = `
%macro RD 1
        push eax
        mov eax, %1
        out 0xF0, eax
        pop eax
%endmacro
%macro FL 0
        push eax
        pushfd
        pop eax
        and eax, 0x8d5           ; OF SF ZF AF PF CF
        out 0xF0, eax
        pop eax
%endmacro
`;

/** One round over every fast form with EAX = a, EBX = b; labels are made unique by `n`. */
function round(n: number, a: number, b: number): string {
  const lines = [
    `        mov eax, 0x${a.toString(16)}`,
    `        mov ebx, 0x${b.toString(16)}`,
    '        mov edi, 0x20000',
    '        mov [edi], eax                  ; STORE32',
    '        mov [edi + 4], ebx',
    '        mov ecx, [edi + 4]              ; LOAD32',
    '        RD ecx',
    '        mov edx, eax                    ; MOV r/m32, r32 (89)',
    '        db 0x8b, 0xd3                   ; MOV edx, ebx (8B)',
    '        RD edx',
    '        mov esi, 0x89abcdef             ; MOV r32, imm32',
    '        RD esi',
    '        lea edx, [eax + ebx*4 + 0x1234] ; LEA',
    '        RD edx',
    '        mov edx, eax',
    '        inc edx',
    '        RD edx',
    '        FL',
    '        dec edx',
    '        dec edx',
    '        RD edx',
    '        FL',
  ];
  ALU.forEach((op, k) => {
    // Each operation in the forms r/m,r (01 family), r,r/m (03 family), r/m,imm8 (83) and r/m,imm32 (81), CF set and clear.
    lines.push(
      `        ${k % 2 === 0 ? 'stc' : 'clc'}`,
      '        mov edx, eax',
      `        ${op} edx, ebx`,
      '        RD edx',
      '        FL',
      `        ${k % 2 === 0 ? 'clc' : 'stc'}`,
      '        mov edx, eax',
      `        db 0x${((k << 3) | 3).toString(16)}, 0xd3            ; ${op} edx, ebx (r32, r/m32)`,
      '        RD edx',
      '        FL',
      '        mov edx, eax',
      `        ${op} edx, byte -3`,
      '        RD edx',
      '        FL',
      '        mov edx, eax',
      `        ${op} edx, 0x40000001`,
      '        RD edx',
      '        FL',
    );
  });
  lines.push(
    '        test eax, ebx',
    '        FL',
    '        test al, bl',
    '        FL',
    '        cmp dword [edi], byte 5        ; CMP m32, imm8',
    '        FL',
    '        cmp dword [edi], 0x80000000    ; CMP m32, imm32',
    '        FL',
    '        cmp ebx, [edi]                 ; CMP r32, m32',
    '        FL',
    '        cmp [edi], ebx                 ; CMP m32, r32',
    '        FL',
    '        mov ecx, 0x55555555',
    '        mov cl, [edi + 1]              ; LOAD8',
    '        mov ch, [edi + 2]',
    '        RD ecx',
    '        movzx ecx, byte [edi + 3]      ; MOVZX r32, m8',
    '        RD ecx',
    '        cmp byte [edi + 3], 0x80       ; CMP m8, imm8',
    '        FL',
    '        cmp bl, [edi]                  ; CMP r8, m8',
    '        FL',
    '        mov [edi + 8], bl              ; STORE8',
    '        mov [edi + 9], bh',
    '        RD dword [edi + 8]',
    '        push eax                       ; PUSH r32',
    '        push byte -7                   ; PUSH imm8',
    '        push 0x12345                   ; PUSH imm32',
    '        pop edx                        ; POP r32',
    '        RD edx',
    '        pop edx',
    '        RD edx',
    '        pop edx',
    '        RD edx',
    `        call sub_${n}                  ; CALL / RET`,
    '        RD edx',
    '        push ebx',
    `        call sub_imm_${n}              ; CALL / RET imm16`,
    '        RD edx',
    '        RD esp',
    `        jmp short skip_${n}            ; JMP rel8`,
    '        RD 0xbad',
    `skip_${n}:`,
    `        jmp near skip2_${n}            ; JMP rel32`,
    '        RD 0xbad',
    `skip2_${n}:`,
  );
  CONDITIONS.forEach((cc, k) => {
    const near = k % 2 === 0 ? 'near ' : 'short ';
    lines.push(
      '        cmp eax, ebx',
      `        ${cc} ${near}taken_${n}_${k}`,
      '        RD 0',
      `        jmp done_${n}_${k}`,
      `taken_${n}_${k}:`,
      '        RD 1',
      `done_${n}_${k}:`,
    );
  });
  lines.push(
    `        jmp round_end_${n}`,
    `sub_${n}:`,
    '        mov edx, [esp]                 ; the return address',
    '        ret',
    `sub_imm_${n}:`,
    '        mov edx, [esp + 4]',
    '        ret 4',
    `round_end_${n}:`,
  );
  return lines.join('\n');
}

function program(armBreakpoint: boolean): string {
  // Both variants have the same length, so every address (return addresses included) matches.
  return `${MACROS}
test_main:
        mov eax, 0xfffffff0     ; DR0: an address the program never executes
        mov dr0, eax
        mov eax, ${armBreakpoint ? 1 : 0}              ; DR7.L0: an execute breakpoint there, or none
        mov dr7, eax
${PAIRS.map(([a, b], n) => round(n, a, b)).join('\n')}
        PM_DONE
`;
}

describe('inline fast forms', () => {
  it('compute what their handlers compute, for every form', () => {
    const fast = runPm(program(false), { maxInstructions: 5_000_000 });
    const stepped = runPm(program(true), { maxInstructions: 5_000_000 });
    expect(fast.stop).toBe('halt');
    expect(stepped.stop).toBe('halt');
    expect(hex(fast.values)).toEqual(hex(stepped.values));
    // Not vacuous: the first round's opening values, worked out by hand (EAX = 0, EBX = 0).
    expect(hex(fast.values.slice(0, 5))).toEqual(hex([0, 0, 0x89abcdef, 0x1234, 1]));
    expect(hex(fast.values.slice(6, 7))).toEqual(hex([0xffffffff]));
    expect(fast.values.length).toBe(stepped.values.length);
    expect(fast.values.length).toBeGreaterThan(PAIRS.length * 100);
  });
});
