/**
 * A standard 3-button PS/2 mouse (device ID 0) on the i8042's auxiliary port.
 * It answers Linux psmouse's probe (reset, get ID, sample rate / resolution
 * knocks for wheel detection, status request, enable) so the port comes up as
 * a "PS/2 Generic Mouse", and turns host movement into stream-mode packets.
 */
import { PS2_ACK, PS2_BAT_OK, PS2_RESEND } from './ps2Keyboard.ts';

const MOUSE_BUFFER = 48;

export interface Ps2MouseState {
  output: number[];
  enabled: boolean;
  remote: boolean;
  wrap: boolean;
  scaling21: boolean;
  sampleRate: number;
  resolution: number;
  buttons: number;
  pendingCommand: number;
  lastSent: number;
}

export class Ps2Mouse {
  s: Ps2MouseState = Ps2Mouse.powerOn();

  static powerOn(): Ps2MouseState {
    return {
      output: [], enabled: false, remote: false, wrap: false, scaling21: false, sampleRate: 100, resolution: 2,
      buttons: 0, pendingCommand: 0, lastSent: 0,
    };
  }

  reset(): void {
    this.s = Ps2Mouse.powerOn();
  }

  hasOutput(): boolean {
    return this.s.output.length > 0;
  }

  take(): number {
    const b = this.s.output.shift() ?? 0;
    this.s.lastSent = b;
    return b;
  }

  /** Host movement (dx right, dy up, buttons bit 0 left, 1 right, 2 middle). Dropped unless reporting is on. */
  move(dx: number, dy: number, buttons: number): void {
    const s = this.s;
    s.buttons = buttons & 7;
    if (!s.enabled || s.remote || s.wrap || s.output.length + 3 > MOUSE_BUFFER) return;
    this.pushPacket(dx, dy);
  }

  write(byte: number): void {
    const s = this.s;
    if (s.wrap && byte !== 0xec && byte !== 0xff) {
      s.output.push(byte); // wrap mode echoes everything but "reset wrap" and "reset"
      return;
    }
    const pending = s.pendingCommand;
    if (pending !== 0) {
      s.pendingCommand = 0;
      if (pending === 0xf3) {
        s.sampleRate = byte;
        this.reply(PS2_ACK);
        return;
      }
      if (pending === 0xe8) {
        s.resolution = byte & 3;
        this.reply(PS2_ACK);
        return;
      }
    }
    switch (byte) {
      case 0xe6: s.scaling21 = false; this.reply(PS2_ACK); return;
      case 0xe7: s.scaling21 = true; this.reply(PS2_ACK); return;
      case 0xe8:
      case 0xf3:
        s.pendingCommand = byte;
        this.reply(PS2_ACK);
        return;
      case 0xe9: { // status request
        const status = (s.remote ? 0x40 : 0) | (s.enabled ? 0x20 : 0) | (s.scaling21 ? 0x10 : 0) |
          ((s.buttons & 1) << 2) | ((s.buttons & 4) >> 1) | ((s.buttons & 2) >> 1);
        this.reply(PS2_ACK, status, s.resolution, s.sampleRate);
        return;
      }
      case 0xea: s.remote = false; this.reply(PS2_ACK); return;
      case 0xeb: this.reply(PS2_ACK); this.pushPacket(0, 0); return; // read data
      case 0xec: s.wrap = false; this.reply(PS2_ACK); return;
      case 0xee: s.wrap = true; this.reply(PS2_ACK); return;
      case 0xf0: s.remote = true; this.reply(PS2_ACK); return;
      case 0xf2: this.reply(PS2_ACK, 0x00); return; // device ID: standard mouse
      case 0xf4: s.enabled = true; this.reply(PS2_ACK); return;
      case 0xf5: s.enabled = false; this.reply(PS2_ACK); return;
      case 0xf6: this.setDefaults(); this.reply(PS2_ACK); return;
      case 0xfe: s.output.length = 0; s.output.push(s.lastSent); return;
      case 0xff:
        this.setDefaults();
        s.wrap = false;
        this.reply(PS2_ACK, PS2_BAT_OK, 0x00);
        return;
      default:
        this.reply(PS2_RESEND);
    }
  }

  private setDefaults(): void {
    const s = this.s;
    s.enabled = false;
    s.remote = false;
    s.scaling21 = false;
    s.sampleRate = 100;
    s.resolution = 2;
  }

  private pushPacket(dx: number, dy: number): void {
    const x = Math.max(-256, Math.min(255, Math.trunc(dx)));
    const y = Math.max(-256, Math.min(255, Math.trunc(dy)));
    const first = 0x08 | (this.s.buttons & 7) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0);
    this.s.output.push(first, x & 0xff, y & 0xff);
  }

  private reply(...bytes: number[]): void {
    this.s.output.length = 0;
    for (const b of bytes) this.s.output.push(b);
  }
}
