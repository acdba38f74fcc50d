import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';

describe('CPU smoke', () => {
  it('runs real-mode code from the reset vector and reports through ports', () => {
    const run = runAsm(`
%include "rom.inc"
start:
        mov ax, 0x1234
        add ax, 0x0101
        mov bx, ax
        REPORT 0x00001335
        movzx eax, bx
        out 0xF0, eax
        mov al, 'o'
        out 0xE9, al
        mov al, 'k'
        out 0xE9, al
        cli
        hlt
        ROM_END
`);
    expect(run.stop).toBe('halt');
    expect(run.console).toBe('ok');
    expect(run.values).toEqual([0x1335, 0x1335]);
  });
});
