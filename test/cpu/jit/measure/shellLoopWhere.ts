/**
 * Where the compiler-on time goes on Tiny Linux (boot, then the shell loop in
 * rounds), by counting rather than sampling: per phase, the instructions
 * retired, how many of them ran interpreted and why (block not hot yet,
 * block hot but rejected for untranslated forms, counted by form), the
 * run loop's entries into compiled code and what each exit led to (a link to
 * a compiled block of another region, to an interpreted block, no link: the
 * run loop had to look the successor up), the compile calls and their
 * synchronous cost (translation and `new Function`; V8's lazy and TurboFan
 * compiles happen later, on the first calls and in background threads), and
 * blocks invalidated (page written) after compiling.
 *
 * Entries are counted by wrapping each compiled function, which costs time:
 * use this for the counts, the variants tool for times.
 *   npx esbuild test/cpu/jit/measure/shellLoopWhere.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.where.mjs && node bench/.where.mjs 3000 3 '{"hotThreshold":5000}'
 * With WL=getppid in the environment the rounds run the bench's system-call
 * program (bench/guest/getppid.c) for that many calls instead of the shell loop.
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { Block } from '../../../../core/cpu/decoder.ts';
import type { CompiledBlock, JitOptions } from '../../../../core/cpu/jit/jit.ts';
import { formOf } from './formOf.ts';
import { untranslated } from '../../../../core/cpu/jit/translate.ts';
import { initramfsWithSyscallProgram, SYSCALL_PROGRAM } from '../../../../bench/syscallProgram.ts';

const iterations = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const options = JSON.parse(process.argv[4] ?? '{}') as Partial<JitOptions>;
const getppid = process.env.WL === 'getppid';
const loop = getppid ? `${SYSCALL_PROGRAM} ${iterations} | cut -d' ' -f1-2` : `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

interface Counters { entries: number; compiledInsns: number; exitNoLink: number; exitOtherCompiled: number; exitSameRegion: number; exitInterp: number; compiles: number; compileMs: number }
const c: Counters = { entries: 0, compiledInsns: 0, exitNoLink: 0, exitOtherCompiled: 0, exitSameRegion: 0, exitInterp: 0, compiles: 0, compileMs: 0 };

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ jit: true, ...(getppid ? { initrd: initramfsWithSyscallProgram() } : {}) });
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  cpu.jit.configure(options);
  const jit = cpu.jit as unknown as { compile(b: Block): void };
  const compile = jit.compile.bind(cpu.jit);
  const wrapped = new WeakMap<CompiledBlock, CompiledBlock>();
  const everCompiled = new Set<Block>();
  jit.compile = (b: Block) => {
    const t = performance.now();
    compile(b);
    c.compileMs += performance.now() - t;
    c.compiles++;
    // Wrap every block that now has code (a region sets several).
    for (const x of cpu.blocks.values()) {
      if (x.jit === null || everCompiled.has(x)) continue;
      everCompiled.add(x);
      const f = x.jit;
      let w = wrapped.get(f);
      if (w === undefined) {
        w = (cpu2: Cpu) => {
          const left = cpu2.jitLeft;
          const k = f(cpu2);
          c.entries++;
          c.compiledInsns += left - cpu2.jitLeft + k;
          const last = x.jitMembers![cpu2.jitMember];
          if (cpu2.exitBlock || last.linkStamp !== cpu2.linkStamp) { c.exitNoLink++; return k; }
          const eip = cpu2.eip;
          const s = last.succ0 !== null && last.succ0.eip === eip && last.succ0.valid ? last.succ0 : last.succ1 !== null && last.succ1.eip === eip && last.succ1.valid ? last.succ1 : null;
          if (s === null) c.exitNoLink++;
          else if (s.jit === null) c.exitInterp++;
          else if (s.jit === last.jit) c.exitSameRegion++;
          else c.exitOtherCompiled++;
          return k;
        };
        wrapped.set(f, w);
      }
      x.jit = w;
    }
  };
  // Region exits compare `s.jit === last.jit`: both are the wrapper of the same region function.

  const snapshot = () => {
    const heat = new Map<Block, number>();
    for (const b of cpu.blocks.values()) heat.set(b, b.heat);
    return { heat, retired: cpu.clock.retired, c: { ...c }, t: process.cpuUsage() };
  };
  const report = (name: string, s: ReturnType<typeof snapshot>) => {
    const sec = (() => { const u = process.cpuUsage(s.t); return (u.user + u.system) / 1e6; })();
    const hot = cpu.jitHot;
    let interp = 0, cold = 0, rejected = 0, warmup = 0;
    const forms = new Map<string, number>();
    for (const b of cpu.blocks.values()) {
      const n = b.heat - (s.heat.get(b) ?? 0);
      if (n <= 0) continue;
      const insns = n * b.insns.length;
      interp += insns;
      if (b.jit !== null) warmup += insns;
      else if (b.heat < hot) cold += insns;
      else {
        rejected += insns;
        const miss = untranslated(b);
        for (const i of miss) forms.set(formOf(i), (forms.get(formOf(i)) ?? 0) + insns / miss.length);
      }
    }
    const total = cpu.clock.retired - s.retired;
    const d = (k: keyof Counters) => c[k] - s.c[k];
    const pct = (x: number) => `${(100 * x / total).toFixed(1)}%`;
    console.log(`\n== ${name}: ${sec.toFixed(2)} s CPU, ${(total / 1e6).toFixed(1)} M instructions`);
    console.log(`interpreted (in blocks still in the cache) ${pct(interp)}: not hot yet ${pct(cold)}, before compiling (later compiled) ${pct(warmup)}, hot but rejected ${pct(rejected)}; compiled ${pct(d('compiledInsns'))}`);
    const e = d('entries');
    console.log(`entries into compiled code ${e} (${(d('compiledInsns') / Math.max(1, e)).toFixed(1)} instructions each); exits to: no link ${d('exitNoLink')}, another region ${d('exitOtherCompiled')}, same region (refused) ${d('exitSameRegion')}, interpreted block ${d('exitInterp')}`);
    console.log(`compile calls ${d('compiles')}, ${d('compileMs').toFixed(0)} ms synchronous; compiler ${JSON.stringify(cpu.jit.stats())}`);
    const rows = [...forms].sort((a, b) => b[1] - a[1]).slice(0, 15);
    for (const [f, n] of rows) console.log(`  ${pct(n).padStart(6)} rejected-block instructions charged to ${f}`);
  };

  let s = snapshot();
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  report('boot', s);
  for (let r = 0; r < rounds; r++) {
    s = snapshot();
    const out = await guest.command(loop, 3600);
    if (out.trim() !== (getppid ? `getppid: ${iterations}` : String(iterations))) throw new Error(`the loop printed ${JSON.stringify(out)}`);
    report(`loop round ${r} (${iterations} iterations)`, s);
  }
  guest.machine.pause();
  process.exit(0);
}

await main();
