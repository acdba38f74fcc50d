/**
 * How often compiled code calls the interpreter's handlers, counted at run
 * time on one of the bench's Tiny Linux workloads (shell, fork or getppid
 * loop; deterministic clock, the compiler on): boots, runs the workload
 * once so its blocks turn hot and compile, then wraps the handler (`fn`) of
 * every instruction of every compiled block with a counter and runs the
 * workload again. Compiled code reaches a handler only through `I[k].fn`
 * (translate.ts: an instruction without an inline form, or the slow path of
 * a form that falls back to its handler), and the run loop does not run a
 * compiled block's instructions, so the counts are compiled code's calls
 * (blocks compiled during the counted run are not wrapped). Prints the
 * calls per iteration by form, most frequent first.
 *
 *   npx esbuild test/cpu/jit/measure/handlerCalls.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=bench/.handlers.mjs && node bench/.handlers.mjs shell [top=30]
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { Insn } from '../../../../core/cpu/insn.ts';
import { oneByteMap, twoByteMap } from '../../../../core/cpu/opcodeTable.ts';
import { initramfsWithSyscallProgram, SYSCALL_PROGRAM } from '../../../../bench/syscallProgram.ts';

const workload = process.argv[2] ?? 'shell';
const top = Number(process.argv[3] ?? 30);
const ITERATIONS: Record<string, number> = { shell: 5000, fork: 100, getppid: 20000 };
const LINES: Record<string, string> = {
  shell: `i=0; while [ $i -lt ${ITERATIONS.shell} ]; do i=$((i+1)); done; echo $i`,
  fork: `i=0; while [ $i -lt ${ITERATIONS.fork} ]; do /bin/true; i=$((i+1)); done; echo $i`,
  getppid: `${SYSCALL_PROGRAM} ${ITERATIONS.getppid} | cut -d' ' -f1-2`,
};

/** A form: opcode, ModRM reg for the groups, register or memory operand, operand size, prefixes. */
function formOf(i: Insn): string {
  const def = i.opcode < 0x100 ? oneByteMap[i.opcode] : twoByteMap[i.opcode & 0xff];
  const group = [0x80, 0x81, 0x83, 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff, 0x100, 0x101, 0x1ba].includes(i.opcode);
  const parts = [`${i.opcode.toString(16).padStart(2, '0')}${group ? `/${i.reg}` : ''} ${def?.name ?? '?'}`];
  if (def?.modrm) parts.push(i.mod === 3 ? 'reg' : 'mem');
  parts.push(i.o32 ? 'o32' : 'o16');
  if (!i.a32) parts.push('a16');
  if (i.rep) parts.push('rep');
  if (i.lock) parts.push('lock');
  return parts.join(' ');
}

async function main(): Promise<void> {
  const line = LINES[workload];
  if (line === undefined) throw new Error(`workload: one of ${Object.keys(LINES).join(', ')}`);
  const guest = GuestConsole.tinyLinux({ jit: true, initrd: initramfsWithSyscallProgram() });
  await guest.waitFor('POPEK-READY', 1800);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  await guest.command(line, 3600);
  const counts = new Map<string, number>();
  const wrapped = new WeakSet<Insn>();
  let compiledBlocks = 0;
  for (const b of cpu.blocks.values()) {
    if (b.jit === null) continue;
    compiledBlocks++;
    for (const i of b.insns) {
      if (wrapped.has(i)) continue;
      wrapped.add(i);
      const fn = i.fn, form = formOf(i);
      i.fn = (c, x) => {
        counts.set(form, (counts.get(form) ?? 0) + 1);
        fn(c, x);
      };
    }
  }
  const r0 = cpu.clock.retired;
  const out = await guest.command(line, 3600);
  const n = ITERATIONS[workload];
  const retired = cpu.clock.retired - r0;
  let total = 0;
  for (const v of counts.values()) total += v;
  console.log(`${workload}: ${n} iterations, ${(retired / n).toFixed(0)} instructions per iteration, ${compiledBlocks} compiled blocks wrapped; output ${JSON.stringify(out.trim().slice(-40))}`);
  console.log(`handler calls from compiled code: ${(total / n).toFixed(2)} per iteration`);
  for (const [f, v] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / n).toFixed(2).padStart(9)} /iter  ${f}`);
  guest.machine.pause();
  process.exit(0);
}

await main();
