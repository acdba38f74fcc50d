/**
 * Questions the host asks a machine worker and the worker answers with one
 * message (`reply` in ./workerProtocol.ts), such as the translation cache's
 * contents: each gets an id, its reply settles the promise, and whatever is
 * still unanswered when the worker goes is rejected.
 */
import { HostError } from './api.ts';

export class WorkerRequests<T> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: T) => void; reject: (error: Error) => void }>();
  private closed = false;

  /** Sends a request with a fresh id (through `send`) and waits for its reply. */
  ask(send: (requestId: number) => void): Promise<T> {
    if (this.closed) return Promise.reject(gone());
    const requestId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      send(requestId);
    });
  }

  /** The worker's reply to `requestId` (an unknown id, e.g. a reply after the request was failed, is ignored). */
  answer(requestId: number, value: T): void {
    const waiter = this.pending.get(requestId);
    if (!waiter) return;
    this.pending.delete(requestId);
    waiter.resolve(value);
  }

  /** The worker is gone: every unanswered request fails, and later ones fail at once. */
  close(): void {
    this.closed = true;
    for (const waiter of this.pending.values()) waiter.reject(gone());
    this.pending.clear();
  }
}

function gone(): HostError {
  return new HostError('ILLEGAL_TRANSITION', 'The VM stopped before it could answer');
}
