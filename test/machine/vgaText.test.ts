/**
 * Guest proof of the VGA text screen and the host keyboard path, on the bare
 * PC and under the hypervisor on VT-x, AMD-V and the software monitor (trap,
 * bt) (where the domain has RAM
 * behind the legacy window and the adapter reads the text from it, see
 * core/devices/vga/vga.ts): a small OS
 * (kernels/vgaText.asm) writes to 0xB8000 and moves the cursor through the
 * CRTC; the snapshot shows exactly its text, colours and cursor. Keys typed
 * on the host go through the i8042 (set 1, translated) to its IRQ 1 handler,
 * which echoes them on the screen.
 */
import { describe, expect, it } from 'vitest';
import { createMachine } from '../../core/machine/machine.ts';
import type { MachineApi } from '../../core/machine/types.ts';
import type { Acceleration } from '../../core/machine/acceleration.ts';
import type { ScreenSnapshot, TextScreen } from '../../core/devices/vga/textScreen.ts';
import { assembleKernel } from './assembleKernel.ts';

function boot(acceleration: Acceleration) {
  let serial = '';
  const machine = createMachine(
    { memoryMiB: 16, clock: 'deterministic', kernel: assembleKernel('vgaText'), vga: true, acceleration },
    { onSerialOutput: (_port, bytes) => (serial += new TextDecoder().decode(bytes)) },
  );
  return { machine, serial: () => serial };
}

/** Runs slices until `done` holds for the latest picture (the machine keeps the change until asked). */
function runUntil(machine: MachineApi, done: (s: TextScreen) => boolean, maxSlices = 400): TextScreen {
  let last: ScreenSnapshot | null = null;
  for (let i = 0; i < maxSlices; i++) {
    const result = machine.run(20);
    if (result.kind === 'stopped') throw new Error(`machine stopped: ${JSON.stringify(result.reason)}`);
    last = machine.takeScreen?.() ?? last;
    if (last?.mode === 'text' && done(last)) return last;
  }
  throw new Error(`screen never reached the expected state; last:\n${last?.mode === 'text' ? last.lines.join('\n') : JSON.stringify(last)}`);
}

const keys = (text: string) =>
  text.split('').flatMap((c) => {
    const code = c === ' ' ? 'Space' : c === '\n' ? 'Enter' : /[0-9]/.test(c) ? `Digit${c}` : `Key${c.toUpperCase()}`;
    return [{ code, down: true }, { code, down: false }];
  });

for (const acceleration of ['none', 'vtx', 'svm', 'trap', 'bt'] as const) {
  describe(`VGA text screen, guest proof (${acceleration})`, () => {
    it('shows what the guest wrote at 0xB8000 and its cursor, then echoes host keys typed into the PS/2 keyboard', () => {
      const { machine, serial } = boot(acceleration);
      const screen = runUntil(machine, (s) => s.lines[0].startsWith('Popek') && s.cursor.row === 3);
      expect(serial()).toBe('ready\n');
      expect(machine.stats().hypervisor !== undefined).toBe(acceleration !== 'none');
      expect(screen.lines[0]).toBe('Popek VGA text mode'.padEnd(80));
      expect(screen.lines[1]).toBe('\u2554\u2550\u2550\u2557'.padEnd(80));
      expect(screen.lines.slice(2).every((l) => l === ' '.repeat(80))).toBe(true);
      expect(Array.from(screen.attributes.subarray(0, 20))).toEqual([...new Array(19).fill(0x1f), 0x07]);
      expect(Array.from(screen.attributes.subarray(80, 84))).toEqual([0x0e, 0x0e, 0x0e, 0x0e]);
      expect(screen.cursor).toEqual({ row: 3, column: 0, startLine: 0, endLine: 15, visible: true });
      expect(machine.takeScreen!()).toBeNull(); // nothing changed since

      machine.keyEvents!(keys('hello vga\n42'));
      const typed = runUntil(machine, (s) => s.lines[4].startsWith('42'));
      expect(typed.lines[3]).toBe('hello vga'.padEnd(80));
      expect(typed.lines[4]).toBe('42'.padEnd(80));
      expect(typed.attributes[3 * 80]).toBe(0x0a);
      expect(typed.cursor).toMatchObject({ row: 4, column: 2, visible: true });
    });
  });
}
