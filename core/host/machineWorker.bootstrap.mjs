// Worker threads do not inherit the parent's module loader, so a worker
// started from the TypeScript tree registers tsx itself before loading the
// TypeScript entry.
import { register } from 'tsx/esm/api';
register();
await import('./machineWorkerThread.ts');
