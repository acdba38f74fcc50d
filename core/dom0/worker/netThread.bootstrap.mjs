// Worker threads do not inherit the parent's module loader, so dom0's
// network thread, started from the TypeScript tree, registers tsx itself first.
import { register } from 'tsx/esm/api';
register();
await import('./netThread.ts');
