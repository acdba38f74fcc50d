/**
 * Whole-buffer positioned reads and writes on a file descriptor. fs.readSync
 * and fs.writeSync may transfer fewer bytes than asked; these loop until done.
 */
import fs from 'node:fs';

/** Reads dest.length bytes at position; bytes past the end of the file read as zeros. */
export function readFully(fd: number, dest: Uint8Array, position: number): void {
  let done = 0;
  while (done < dest.length) {
    const n = fs.readSync(fd, dest, done, dest.length - done, position + done);
    if (n === 0) {
      dest.fill(0, done);
      return;
    }
    done += n;
  }
}

/** Writes all of src at position. */
export function writeFully(fd: number, src: Uint8Array, position: number): void {
  let done = 0;
  while (done < src.length) {
    done += fs.writeSync(fd, src, done, src.length - done, position + done);
  }
}
