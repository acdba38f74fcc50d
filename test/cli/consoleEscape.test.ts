import { describe, expect, it } from 'vitest';
import { ConsoleEscape } from '../../core/cli/consoleEscape.ts';

describe('Ctrl-A console escape', () => {
  it('passes ordinary bytes through', () => {
    const e = new ConsoleEscape();
    expect(e.filter(Uint8Array.from([0x61, 0x03, 0x0d]))).toEqual({ guest: Uint8Array.from([0x61, 0x03, 0x0d]), actions: [] });
  });

  it('quits on Ctrl-A x, also when split across reads', () => {
    const e = new ConsoleEscape();
    expect(e.filter(Uint8Array.from([0x61, 0x01]))).toEqual({ guest: Uint8Array.from([0x61]), actions: [] });
    expect(e.filter(Uint8Array.from([0x78]))).toEqual({ guest: new Uint8Array(0), actions: ['quit'] });
  });

  it('sends one Ctrl-A for Ctrl-A Ctrl-A, help for Ctrl-A h, and drops other escaped keys', () => {
    const e = new ConsoleEscape();
    expect(e.filter(Uint8Array.from([0x01, 0x01, 0x01, 0x68, 0x01, 0x7a, 0x62]))).toEqual({
      guest: Uint8Array.from([0x01, 0x62]),
      actions: ['help'],
    });
  });

  it('asks for the translation cache on Ctrl-A t', () => {
    const e = new ConsoleEscape();
    expect(e.filter(Uint8Array.from([0x61, 0x01, 0x74, 0x62]))).toEqual({ guest: Uint8Array.from([0x61, 0x62]), actions: ['tcDump'] });
  });
});
