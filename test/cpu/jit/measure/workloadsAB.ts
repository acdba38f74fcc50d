/**
 * The block compiler against the interpreter on the bench's Tiny Linux
 * workloads (shell loop, fork loop, getppid loop), in one process: two
 * machines (deterministic clock, so both run the same guest instructions),
 * one with the compiler off and one on, boot; then each workload runs on
 * each machine in turn, alternating which goes first. Times are this
 * process's CPU time (user + system, which includes V8's compiler threads);
 * only the ratios mean anything on a shared machine. Also prints, for the
 * machine with the compiler on, what happened to compiled code during each
 * workload (blocks compiled, code pages invalidated, flushes).
 *
 * Bundle it first, like the bench (the TypeScript loader costs ~10%):
 *   npx esbuild test/cpu/jit/measure/workloadsAB.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=bench/.ab.mjs && node bench/.ab.mjs [rounds=2] [scale=1]
 * `scale` multiplies the workloads' iteration counts (shell 10000, fork 100, getppid 20000).
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import { initramfsWithSyscallProgram, SYSCALL_PROGRAM } from '../../../../bench/syscallProgram.ts';

const rounds = Number(process.argv[2] ?? 2);
const scale = Number(process.argv[3] ?? 1);
const WORKLOADS: [string, string][] = [
  ['shell', `i=0; while [ $i -lt ${10000 * scale} ]; do i=$((i+1)); done; echo $i`],
  ['fork', `i=0; while [ $i -lt ${100 * scale} ]; do /bin/true; i=$((i+1)); done; echo $i`],
  ['getppid', `${SYSCALL_PROGRAM} ${20000 * scale} | cut -d' ' -f1-2`],
];

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

interface Counted { invalidatedPages: number; invalidatedCompiled: number; invlpg: number; flushes: number; linkStamps: number }

function cpuOf(guest: GuestConsole): Cpu {
  return (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
}

/** Counts the code pages written (and the compiled blocks they drop) on `cpu`, wrapping its invalidation. */
function count(cpu: Cpu): Counted {
  const c: Counted = { invalidatedPages: 0, invalidatedCompiled: 0, invlpg: 0, flushes: 0, linkStamps: 0 };
  const invlpg = cpu.invalidatePage.bind(cpu);
  cpu.invalidatePage = (lin: number) => {
    const stamp = cpu.linkStamp;
    c.invlpg++;
    invlpg(lin);
    if ((cpu.linkStamp >> 1) !== (stamp >> 1)) c.linkStamps++;
  };
  const flush = cpu.flushTlb.bind(cpu);
  cpu.flushTlb = (all: boolean) => {
    const stamp = cpu.linkStamp;
    c.flushes++;
    flush(all);
    if ((cpu.linkStamp >> 1) !== (stamp >> 1)) c.linkStamps++;
  };
  const inner = cpu.invalidateCodePage.bind(cpu);
  cpu.invalidateCodePage = (pfn: number) => {
    const list = cpu.pageBlocks.get(pfn);
    if (list !== undefined) {
      c.invalidatedPages++;
      for (const b of list) if (b.jit !== null && b.valid) c.invalidatedCompiled++;
    }
    inner(pfn);
  };
  cpu.bus.onCodeWrite = (pfn) => cpu.invalidateCodePage(pfn);
  return c;
}

async function boot(jit: boolean, initrd: Uint8Array): Promise<{ guest: GuestConsole; seconds: number }> {
  const guest = GuestConsole.tinyLinux({ jit, initrd });
  const t = process.cpuUsage();
  await guest.waitFor('POPEK-READY', 1800);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  return { guest, seconds: cpuSeconds(t) };
}

async function main(): Promise<void> {
  const initrd = initramfsWithSyscallProgram();
  const off = await boot(false, initrd);
  const on = await boot(true, initrd);
  console.log(`boot: off ${off.seconds.toFixed(2)} s, on ${on.seconds.toFixed(2)} s, on/off ${(on.seconds / off.seconds).toFixed(3)}`);
  const cpu = cpuOf(on.guest);
  const counted = count(cpu);
  for (let r = 0; r < rounds; r++) {
    for (const [name, line] of WORKLOADS) {
      const order: [string, GuestConsole][] = r % 2 === 0 ? [['off', off.guest], ['on', on.guest]] : [['on', on.guest], ['off', off.guest]];
      const seconds: Record<string, number> = {};
      const outs: Record<string, string> = {};
      const s0 = cpu.jit.stats();
      const c0 = { ...counted };
      for (const [mode, guest] of order) {
        const t = process.cpuUsage();
        outs[mode] = (await guest.command(line, 3600)).trim();
        seconds[mode] = cpuSeconds(t);
      }
      const s1 = cpu.jit.stats();
      console.log(`round ${r} ${name}: off ${seconds.off.toFixed(2)} s, on ${seconds.on.toFixed(2)} s, on/off ${(seconds.on / seconds.off).toFixed(3)}`
        + ` | compiled ${s1.compiled - s0.compiled} blocks in ${s1.regions - s0.regions} regions, rejected ${s1.rejected - s0.rejected}, flushes ${s1.flushes - s0.flushes},`
        + ` code pages written ${counted.invalidatedPages - c0.invalidatedPages} (compiled blocks dropped ${counted.invalidatedCompiled - c0.invalidatedCompiled}),`
        + ` INVLPG ${counted.invlpg - c0.invlpg}, TLB flushes ${counted.flushes - c0.flushes}, link epochs ended by them ${counted.linkStamps - c0.linkStamps}`
        + (outs.off === outs.on ? '' : ` OUTPUTS DIFFER: ${JSON.stringify(outs)}`));
    }
  }
  console.log(`compiler: ${JSON.stringify(cpu.jit.stats())}`);
  process.exit(0);
}

await main();
