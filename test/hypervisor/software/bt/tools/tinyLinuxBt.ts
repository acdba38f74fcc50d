/**
 * Manual check (minutes, so not in the suite): the bundled Tiny Linux under the
 * software monitor, with the translator (`bt`, default) or without (`trap`),
 * until its shell prompt or SECONDS (default 240); prints the console, the result and the
 * translator's counters.  npx tsx test/hypervisor/software/bt/tools/tinyLinuxBt.ts [bt|trap] [SECONDS]
 */
import { readFileSync } from 'node:fs';
import { createMachine } from '../../../../../core/machine/machine.ts';

const useBt = process.argv[2] !== 'trap';
const dir = new URL('../../../../../resources/guests/tiny-linux/', import.meta.url).pathname;
let out = '';
const dec = new TextDecoder();
const machine = createMachine(
  { clock: 'deterministic', acceleration: useBt ? 'bt' : 'trap', memoryMiB: 64, kernel: readFileSync(dir + 'bzImage'), initrd: readFileSync(dir + 'initramfs.cpio.gz'), cmdline: 'console=ttyS0' } as any,
  { onSerialOutput: (port: number, bytes: Uint8Array) => { if (port === 0) { const s = dec.decode(bytes); out += s; process.stdout.write(s); } } } as any,
);
const t0 = Date.now();
let r: any = { kind: 'running' };
for (let i = 0; i < 100000 && r.kind === 'running' && Date.now() - t0 < Number(process.argv[3] ?? 240) * 1000; i++) {
  r = machine.run(50);
  if (/#\s*$/.test(out) || out.includes('Please press Enter')) break;
}
console.log('\nRESULT', JSON.stringify(r).slice(0, 2000), (Date.now() - t0) / 1000, 's');
if (useBt) console.log(JSON.stringify((machine as any).side.vcpu.monitor.translator.translator?.counters));
