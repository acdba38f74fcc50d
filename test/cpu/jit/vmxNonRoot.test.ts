/**
 * The block compiler in VMX non-root operation: compiled guest code reaches
 * the same VM exits at the same instructions as the interpreter. One ROM
 * (test/cpu/vmx's frame) runs with the compiler off, and on with blocks
 * compiled after one and after three runs; the values it reports (every
 * exit's reason, guest RIP and, for EPT violations, guest-physical address,
 * then the guest's results) must be equal.
 *
 * The guest runs a hot loop (compiled, a block jumping to itself)
 * that writes port 0x81, which is not in the I/O bitmap and reaches a test
 * device: a nonzero byte raises INTR, and with external-interrupt exiting
 * the exit must come at the block boundary where the interpreter takes it,
 * in the middle of a compiled loop. After each pass the guest stores into pages
 * that EPT does not map yet (a violation in the middle of a compiled block,
 * whose instruction runs again after the host maps the page), and runs
 * IN on a port in the bitmap, CPUID and RDMSR (exits the host skips).
 */
import { describe, expect, it } from 'vitest';
import { runVmx } from '../vmx/vmxRun.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';
import type { Cpu } from '../../../core/cpu/cpu.ts';

const ROM = `
jit_exits:
        pushad                          ; the guest's registers (a VM exit leaves them to the host)
        REPORT_FIELD VM_EXIT_REASON
        VMR GUEST_RIP
        sub eax, guest
        out 0xF0, eax
        VMR VM_EXIT_REASON
        cmp eax, EXIT_REASON_HLT
        je .done
        cmp eax, EXIT_REASON_EPT_VIOLATION
        je .ept
        cmp eax, EXIT_REASON_EXTERNAL_INTERRUPT
        je .intr
        SKIP_INSTRUCTION
        jmp .resume
.intr:  out 0x82, al                    ; the test device lowers INTR
        jmp .resume
.ept:   REPORT_FIELD GUEST_PHYSICAL_ADDRESS
        VMR GUEST_PHYSICAL_ADDRESS
        shr eax, 12
        mov ebx, eax
        shl ebx, 12
        or ebx, (6 << 3) | 7
        mov [EPT_PT + eax * 8], ebx
        mov dword [PTR_SCRATCH], EPT_PML4 | (3 << 3) | 6
        mov dword [PTR_SCRATCH + 4], 0
        mov ecx, INVEPT_SINGLE_CONTEXT
        invept ecx, [PTR_SCRATCH]
.resume:
        popad
        VMRESUME_TO jit_exits
        REPORT_VMRESULT
        PM_DONE
.done:  popad
        mov eax, edx
        out 0xF0, eax
        mov eax, [0x70000]
        out 0xF0, eax
        mov eax, [0x77000]
        out 0xF0, eax
        PM_DONE

vmx_main:
        EPT_IDENTITY
        mov edi, EPT_PT + 0x70 * 8
        xor eax, eax
        mov ecx, 16
        rep stosd                               ; guest-physical 70000h-77FFFh: not mapped yet
        mov edi, IO_BITMAP_A_PA
        xor eax, eax
        mov ecx, 2 * 4096 / 4
        rep stosd
        mov byte [IO_BITMAP_A_PA + 0x80 / 8], 1  ; port 0x80 exits, 0x81 does not
        VMW IO_BITMAP_A, IO_BITMAP_A_PA
        VMW IO_BITMAP_B, IO_BITMAP_B_PA
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, PIN_BASED_EXT_INTR_MASK
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        VMW SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT
        VMW GUEST_RIP, guest
        VMLAUNCH_TO jit_exits
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PM_DONE

guest:
        xor esi, esi                    ; pass
        xor edx, edx                    ; checksum
.pass:  mov ecx, 300
.hot:   add edx, ecx
        rol edx, 3
        xor edx, esi
        test ecx, 127
        setz al
        out 0x81, al                    ; every 128th iteration raises INTR: an external-interrupt exit
        dec ecx
        jnz .hot
.spin:  add edx, 7                      ; a block that loops on itself
        dec ecx
        cmp ecx, -50
        jne .spin
        mov edi, esi
        shl edi, 12
        add edx, 1
        mov [0x70000 + edi], edx        ; an EPT violation mid-block on each page's first touch
        mov [0x70004 + edi], esi
        in al, 0x80                     ; I/O exit
        mov eax, esi
        cpuid                           ; exit
        mov ecx, 0x10
        rdmsr                           ; exit
        inc esi
        cmp esi, 8
        jb .pass
        GUEST_HLT
`;

interface Run {
  values: number[];
  /** Blocks compiled while the processor was in VMX non-root operation. */
  nonRootCompiled: number;
}

