/**
 * How often compiled code calls the interpreter's handlers, counted at run
 * time on the Tiny Linux boot or one of the bench's workloads (shell, fork
 * or getppid loop; deterministic clock, the compiler on). The handler
 * (`fn`) of every instruction of every compiled block is wrapped with a
 * counter as the block is compiled (the compiler's compile is hooked, as
 * diffRig.ts does). Compiled code reaches a handler only through `I[k].fn`
 * (translate.ts: an instruction without an inline form, or the slow path of
 * a form that falls back to its handler), and the run loop does not run a
 * compiled block's instructions, so the counts are compiled code's calls.
 * `boot` counts the boot; a workload is run once uncounted (its blocks turn
 * hot) and then counted. Prints the calls per iteration (per boot) by form,
 * most frequent first.
 *
 *   npx esbuild test/cpu/jit/measure/handlerCalls.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=bench/.handlers.mjs && node bench/.handlers.mjs shell [top=30]
 *
 * Measured (3 Dec), calls per iteration, warm, before and after the forms of
 * stringForms.ts, sseLoadForm, DIV/IDIV, XADD, BTS/BTR/BTC, SHLD/SHRD and
 * the r16 ALU group (core/cpu/jit/stringForms.ts has what is left and the
 * time): shell 38.35 -> 0.00 (REP STOSB's slow path, under 0.005), fork
 * 2630 -> 268 (with irqFlagForms.ts), getppid 14.2 -> 12.2, boot 1.45 M -> 0.50 M per boot.
 * Instructions per iteration vary by a few percent from run to run (280-294
 * for getppid with the same code): the console's input reaches the guest
 * between the machine's run slices, which follow the host's timing.
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { Insn } from '../../../../core/cpu/insn.ts';
import { formOf } from './formOf.ts';
import { initramfsWithSyscallProgram, SYSCALL_PROGRAM } from '../../../../bench/syscallProgram.ts';

const workload = process.argv[2] ?? 'shell';
const top = Number(process.argv[3] ?? 30);
const ITERATIONS: Record<string, number> = { shell: 5000, fork: 100, getppid: 20000 };
const LINES: Record<string, string> = {
  shell: `i=0; while [ $i -lt ${ITERATIONS.shell} ]; do i=$((i+1)); done; echo $i`,
  fork: `i=0; while [ $i -lt ${ITERATIONS.fork} ]; do /bin/true; i=$((i+1)); done; echo $i`,
  getppid: `${SYSCALL_PROGRAM} ${ITERATIONS.getppid} | cut -d' ' -f1-2`,
};

async function main(): Promise<void> {
  const boot = workload === 'boot';
  const line = LINES[workload];
  if (line === undefined && !boot) throw new Error(`workload: boot or one of ${Object.keys(LINES).join(', ')}`);
  const guest = GuestConsole.tinyLinux({ jit: true, initrd: initramfsWithSyscallProgram() });
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  const counts = new Map<string, number>();
  let counting = boot;
  const wrapped = new WeakSet<Insn>();
  const wrapCompiled = () => {
    for (const b of cpu.blocks.values()) {
      if (b.jit === null) continue;
      for (const i of b.insns) {
        if (wrapped.has(i)) continue;
        wrapped.add(i);
        const fn = i.fn, form = formOf(i);
        i.fn = (c, x) => {
          if (counting) counts.set(form, (counts.get(form) ?? 0) + 1);
          fn(c, x);
        };
      }
    }
  };
  const compile = cpu.jit.compile.bind(cpu.jit);
  cpu.jit.compile = (block) => {
    compile(block);
    wrapCompiled();
  };
  await guest.waitFor('POPEK-READY', 1800);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  let n = 1, out = '', retired = cpu.clock.retired;
  if (!boot) {
    await guest.command(line, 3600);
    counting = true;
    const r0 = cpu.clock.retired;
    out = await guest.command(line, 3600);
    n = ITERATIONS[workload];
    retired = cpu.clock.retired - r0;
  }
  let total = 0;
  for (const v of counts.values()) total += v;
  console.log(`${workload}: ${n} iterations, ${(retired / n).toFixed(0)} instructions per iteration, ${cpu.jit.stats().compiled} blocks compiled; output ${JSON.stringify(out.trim().slice(-40))}`);
  console.log(`handler calls from compiled code: ${(total / n).toFixed(2)} per iteration`);
  for (const [f, v] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / n).toFixed(2).padStart(9)} /iter  ${f}`);
  guest.machine.pause();
  process.exit(0);
}

await main();
