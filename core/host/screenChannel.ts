/**
 * One VM's display pictures for the host's subscribers: the latest picture
 * is kept (a new subscriber sees the screen at once, like the serial
 * scrollback) and each new one goes to every listener. Only the latest
 * matters for a screen, so there is no backlog to bound.
 */
import type { ScreenSnapshot } from '../devices/vga/textScreen.ts';
import type { Unsubscribe } from './api.ts';

export class ScreenChannel {
  private latest: ScreenSnapshot | null = null;
  private readonly listeners = new Set<(screen: ScreenSnapshot) => void>();

  publish(screen: ScreenSnapshot): void {
    this.latest = screen;
    for (const l of this.listeners) {
      try {
        l(screen);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  subscribe(listener: (screen: ScreenSnapshot) => void): Unsubscribe {
    this.listeners.add(listener);
    if (this.latest) listener(this.latest);
    return () => void this.listeners.delete(listener);
  }

  /** A new run starts: the old picture is not this run's (a machine without a display sends none). */
  clear(): void {
    this.latest = null;
  }
}