function run(jit: { hotThreshold: number } | null): Run {
  let nonRootCompiled = 0;
  const r = runVmx(ROM, {
    maxInstructions: 5_000_000,
    setup(bus, cpu: Cpu) {
      let requested = false;
      cpu.interruptController = {
        hasInterrupt: () => requested,
        acknowledge: () => { requested = false; cpu.intrLine = false; return 0x30; },
      };
      bus.addPorts(0x81, 2, {
        portRead: () => 0,
        portWrite: (port, _size, v) => {
          requested = port === 0x81 && v !== 0 ? true : port === 0x82 ? false : requested;
          cpu.intrLine = requested;
        },
      }, 'test interrupt source', [1]);
      if (jit !== null) {
        cpu.jit.configure({ enabled: true, hotThreshold: jit.hotThreshold });
        const compile = cpu.jit.compile.bind(cpu.jit);
        cpu.jit.compile = (block) => {
          compile(block);
          if (block.jit !== null && cpu.vmx.nonRoot) nonRootCompiled++;
        };
      } else cpu.jit.configure({ enabled: false });
    },
  });
  expect(r.stop).toBe('halt');
  return { values: r.values, nonRootCompiled };
}

describe('block compiler in VMX non-root operation', () => {
  it('the same VM exits at the same guest instructions, and the same results, as the interpreter', () => {
    const interpreted = run(null);
    const v = interpreted.values;
    // 8 passes: 2 external-interrupt exits (ECX = 256, 128), an EPT violation (with its address),
    // the I/O, CPUID and RDMSR exits; then HLT and the results.
    const reasons: number[] = [];
    for (let k = 0; k < v.length;) {
      reasons.push(v[k]);
      if (v[k] === F.EXIT_REASON_HLT) break;
      k += v[k] === F.EXIT_REASON_EPT_VIOLATION ? 3 : 2;
    }
    const pass = [F.EXIT_REASON_EXTERNAL_INTERRUPT, F.EXIT_REASON_EXTERNAL_INTERRUPT, F.EXIT_REASON_EPT_VIOLATION,
      F.EXIT_REASON_IO_INSTRUCTION, F.EXIT_REASON_CPUID, F.EXIT_REASON_MSR_READ];
    expect(reasons).toEqual([...Array.from({ length: 8 }, () => pass).flat(), F.EXIT_REASON_HLT]);
    for (const hotThreshold of [1, 3]) {
      const compiled = run({ hotThreshold });
      expect(compiled.values).toEqual(v);
      expect(compiled.nonRootCompiled).toBeGreaterThan(5);
    }
  });
});

/**
 * The VMX-preemption timer counts down with the clock alone, so the run
 * loop asks for it between every two blocks (cpu.pollIntr): a compiled
 * region looping on itself must stop at the boundary where the interpreter
 * takes the exit, though no call out of its code happened since it was
 * entered (translate.ts regionTail's `cb`). The guest adds 3 to EDX in a
 * one-block loop; each exit reports the guest's EDX, then resumes with the
 * timer armed again.
 */
const TIMER_ROM = `
vmx_main:
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, PIN_BASED_VMX_PREEMPTION_TIMER
        VMW VMX_PREEMPTION_TIMER_VALUE, 400
        VMW GUEST_RIP, guest
        mov esi, 12                     ; exits to take (the guest leaves ESI alone)
        VMLAUNCH_TO timer_exit
        REPORT_VMRESULT
        PM_DONE
timer_exit:
        pushad
        REPORT_FIELD VM_EXIT_REASON
        mov eax, [esp + 20]             ; the guest's EDX, as PUSHAD stored it
        out 0xF0, eax
        dec dword [esp + 4]             ; ESI
        jz .done
        VMW VMX_PREEMPTION_TIMER_VALUE, 400
        popad
        VMRESUME_TO timer_exit
        REPORT_VMRESULT
        PM_DONE
.done:  popad
        PM_DONE
guest:  xor edx, edx
.l:     add edx, 3
        jmp .l
`;

function runTimer(jit: { hotThreshold: number } | null): number[] {
  const r = runVmx(TIMER_ROM, {
    maxInstructions: 5_000_000,
    setup(_bus, cpu: Cpu) {
      cpu.jit.configure(jit === null ? { enabled: false } : { enabled: true, hotThreshold: jit.hotThreshold });
    },
  });
  expect(r.stop).toBe('halt');
  return r.values;
}

describe('block compiler and the VMX-preemption timer', () => {
  it('a compiled loop exits at the same guest instruction as the interpreter', () => {
    const v = runTimer(null);
    expect(v.length).toBe(24);
    for (let k = 0; k < v.length; k += 2) expect(v[k]).toBe(F.EXIT_REASON_PREEMPTION_TIMER);
    // The loop ran many times between exits (EDX grows by 3 per iteration).
    expect(v[3] - v[1]).toBeGreaterThan(300);
    for (const hotThreshold of [1, 3]) expect(runTimer({ hotThreshold })).toEqual(v);
  });
});
