/**
 * Collects the bytes a UART transmits during a run slice and hands them to the
 * driver in one call, so the per-byte transmit path allocates nothing.
 */
export class SerialOutputBuffer {
  private readonly buffer = new Uint8Array(4096);
  private length = 0;
  private readonly sink: (bytes: Uint8Array) => void;

  constructor(sink: (bytes: Uint8Array) => void) {
    this.sink = sink;
  }

  push(byte: number): void {
    this.buffer[this.length++] = byte;
    if (this.length === this.buffer.length) this.flush();
  }

  /** Hands over what was collected (a copy: the driver may keep it or post it to another thread). */
  flush(): void {
    if (this.length === 0) return;
    const bytes = this.buffer.slice(0, this.length);
    this.length = 0;
    this.sink(bytes);
  }
}

/**
 * Host input waiting for room in a UART's receive buffer (the UART accepts
 * what fits; the rest is offered again on every slice).
 */
export class SerialInputQueue {
  private chunks: Uint8Array[] = [];

  push(bytes: Uint8Array): void {
    if (bytes.length > 0) this.chunks.push(bytes.slice());
  }

  /** Offers queued bytes to `receive`, which returns how many it accepted. */
  drain(receive: (bytes: Uint8Array) => number): void {
    while (this.chunks.length > 0) {
      const head = this.chunks[0];
      const accepted = receive(head);
      if (accepted >= head.length) {
        this.chunks.shift();
        continue;
      }
      this.chunks[0] = head.subarray(accepted);
      return;
    }
  }

  clear(): void {
    this.chunks = [];
  }
}
