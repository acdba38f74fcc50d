/**
 * The Ctrl-A escape of `popek run` on a terminal (in raw mode Ctrl-C goes to
 * the guest, so quitting needs its own key): Ctrl-A x quits, Ctrl-A Ctrl-A
 * sends one Ctrl-A, Ctrl-A h prints help, Ctrl-A t prints the binary
 * translator's translation cache (--accel bt); any other key after Ctrl-A is
 * dropped. A small state machine so it works across read chunks.
 */
export const CTRL_A = 0x01;

export type EscapeAction = 'quit' | 'help' | 'tcDump';

export class ConsoleEscape {
  private pending = false;

  /** Splits typed bytes into what goes to the guest and the escape actions seen. */
  filter(input: Uint8Array): { guest: Uint8Array; actions: EscapeAction[] } {
    const out: number[] = [];
    const actions: EscapeAction[] = [];
    for (const byte of input) {
      if (this.pending) {
        this.pending = false;
        if (byte === CTRL_A) out.push(CTRL_A);
        else if (byte === 0x78 || byte === 0x58) actions.push('quit'); // x / X
        else if (byte === 0x68 || byte === 0x48 || byte === 0x3f) actions.push('help'); // h / H / ?
        else if (byte === 0x74 || byte === 0x54) actions.push('tcDump'); // t / T
      } else if (byte === CTRL_A) {
        this.pending = true;
      } else {
        out.push(byte);
      }
    }
    return { guest: Uint8Array.from(out), actions };
  }
}

export const ESCAPE_HELP = '\r\n[popek] Ctrl-A x: quit   Ctrl-A Ctrl-A: send Ctrl-A   Ctrl-A h: this help   Ctrl-A t: translation cache (--accel bt)\r\n';
