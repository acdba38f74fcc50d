/**
 * SVM state transfers and intercept details (AMD64 APM Vol. 2 §15.5.2,
 * §15.9, §15.10-15.11, §15.18, §15.30):
 * - VMSAVE/VMLOAD move FS, GS, TR, LDTR (hidden state included) and the
 *   syscall/sysenter MSR images between the processor and a VMCB;
 * - TSC_OFFSET is added to the guest's RDTSC;
 * - the CR0 selective-write intercept exits only when a bit other than TS
 *   and MP changes, and the CR0 write intercept takes CLTS and LMSW too
 *   (the read intercept does not, though they read CR0; it takes SMSW);
 * - the MSR permission map: its three ranges, two bits per MSR, MSRs
 *   outside the ranges always intercepted.
 */
import { describe, expect, it } from 'vitest';
import { exitRecords, hex, runSvm } from './svmRun.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';

describe('SVM: VMLOAD/VMSAVE, TSC offset, CR0 writes, MSR permission map', () => {
  it('VMSAVE stores FS, GS, TR, LDTR; VMLOAD loads them (the hidden base is used at once) and the MSR images round-trip', () => {
    const r = runSvm(`
svm_main:
        mov eax, VMCB2
        vmsave
        mov eax, [VMCB2 + VMCB_FS]
        out 0xF0, eax
        mov eax, [VMCB2 + VMCB_FS + 4]
        out 0xF0, eax
        mov eax, [VMCB2 + VMCB_TR]
        out 0xF0, eax
        mov eax, [VMCB2 + VMCB_TR + 8]
        out 0xF0, eax
        ; FS := selector 1234h with base 5000h, limit FFFh, a present writable data segment (by VMLOAD only).
        mov dword [VMCB2 + VMCB_FS], 0x1234 | (0x93 << 16)
        mov dword [VMCB2 + VMCB_FS + 4], 0xFFF
        mov dword [VMCB2 + VMCB_FS + 8], 0x5000
        mov dword [VMCB2 + VMCB_STAR], 0x11111111
        mov dword [VMCB2 + VMCB_STAR + 0x3C], 0x22222222       ; SYSENTER_EIP high dword
        mov dword [0x5008], 0xCAFE
        mov eax, VMCB2
        vmload
        mov eax, [fs:8]
        out 0xF0, eax
        xor eax, eax
        mov [VMCB + VMCB_FS], eax
        mov [VMCB + VMCB_STAR], eax
        mov eax, VMCB
        vmsave
        mov eax, [VMCB + VMCB_FS]
        out 0xF0, eax
        mov eax, [VMCB + VMCB_FS + 8]
        out 0xF0, eax
        mov eax, [VMCB + VMCB_STAR]
        out 0xF0, eax
        mov eax, [VMCB + VMCB_STAR + 0x3C]
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(r.values)).toEqual(hex([
      0x10 | (0xc93 << 16), 0xffff_ffff,  // FS: SEL_DATA0, flat 4 GiB data (G, D/B, P, S, writable, accessed)
      0x30 | (0x08b << 16), 0x3000,       // TR: SEL_TSS, busy 32-bit TSS at 3000h
      0xcafe,
      0x1234 | (0x93 << 16), 0x5000, 0x1111_1111, 0x2222_2222,
    ]));
  });

  it("TSC_OFFSET is added to the guest's RDTSC", () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_TSC_OFFSET + 4, 5                  ; 5 * 2^32
        VMCB_W VMCB_RIP, guest
        rdtsc
        mov [PM_SCRATCH], edx
        SVM_RUN
        mov eax, [PM_SCRATCH]
        out 0xF0, eax
        PM_DONE
guest:
        rdtsc
        mov eax, edx
        out 0xF0, eax
        GUEST_HLT
`);
    expect(r.values[0] - r.values[1]).toBe(5);
  });

  it('CR0 selective write exits only for bits other than TS/MP; the CR0 write intercept takes CLTS and LMSW (not the read intercept), the read intercept SMSW', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_CR0_SEL_WRITE
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        mov eax, [VMCB + VMCB_NRIP]
        sub eax, [VMCB + VMCB_RIP]
        out 0xF0, eax
        ; now the plain CR0 write intercept
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT
        VMCB_W VMCB_INTERCEPT_CR, (1 << 16) | (1 << 0)        ; CR0 writes and reads
        VMCB_W VMCB_RIP, guest2
        jmp exit_loop
guest:
        mov eax, cr0
        or eax, 8 | 2                   ; TS, MP: no exit
        mov cr0, eax
        clts                            ; TS: no exit
        mov ax, 0x0B
        lmsw ax                         ; MP, TS (PE kept): no exit
        mov eax, cr0
        or eax, 1 << 18                 ; AM: exit 65h
        mov cr0, eax
        GUEST_HLT
guest2:
        clts                            ; 0F 06: a CR0 write, not a read
        lmsw ax                         ; 0F 01 F0: likewise
        mov cr0, eax                    ; 0F 22 C0
        smsw eax                        ; 0F 01 E0: a CR0 read
        GUEST_HLT
`);
    expect(hex(r.values.slice(0, 2))).toEqual(hex([B.VMEXIT_CR0_SEL_WRITE, 3]));
    expect(exitRecords(r.values.slice(2)).map((e) => [e.code, e.nrip - e.rip])).toEqual([
      [B.VMEXIT_CR0_WRITE, 2], [B.VMEXIT_CR0_WRITE, 3], [B.VMEXIT_CR0_WRITE, 3], [B.VMEXIT_CR0_READ, 3], [B.VMEXIT_HLT, 1],
    ]);
  });

  it('MSR permission map: per MSR and direction in each range; MSRs outside the ranges always exit', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_MSR_PROT
        or byte [MSRPM + 0x800 + (0x80 * 2) / 8], 1                     ; C000_0080h (EFER): read
        or byte [MSRPM + 0x1000 + (0x117 * 2 + 1) / 8], 1 << ((0x117 * 2 + 1) & 7)   ; C001_0117h (VM_HSAVE_PA): write
        or byte [MSRPM + (0x10 * 2 + 1) / 8], 1 << ((0x10 * 2 + 1) & 7)  ; 10h (TSC): write
        VMCB_W VMCB_RIP, guest
        jmp exit_loop
guest:
        mov ecx, 0xC0000080
        rdmsr                           ; exits (read)
        mov eax, EFER_SVME
        xor edx, edx
        wrmsr                           ; not intercepted: the guest's EFER is written
        mov ecx, 0xC0010117
        rdmsr                           ; not intercepted
        wrmsr                           ; exits (write)
        mov ecx, 0x10
        rdmsr                           ; not intercepted
        wrmsr                           ; exits (write)
        mov ecx, 0x40000000
        rdmsr                           ; outside the ranges: exits
        GUEST_HLT
`);
    expect(exitRecords(r.values).map((e) => [e.code, e.info1])).toEqual([
      [B.VMEXIT_MSR, 0], [B.VMEXIT_MSR, 1], [B.VMEXIT_MSR, 1], [B.VMEXIT_MSR, 0], [B.VMEXIT_HLT, 0],
    ]);
  });
});
