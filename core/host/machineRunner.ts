/**
 * Where a machine worker runs. The host service talks to a `MachineRunner`
 * only, so swapping worker_threads for Electron's utilityProcess (a separate
 * OS process, better for large-memory machines) is one more class
 * implementing this interface; the message protocol (./workerProtocol.ts)
 * stays the same.
 */
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './workerProtocol.ts';

export interface RunnerEvents {
  message(message: FromWorker): void;
  /** The worker threw outside the protocol (an uncaught exception). */
  error(error: Error): void;
  /** The worker ended; `code` is its exit code. Always the last event. */
  exit(code: number): void;
}

export interface MachineRunner {
  send(message: ToWorker): void;
  /** Ends the worker now (even mid-slice); resolves once it is gone. */
  terminate(): Promise<void>;
}

export type RunnerFactory = (init: WorkerInit, events: RunnerEvents) => MachineRunner;

/** The TypeScript-tree worker entry (registers tsx, then loads machineWorkerThread.ts). */
export function devWorkerUrl(): URL {
  return new URL('./machineWorker.bootstrap.mjs', import.meta.url);
}

/** Runs each machine in a worker thread of this process. */
export class WorkerThreadRunner implements MachineRunner {
  private readonly worker: Worker;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(init: WorkerInit, events: RunnerEvents, workerUrl: URL = devWorkerUrl()) {
    this.worker = new Worker(workerUrl, { workerData: init, name: `popek-vm-${init.vmId}` });
    this.worker.on('message', (m: FromWorker) => events.message(m));
    this.worker.on('error', (e: Error) => events.error(e));
    this.exitPromise = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        this.exited = true;
        events.exit(code);
        resolve();
      });
    });
  }

  send(message: ToWorker): void {
    if (this.exited) return;
    this.worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
    await this.exitPromise;
  }
}

/** A RunnerFactory for worker threads started from `workerUrl`. */
export function workerThreadRunnerFactory(workerUrl?: URL): RunnerFactory {
  return (init, events) => new WorkerThreadRunner(init, events, workerUrl);
}
