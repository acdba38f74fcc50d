/**
 * Keys typed on the host (the app's Screen view) into the guest's PS/2
 * keyboard: each key event becomes scancode bytes in the set the guest reads
 * at that moment (set 1 while the i8042 translates, else the keyboard's own
 * set), queued here and handed to the keyboard as its 16-byte buffer frees
 * up, so a burst of typing is not lost while the guest is busy.
 */
import type { I8042 } from './i8042.ts';
import { ps2Scancodes } from './ps2Scancodes.ts';

export interface HostKeyEvent {
  /** KeyboardEvent.code, e.g. 'KeyA', 'Enter', 'ShiftLeft'. */
  code: string;
  down: boolean;
}

/** Most bytes waiting for the guest; beyond it new keys are dropped (a guest that never reads its keyboard). */
const MAX_PENDING = 4096;

export class HostKeyboard {
  private pending: number[] = [];

  constructor(private readonly kbc: I8042) {}

  /** Queues the events' scancodes and offers them to the keyboard. Unknown keys are ignored. */
  keyEvents(events: readonly HostKeyEvent[]): void {
    for (const e of events) {
      const set = this.kbc.translating ? 1 : this.kbc.keyboard.s.scancodeSet === 1 ? 1 : 2;
      const bytes = ps2Scancodes(e.code, e.down, set);
      if (this.pending.length + bytes.length > MAX_PENDING) break;
      this.pending.push(...bytes);
    }
    this.drain();
  }

  /** Moves queued bytes into the keyboard as far as its buffer has room (call between CPU slices). */
  drain(): void {
    if (this.pending.length === 0) return;
    const accepted = this.kbc.typeKeys(Uint8Array.from(this.pending));
    this.pending.splice(0, accepted);
  }

  clear(): void {
    this.pending = [];
  }
}
