/**
 * Host key -> PS/2 scancode bytes, for keys typed in the app's Screen view.
 * Keys are named by the DOM's `KeyboardEvent.code` (the physical position on
 * a US layout, independent of the host's keyboard layout), which is what a
 * PC keyboard reports too: the guest applies its own layout.
 *
 * Two sets, because what the guest reads depends on the i8042: with
 * translation on (command byte bit 6, a PC's default) the guest sees set 1
 * whatever the keyboard sends; with it off it sees the keyboard's own set
 * (2 after reset). Set 1 breaks are make | 0x80; set 2 breaks are F0 before
 * the make; extended keys carry E0 first in both. Pause has no break code.
 * Values: IBM PS/2 Hardware Interface Technical Reference, keyboard chapter.
 */

/** [set 1 make, set 2 make, extended (E0 prefix)] */
type KeyCodes = readonly [number, number, boolean];

const KEYS: Record<string, KeyCodes> = {
  Escape: [0x01, 0x76, false],
  Digit1: [0x02, 0x16, false], Digit2: [0x03, 0x1e, false], Digit3: [0x04, 0x26, false], Digit4: [0x05, 0x25, false],
  Digit5: [0x06, 0x2e, false], Digit6: [0x07, 0x36, false], Digit7: [0x08, 0x3d, false], Digit8: [0x09, 0x3e, false],
  Digit9: [0x0a, 0x46, false], Digit0: [0x0b, 0x45, false], Minus: [0x0c, 0x4e, false], Equal: [0x0d, 0x55, false],
  Backspace: [0x0e, 0x66, false], Tab: [0x0f, 0x0d, false],
  KeyQ: [0x10, 0x15, false], KeyW: [0x11, 0x1d, false], KeyE: [0x12, 0x24, false], KeyR: [0x13, 0x2d, false],
  KeyT: [0x14, 0x2c, false], KeyY: [0x15, 0x35, false], KeyU: [0x16, 0x3c, false], KeyI: [0x17, 0x43, false],
  KeyO: [0x18, 0x44, false], KeyP: [0x19, 0x4d, false], BracketLeft: [0x1a, 0x54, false], BracketRight: [0x1b, 0x5b, false],
  Enter: [0x1c, 0x5a, false], ControlLeft: [0x1d, 0x14, false],
  KeyA: [0x1e, 0x1c, false], KeyS: [0x1f, 0x1b, false], KeyD: [0x20, 0x23, false], KeyF: [0x21, 0x2b, false],
  KeyG: [0x22, 0x34, false], KeyH: [0x23, 0x33, false], KeyJ: [0x24, 0x3b, false], KeyK: [0x25, 0x42, false],
  KeyL: [0x26, 0x4b, false], Semicolon: [0x27, 0x4c, false], Quote: [0x28, 0x52, false], Backquote: [0x29, 0x0e, false],
  ShiftLeft: [0x2a, 0x12, false], Backslash: [0x2b, 0x5d, false],
  KeyZ: [0x2c, 0x1a, false], KeyX: [0x2d, 0x22, false], KeyC: [0x2e, 0x21, false], KeyV: [0x2f, 0x2a, false],
  KeyB: [0x30, 0x32, false], KeyN: [0x31, 0x31, false], KeyM: [0x32, 0x3a, false], Comma: [0x33, 0x41, false],
  Period: [0x34, 0x49, false], Slash: [0x35, 0x4a, false], ShiftRight: [0x36, 0x59, false],
  NumpadMultiply: [0x37, 0x7c, false], AltLeft: [0x38, 0x11, false], Space: [0x39, 0x29, false], CapsLock: [0x3a, 0x58, false],
  F1: [0x3b, 0x05, false], F2: [0x3c, 0x06, false], F3: [0x3d, 0x04, false], F4: [0x3e, 0x0c, false],
  F5: [0x3f, 0x03, false], F6: [0x40, 0x0b, false], F7: [0x41, 0x83, false], F8: [0x42, 0x0a, false],
  F9: [0x43, 0x01, false], F10: [0x44, 0x09, false], NumLock: [0x45, 0x77, false], ScrollLock: [0x46, 0x7e, false],
  Numpad7: [0x47, 0x6c, false], Numpad8: [0x48, 0x75, false], Numpad9: [0x49, 0x7d, false], NumpadSubtract: [0x4a, 0x7b, false],
  Numpad4: [0x4b, 0x6b, false], Numpad5: [0x4c, 0x73, false], Numpad6: [0x4d, 0x74, false], NumpadAdd: [0x4e, 0x79, false],
  Numpad1: [0x4f, 0x69, false], Numpad2: [0x50, 0x72, false], Numpad3: [0x51, 0x7a, false], Numpad0: [0x52, 0x70, false],
  NumpadDecimal: [0x53, 0x71, false], IntlBackslash: [0x56, 0x61, false], F11: [0x57, 0x78, false], F12: [0x58, 0x07, false],
  NumpadEnter: [0x1c, 0x5a, true], ControlRight: [0x1d, 0x14, true], NumpadDivide: [0x35, 0x4a, true],
  AltRight: [0x38, 0x11, true], Home: [0x47, 0x6c, true], ArrowUp: [0x48, 0x75, true], PageUp: [0x49, 0x7d, true],
  ArrowLeft: [0x4b, 0x6b, true], ArrowRight: [0x4d, 0x74, true], End: [0x4f, 0x69, true], ArrowDown: [0x50, 0x72, true],
  PageDown: [0x51, 0x7a, true], Insert: [0x52, 0x70, true], Delete: [0x53, 0x71, true],
  MetaLeft: [0x5b, 0x1f, true], MetaRight: [0x5c, 0x27, true], ContextMenu: [0x5d, 0x2f, true],
};

/** PrintScreen's make and break are fake-shift sequences, not one code. */
const PRINT_SCREEN: Record<1 | 2, [number[], number[]]> = {
  1: [[0xe0, 0x2a, 0xe0, 0x37], [0xe0, 0xb7, 0xe0, 0xaa]],
  2: [[0xe0, 0x12, 0xe0, 0x7c], [0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12]],
};
/** Pause sends make only (no break), with a fake Ctrl. */
const PAUSE: Record<1 | 2, number[]> = {
  1: [0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5],
  2: [0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77],
};

/** True when `code` (a KeyboardEvent.code) is a key a PS/2 keyboard has. */
export function isPs2Key(code: string): boolean {
  return Object.hasOwn(KEYS, code) || code === 'PrintScreen' || code === 'Pause';
}

/** The bytes a PS/2 keyboard sends for `code` pressed (`down`) or released, in `set`; [] for an unknown key. */
export function ps2Scancodes(code: string, down: boolean, set: 1 | 2): number[] {
  if (code === 'PrintScreen') return [...PRINT_SCREEN[set][down ? 0 : 1]];
  if (code === 'Pause') return down ? [...PAUSE[set]] : [];
  if (!Object.hasOwn(KEYS, code)) return [];
  const [set1, set2, extended] = KEYS[code];
  const out: number[] = extended ? [0xe0] : [];
  if (set === 1) out.push(down ? set1 : set1 | 0x80);
  else if (down) out.push(set2);
  else out.push(0xf0, set2);
  return out;
}
