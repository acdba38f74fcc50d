/**
 * A PS/2 (AT) keyboard as seen from the i8042's keyboard port: it answers the
 * commands Linux's atkbd sends and queues scancodes typed on the host.
 *
 * Responses go into `output` (the keyboard's own buffer, 16 bytes like a real
 * keyboard's); the controller pulls from it whenever its output buffer is
 * free. A command discards pending output first, as the device does.
 */

export const PS2_ACK = 0xfa;
export const PS2_RESEND = 0xfe;
export const PS2_BAT_OK = 0xaa;
const KEYBOARD_BUFFER = 16;

export interface Ps2KeyboardState {
  output: number[];
  scanning: boolean;
  scancodeSet: number;
  leds: number;
  typematic: number;
  /** Command waiting for its parameter byte (0 = none). */
  pendingCommand: number;
  lastSent: number;
}

export class Ps2Keyboard {
  s: Ps2KeyboardState = Ps2Keyboard.powerOn();

  static powerOn(): Ps2KeyboardState {
    return { output: [], scanning: true, scancodeSet: 2, leds: 0, typematic: 0x2b, pendingCommand: 0, lastSent: 0 };
  }

  reset(): void {
    this.s = Ps2Keyboard.powerOn();
  }

  hasOutput(): boolean {
    return this.s.output.length > 0;
  }

  /** Removes the next byte for the controller. */
  take(): number {
    const b = this.s.output.shift() ?? 0;
    this.s.lastSent = b;
    return b;
  }

  /**
   * Host keystrokes: scancode bytes in the set the guest expects (set 1 when
   * the controller translates, which is Linux's default on a PC). Returns how
   * many fitted in the keyboard's buffer; nothing is queued while scanning is
   * disabled (F5), as on real hardware.
   */
  type(bytes: Uint8Array): number {
    if (!this.s.scanning) return 0;
    const room = Math.max(0, KEYBOARD_BUFFER - this.s.output.length);
    const n = Math.min(room, bytes.length);
    for (let i = 0; i < n; i++) this.s.output.push(bytes[i]);
    return n;
  }

  /** A byte from the host (through port 0x60). */
  write(byte: number): void {
    const s = this.s;
    const pending = s.pendingCommand;
    if (pending !== 0) {
      s.pendingCommand = 0;
      if (pending === 0xed && byte < 0x80) {
        s.leds = byte & 7;
        this.reply(PS2_ACK);
        return;
      }
      if (pending === 0xf3 && byte < 0x80) {
        s.typematic = byte;
        this.reply(PS2_ACK);
        return;
      }
      if (pending === 0xf0 && byte < 0x80) {
        if (byte === 0) this.reply(PS2_ACK, s.scancodeSet);
        else if (byte <= 3) {
          s.scancodeSet = byte;
          this.reply(PS2_ACK);
        } else this.reply(PS2_RESEND);
        return;
      }
      // A command byte instead of the expected parameter: treat it as a new command.
    }
    switch (byte) {
      case 0xed: // set LEDs
      case 0xf3: // set typematic rate/delay
      case 0xf0: // get/set scancode set
        s.pendingCommand = byte;
        this.reply(PS2_ACK);
        return;
      case 0xee: // echo
        this.reply(0xee);
        return;
      case 0xf2: // identify: an MF2 keyboard
        this.reply(PS2_ACK, 0xab, 0x83);
        return;
      case 0xf4: // enable scanning
        s.scanning = true;
        this.reply(PS2_ACK);
        return;
      case 0xf5: // disable scanning and restore defaults
        this.setDefaults();
        s.scanning = false;
        this.reply(PS2_ACK);
        return;
      case 0xf6: // set defaults
        this.setDefaults();
        this.reply(PS2_ACK);
        return;
      case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: // set-3 key types
        this.reply(PS2_ACK);
        return;
      case 0xfe: // resend
        s.output.length = 0;
        s.output.push(s.lastSent);
        return;
      case 0xff: // reset and self-test (BAT)
        this.setDefaults();
        s.scanning = true;
        s.scancodeSet = 2;
        this.reply(PS2_ACK, PS2_BAT_OK);
        return;
      default:
        this.reply(PS2_RESEND);
    }
  }

  private setDefaults(): void {
    this.s.typematic = 0x2b;
    this.s.leds = 0;
  }

  private reply(...bytes: number[]): void {
    this.s.output.length = 0;
    for (const b of bytes) this.s.output.push(b);
  }
}
