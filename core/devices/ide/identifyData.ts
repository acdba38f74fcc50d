/**
 * Building the 256-word IDENTIFY (PACKET) DEVICE block: ATA strings are
 * space-padded ASCII with the two characters of each word swapped (the
 * first character in the high byte), ATA/ATAPI-6 7.16.7.
 */
export class IdentifyBlock {
  readonly words = new Uint16Array(256);

  set(word: number, value: number): void {
    this.words[word] = value & 0xffff;
  }

  /** A 32-bit value over two words, low word first (e.g. words 60-61). */
  set32(word: number, value: number): void {
    this.words[word] = value & 0xffff;
    this.words[word + 1] = (value >>> 16) & 0xffff;
  }

  /** A value up to 2^53 over four words (words 100-103). */
  set64(word: number, value: number): void {
    for (let i = 0; i < 4; i++) {
      this.words[word + i] = Math.floor(value / 2 ** (16 * i)) & 0xffff;
    }
  }

  /** `text` into `lengthWords` words, padded with spaces, non-ASCII replaced by '?'. */
  setString(word: number, lengthWords: number, text: string): void {
    const chars = text.padEnd(lengthWords * 2, ' ').slice(0, lengthWords * 2);
    for (let i = 0; i < lengthWords; i++) {
      const hi = chars.charCodeAt(2 * i);
      const lo = chars.charCodeAt(2 * i + 1);
      this.words[word + i] = (ascii(hi) << 8) | ascii(lo);
    }
  }

  /** The block as the 512 bytes the data port delivers (little-endian words). */
  bytes(dest: Uint8Array): void {
    for (let i = 0; i < 256; i++) {
      dest[2 * i] = this.words[i] & 0xff;
      dest[2 * i + 1] = this.words[i] >>> 8;
    }
  }
}

function ascii(c: number): number {
  return c >= 0x20 && c < 0x7f ? c : 0x3f;
}
