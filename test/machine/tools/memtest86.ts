/**
 * Manual guest check: the run of test/machine/memtest86.test.ts (Debian's
 * memtest86+ from the IDE CD-ROM through SeaBIOS, until it reaches Test #3;
 * test/machine/memtest86Boot.ts) with the text screen, the guest and host
 * time printed and a longer guest time allowed. Exit status 0 when all the
 * checks hold.
 *
 *   apt-get install memtest86+
 *   npx tsx test/machine/tools/memtest86.ts [max guest seconds, default 10]
 */
import { memtest86Checks, runMemtest86 } from '../memtest86Boot.ts';

const run = runMemtest86(Number(process.argv[2] ?? 10));
console.log(run.screen.join('\n'));
console.log(`\nguest ${run.guestSeconds.toFixed(2)} s, host ${run.hostSeconds.toFixed(1)} s, machine ${JSON.stringify(run.result)}`);
const checks = memtest86Checks(run);
for (const { what, ok } of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
process.exit(checks.every((c) => c.ok) ? 0 : 1);
