/**
 * Keeps the Screen view's key presses and releases in order on their way to
 * the host (one request in flight, the events typed meanwhile go out together
 * next), and remembers which keys are down so that leaving the view releases
 * them: a key held while focus moves away must not stay pressed in the guest.
 */
import type { HostKeyEvent } from '../../../core/host/api.ts';

/** The host accepts at most this many events per call (core/host/hostService.ts MAX_KEY_EVENTS). */
const MAX_BATCH = 256;
/** Events kept while a send is in flight; beyond it keys are dropped (a host that stopped answering). */
const MAX_PENDING = 1024;

export class KeyEventQueue {
  private pending: HostKeyEvent[] = [];
  private inFlight = false;
  private readonly down = new Set<string>();

  constructor(
    private readonly send: (events: HostKeyEvent[]) => Promise<void>,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  push(code: string, down: boolean): void {
    if (down) this.down.add(code);
    else if (!this.down.delete(code)) return; // a release of a key pressed elsewhere (before focus came here)
    if (this.pending.length >= MAX_PENDING) return;
    this.pending.push({ code, down });
    if (!this.inFlight) void this.flush();
  }

  /** Releases every key still held (focus left the view). */
  releaseAll(): void {
    for (const code of [...this.down]) this.push(code, false);
  }

  get idle(): boolean {
    return !this.inFlight && this.pending.length === 0;
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.send(batch);
      } catch (error) {
        this.onError(error);
      }
    }
    this.inFlight = false;
  }
}
