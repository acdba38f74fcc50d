/**
 * worker_threads entry of a machine worker: adapts `parentPort` to the
 * WorkerChannel of ./machineWorker.ts. Started by WorkerThreadRunner through
 * ./machineWorker.bootstrap.mjs (dev tree, TypeScript via tsx) or as the
 * bundled dist/electron/machineWorker.mjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runMachineWorker } from './machineWorker.ts';
import type { ToWorker, WorkerInit } from './workerProtocol.ts';

const port = parentPort;
if (!port) throw new Error('machineWorkerThread.ts must run in a worker thread');

void runMachineWorker(workerData as WorkerInit, {
  post: (message, transfer) => port.postMessage(message, transfer ?? []),
  onMessage: (listener) => port.on('message', (m: ToWorker) => listener(m)),
  // Closing the port lets the thread end once the event loop is empty; the
  // host also terminates it after the final message.
  close: () => setImmediate(() => port.close()),
});
