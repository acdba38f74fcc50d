/**
 * Keeps typed bytes in order on their way to the host. Each send is an
 * independent request (HTTP in browser mode), and concurrent requests may
 * overtake each other; so one send is in flight at a time and everything
 * typed meanwhile goes out together in the next one.
 */
export class SerialInputQueue {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private inFlight = false;
  /** Bytes dropped because the host was not keeping up (the bound protects the page's memory). */
  dropped = 0;

  /**
   * @param send delivers one batch; its rejection is reported through onError and the queue goes on
   * @param maxPending bytes kept while a send is in flight (excess input is dropped, like a full UART FIFO)
   */
  constructor(
    private readonly send: (bytes: Uint8Array) => Promise<void>,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly maxPending = 64 * 1024,
  ) {}

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.pendingBytes + bytes.length > this.maxPending) {
      this.dropped += bytes.length;
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (!this.inFlight) void this.flush();
  }

  /** True when nothing is queued or being sent. */
  get idle(): boolean {
    return !this.inFlight && this.pendingBytes === 0;
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    while (this.pendingBytes > 0) {
      const batch = new Uint8Array(this.pendingBytes);
      let offset = 0;
      for (const chunk of this.pending) {
        batch.set(chunk, offset);
        offset += chunk.length;
      }
      this.pending = [];
      this.pendingBytes = 0;
      try {
        await this.send(batch);
      } catch (error) {
        this.onError(error);
      }
    }
    this.inFlight = false;
  }
}
