/**
 * The monitor on its own (no board): a small guest (guests/userFrames.asm)
 * loads its own GDT, IDT and TSS (LGDT, LIDT, LTR, MOV SS trap and are
 * emulated), turns paging on (MOV CR3/CR0: shadow paging), and IRETs to user
 * mode natively. From CPL 3: INT 0x80 through a DPL 3 trap gate is
 * reflected with the stack switch to the guest's TSS.ESP0 and the user's
 * SS/ESP/EFLAGS/CS/EIP; a read of a not-present page is reflected as the
 * guest's #PF (error code 4: user read, not present; CR2 the address);
 * INT 0x81's handler halts with interrupts off, which stops the VM.
 */
import { expect, it } from 'vitest';
import { runMonitorGuest } from './monitorGuest.ts';

it('reflects INT n and #PF from guest user code with the frames the guest expects', () => {
  const { image, memory, monitor } = runMonitorGuest('userFrames.asm', 'trap', 12);

  const afterInt = memory.readU32(0x100000 + image.length - 8);
  const pfAt = memory.readU32(0x100000 + image.length - 4);
  const r = (offset: number) => memory.readU32(0x90000 + offset);
  expect(r(0x00)).toBe(42); // EAX at the INT
  expect(r(0x04)).toBe(afterInt); // EIP: the instruction after INT 0x80
  expect(r(0x08)).toBe(0x1b); // the user's CS
  expect(r(0x0c) & 0x3200).toBe(0x200); // IF = 1, IOPL 0
  expect(r(0x10)).toBe(0x60000); // the user's ESP
  expect(r(0x14)).toBe(0x23); // the user's SS
  expect(r(0x18)).toBe(0x70000 - 20); // the kernel stack: TSS.ESP0 minus the 5-dword frame
  expect(r(0x1c)).toBe(4); // #PF error code: user, read, not present
  expect(r(0x20)).toBe(0x3ff000); // CR2 as the guest reads it (MOV from CR2: emulated)
  expect(r(0x24)).toBe(pfAt); // the faulting instruction
  const c = monitor.counters;
  expect(c.reflected[0x80]).toBe(1);
  expect(c.reflected[14]).toBe(1);
  expect(c.reflected[0x81]).toBe(1);
  expect(c.traps['lgdt/lidt']).toBe(2);
  expect(c.traps['lldt/ltr']).toBe(1);
  expect(c.traps['mov ss']).toBe(1);
  expect(c.traps.iret).toBe(0); // every IRET here returns to user code (RPL 3): native at CPL 1, no trap
  expect(c.traps.cli).toBe(1);
  expect(c.traps.hlt).toBe(1);
  expect(monitor.vcpu.tr).toBe(0x28);
  expect(monitor.shadow.counters.hiddenFaults).toBeGreaterThan(0);
});
