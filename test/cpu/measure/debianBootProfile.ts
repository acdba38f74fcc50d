/**
 * Where the time of Debian 686's boot to the ready line goes, booted the
 * way `npm run bench -- v86 debian-686 boot` boots it (256 MiB, realtime
 * clock, the bench's command line `console=ttyS0` unless a third argument
 * gives another), under the V8 CPU profiler (node:inspector). Prints:
 *
 * - wall and CPU time to POPEK-READY, instructions retired, guest time;
 * - the wall time the guest spent halted (waiting for a timer: the run loop
 *   returns to its driver, which spins until host time reaches the event);
 * - the longest wall-time gaps between console lines (which boot phase);
 * - a flat self-time summary by host function (compiled blocks together);
 * - where guest EIPs are hot (wall time of each run chunk charged to the EIP
 *   it started at), named from the guest's own /proc/kallsyms, dumped over
 *   the console after the boot (the kernel is KASLR'd: same boot only);
 * - the blocks that stayed interpreted while hot (the compiler's rejects),
 *   and estimated instructions interpreted versus compiled;
 * - port I/O and MMIO accesses by device and port.
 *
 * Bundle it first, like the bench (the TypeScript loader costs ~10%):
 *   npx esbuild test/cpu/measure/debianBootProfile.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.debian-profile.mjs && node bench/.debian-profile.mjs on /tmp/debian-on
 * Arguments: on|off (block compiler), output prefix, optional command line.
 * POPEK_COUNT_HANDLERS=1 also counts handler calls by opcode (slower);
 * POPEK_BOOT_ONLY=1 prints only the boot's wall and CPU time (A/B runs);
 * with POPEK_BOOT_UNTIL='Linux version' it stops at the kernel's first
 * console line, i.e. times the bzImage's XZ decompressor and early setup
 * (2394 M instructions, ~20 s of CPU: a whole boot's noise on the shared
 * machine hides gains of a few percent, this phase shows them).
 *
 * 3 Dec, compiler on, load 7-11 on the 2 cores (so wall time is ~2-3x CPU
 * time, and guest time follows wall time): the boot never halts (0 HLT
 * waits: it is CPU-bound throughout, no timer or device timeout is waited
 * for); 6.5 G instructions, ~5% interpreted; two phases take most of it:
 * the bzImage's XZ decompressor (linear 0x01ff9d00-0x01ffac00, before the
 * kernel's first console line: 37 s of 146 s wall in one boot, 181 of 472
 * in another) and the crypto manager's Diffie-Hellman self-test
 * (mpihelp_addmul_1/submul_1/mul_1/add_n/sub_n, mpih_sqr_n: ~47 of 146 s;
 * ~208 of 472). Handler calls by opcode in one boot: IMUL r32, r/m32
 * (0F AF) 333 M, which the compiler has no inline form for: 280 M of them
 * in mpihelp_submul_1 (194 M), addmul_1 (75 M), mul_1 (11 M) and divrem
 * (5 M) (the kernel's generic umul_ppmm: four 16x16 products per limb),
 * ~50 M in the XZ decompressor's blocks; SHR r/m32, imm8 (C1 /5) 23 M,
 * mostly the decompressor's; then a long tail under 5 M (NOP 4.4 M, 2.3 M
 * of them in mpihelp_addmul_1; MOV r/m32, imm32 4 M; ROR/ROL by imm8 in
 * blake2s 4.5 M). The only hot block left interpreted:
 * add_interrupt_randomness+0x29 (BSWAP, 0F CE), ~1-1.7 M instructions.
 * Port I/O: 554 k COM1 transmits, PIT one-shot reprogramming (56-127 k),
 * PIC mask/EOI (~60-190 k), and once the watchdog marks the TSC unstable,
 * 175 k ACPI PM timer reads; MMIO none.
 *
 * 3 Dec, later: the counted run now splits every opcode's handler calls
 * into those from compiled code and those from the interpreter (the run
 * loop runs a block's code whenever it has some), keys them by operand size
 * (66: 16-bit) and counts the code pages writes drop (into a block's
 * instruction bytes or beside them). The decompressor's "SHR r/m32, imm8"
 * was 66 C1 /5, SHR r16, imm8 (the range coder's 16-bit probability update,
 * prob -= prob >> 5): 20.6 M of its 20.8 M calls come from compiled code,
 * the decompressor's blocks being compiled (as warm members of regions),
 * and the block writer (translate.ts) has the C1 shifts for 32-bit operands
 * only, so each is a handler call with every register synced before and
 * reloaded after. Not a self-modifying-code problem: 810 code pages dropped
 * per boot, 117 by a write into decoded instruction bytes (7.3 k blocks, 36
 * compiled), 693 by a write beside them (10.4 k blocks, 97 compiled, 1.25 M
 * interpreted runs of heat lost; the kernel patching code elsewhere on the
 * page, e.g. jump labels, and data on a page's code tail). The other calls
 * from compiled code (one boot): DIV r/m32 in mpihelp_divrem 1.7 M, LODSB /
 * SCASB in strncmp and strcmp 1.7 M each, LFENCE, RDTSC and PAUSE in
 * delay_tsc 1.0 M each, PUSHF/CLI in _raw_spin_lock_irqsave 0.8 M, SHLD in
 * timekeeping_advance 0.6 M. ROL/ROR by imm8 (1.8 M + 1.7 M) are the
 * interpreter's: blake2s_compress_generic's blocks (48 instructions each)
 * run 13.7 k times per boot, under the hot threshold.
 */
import { Session } from 'node:inspector/promises';
import { appendFileSync, writeFileSync } from 'node:fs';
import { GuestConsole } from '../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../core/cpu/cpu.ts';
import type { Block } from '../../../core/cpu/decoder.ts';
import type { VcpuRun } from '../../../core/hypervisor/vcpuRun.ts';

/** Bundled into bench/ (as the bench is), the repository is one level up. */
const KERNEL = new URL('../.cache/debian-kernel/vmlinuz-debian-686', import.meta.url).pathname;
const mode = process.argv[2] ?? 'on';
const out = process.argv[3] ?? `/tmp/debian-boot-${mode}`;
const cmdline = process.argv[4] || 'console=ttyS0';
/** POPEK_COUNT_HANDLERS=1: count handler calls by opcode (compiled code calls the handlers of instructions it has no inline form for; slows the boot). */
const countHandlers = process.env.POPEK_COUNT_HANDLERS === '1';
/** POPEK_BOOT_ONLY=1: no profiler and no symbols, only the boot's figures (for A/B runs of two bundles). */
const bootOnly = process.env.POPEK_BOOT_ONLY === '1';
/** POPEK_BOOT_UNTIL=text (with POPEK_BOOT_ONLY=1): stop at the first console output holding `text` instead of the ready line. */
const until = (bootOnly && process.env.POPEK_BOOT_UNTIL) || 'POPEK-READY';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }
interface Side { cpu: Cpu; run(budget: number): VcpuRun }
interface PortRegion { first: number; handler: { portRead(p: number, s: number): number; portWrite(p: number, s: number, v: number): void }; name: string }
interface MmioRegion { base: number; handler: { read(o: number, s: number): number; write(o: number, s: number, v: number): void }; name: string }

const count = (m: Map<string, number>, k: string, n = 1): void => void m.set(k, (m.get(k) ?? 0) + n);
const top = (m: Map<string, number>, n: number): [string, number][] => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Counts every port and MMIO access by device and port (offset for MMIO), wrapping the bus's handlers. */
function countAccesses(bus: unknown): Map<string, number> {
  const counts = new Map<string, number>();
  const b = bus as { ports: PortRegion[]; mmio: MmioRegion[] };
  for (const r of b.ports) {
    const h = r.handler;
    r.handler = {
      portRead: (p, s) => (count(counts, `in  ${r.name} 0x${p.toString(16)}`), h.portRead(p, s)),
      portWrite: (p, s, v) => (count(counts, `out ${r.name} 0x${p.toString(16)}`), h.portWrite(p, s, v)),
    };
  }
  for (const r of b.mmio) {
    const h = r.handler;
    r.handler = {
      read: (o, s) => (count(counts, `mmio read  ${r.name} +0x${o.toString(16)}`), h.read(o, s)),
      write: (o, s, v) => (count(counts, `mmio write ${r.name} +0x${o.toString(16)}`), h.write(o, s, v)),
    };
  }
  return counts;
}

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ memoryMiB: 256, clock: 'realtime', jit: mode === 'on', cmdline }, KERNEL);
  const machine = guest.machine as unknown as { side: Side; chipset: { bus?: unknown } };
  const side = machine.side;
  const cpu = side.cpu;
  const accesses = countAccesses((cpu as unknown as { bus: unknown }).bus);

  // Every decoded block, also those dropped later (written pages, flushes).
  const decoded = new Set<Block>();
  /** Handler calls by opcode: [from compiled code, from the interpreter]. */
  const handlerCalls = new Map<string, [number, number]>();
  /** Handler calls by the block's EIP and opcode, named by symbol at the end. */
  const handlerSites = new Map<string, number>();
  const decodeAt = cpu.decodeAt;
  cpu.decodeAt = function (this: Cpu, key: number, lin: number): Block {
    const blk = decodeAt.call(this, key, lin);
    decoded.add(blk);
    if (countHandlers) {
      for (const ins of blk.insns) {
        const fn = ins.fn;
        // The operand size is part of the key: an inline form may exist for one size only (66 C1 /5 has none).
        const k = `${ins.p66 ? '66 ' : ''}${ins.opcode.toString(16)}${[0x80, 0x81, 0x83, 0xc0, 0xc1, 0xd1, 0xd3, 0xf6, 0xf7, 0xfe, 0xff, 0x1ba].includes(ins.opcode) ? '/' + ins.reg : ''}`;
        const where = `${blk.eip >>> 0} ${k}`;
        let calls = handlerCalls.get(k);
        if (calls === undefined) handlerCalls.set(k, calls = [0, 0]);
        const c2 = calls;
        // The run loop runs a block's compiled code whenever it has some, so a call while it has is compiled code's.
        ins.fn = (c, i) => { c2[blk.jit !== null ? 0 : 1]++; count(handlerSites, where); fn(c, i); };
      }
    }
    return blk;
  };
  const codeWrites = countHandlers ? countCodeWrites(cpu) : null;

  // Wall time per run chunk charged to the EIP it started at; halted waits.
  const eipTime = new Map<number, number>();
  let haltedMs = 0, haltedSince = -1, chunks = 0, haltedReturns = 0;
  const lines: { wall: number; guest: number; text: string }[] = [];
  let seen = 0;
  const run = side.run.bind(side);
  const t0 = performance.now();
  side.run = (budget: number): VcpuRun => {
    const start = performance.now();
    if (haltedSince >= 0) haltedMs += start - haltedSince;
    const eip = cpu.eip >>> 0;
    const r = run(budget);
    const end = performance.now();
    chunks++;
    eipTime.set(eip, (eipTime.get(eip) ?? 0) + end - start);
    haltedSince = r.kind === 'halted' ? end : -1;
    if (r.kind === 'halted') haltedReturns++;
    if (guest.output.length > seen) {
      const i = guest.output.lastIndexOf('\n');
      if (i >= seen) {
        for (const text of guest.output.slice(seen, i).split('\n')) lines.push({ wall: end - t0, guest: cpu.clock.nowNs() / 1e6, text: text.trim() });
        seen = i + 1;
      }
    }
    return r;
  };

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  if (!bootOnly) await session.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  await guest.waitFor(until, 1800);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  side.run = run;
  if (bootOnly) {
    console.log(`boot only, to "${until}": ${wall.toFixed(1)} s wall, ${((c.user + c.system) / 1e6).toFixed(2)} s CPU, ${(cpu.clock.retired / 1e6).toFixed(0)} M instructions, load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
    process.exit(0);
  }
  const { profile } = await session.post('Profiler.stop');
  const report: string[] = [];
  const say = (s: string): void => void report.push(s);
  say(`Debian 686, jit ${mode}, cmdline "${cmdline}": ${wall.toFixed(1)} s wall, ${((c.user + c.system) / 1e6).toFixed(1)} s CPU to POPEK-READY; `
    + `${(cpu.clock.retired / 1e6).toFixed(0)} M instructions, guest time ${(cpu.clock.nowNs() / 1e9).toFixed(1)} s, dropped lag ${(cpu.clock.droppedNs / 1e9).toFixed(1)} s`);
  say(`halted (waiting for the next timer event, driver spinning): ${(haltedMs / 1000).toFixed(1)} s wall over ${haltedReturns} halts; ${chunks} run chunks`);
  say(`compiler: ${JSON.stringify(cpu.jit.stats())}`);

  // Interpreted versus compiled, estimated from the blocks' heat (a compiled block was interpreted hotThreshold times first).
  const hot = cpu.jitHot;
  let interp = 0;
  const rejects: [Block, number][] = [];
  for (const blk of decoded) {
    const runs = blk.jit !== null ? Math.max(hot, 0) : blk.heat;
    interp += runs * blk.insns.length;
    if (blk.jit === null && hot > 0 && blk.heat > hot) rejects.push([blk, blk.heat * blk.insns.length]);
  }
  say(`decoded blocks ${decoded.size}; instructions interpreted ~${(interp / 1e6).toFixed(1)} M (${(100 * interp / cpu.clock.retired).toFixed(1)}% of retired; blocks dropped before compiling count their runs until dropped)`);

  // Wall-time gaps between console lines.
  say('\nlongest wall-time gaps before a console line (wall s, guest s, line):');
  const gaps = lines.map((l, i) => ({ gap: l.wall - (i > 0 ? lines[i - 1].wall : 0), l, prev: i > 0 ? lines[i - 1].text : '(power-on)' }));
  for (const g of [...gaps].sort((a, b) => b.gap - a.gap).slice(0, 20)) say(`${(g.gap / 1000).toFixed(2).padStart(7)} s at ${(g.l.wall / 1000).toFixed(1)} s (guest ${(g.l.guest / 1000).toFixed(2)}): after "${g.prev.slice(0, 70)}" -> "${g.l.text.slice(0, 70)}"`);
  writeFileSync(`${out}.lines.txt`, lines.map((l) => `${(l.wall / 1000).toFixed(3)} ${(l.guest / 1000).toFixed(3)} ${l.text}`).join('\n') + '\n');

  // Host functions by self time.
  const nodes = profile.nodes as ProfileNode[];
  const self = new Map<string, number>();
  let total = 0, blocks = 0;
  for (const n of nodes) {
    const f = n.callFrame;
    if (f.functionName.startsWith('block_') || f.functionName.startsWith('region_')) blocks += n.hitCount;
    else count(self, `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`, n.hitCount);
    total += n.hitCount;
  }
  say(`\nhost self time (V8 profiler, ${total} samples): compiled guest code (block_*/region_*) ${(100 * blocks / total).toFixed(1)}%`);
  for (const [k, v] of top(self, 40)) say(`${(100 * v / total).toFixed(1).padStart(5)}% ${k}`);
  writeFileSync(`${out}.cpuprofile`, JSON.stringify(profile));

  console.log(report.join('\n'));
  writeFileSync(`${out}.txt`, report.join('\n') + '\n');
  report.length = 0;
  writeFileSync(`${out}.eips.json`, JSON.stringify([...eipTime]));

  // Guest EIPs, named from the guest's kallsyms.
  const symbols = await kallsyms(guest);
  const name = (eip: number): string => {
    if (eip < 0xc0000000) return `low ${hex(eip)} (decompressor / real mode / user)`;
    let lo = 0, hi = symbols.length - 1, best = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (symbols[mid][0] <= eip) { best = mid; lo = mid + 1; } else hi = mid - 1; }
    return best < 0 ? hex(eip) : `${symbols[best][1]}+0x${(eip - symbols[best][0]).toString(16)}`;
  };
  const bySymbol = new Map<string, number>();
  for (const [eip, ms] of eipTime) count(bySymbol, name(eip).replace(/\+0x[0-9a-f]+$/, ''), ms);
  say(`\nguest code by wall time of the run chunks starting in it (${symbols.length} kernel symbols):`);
  for (const [k, ms] of top(bySymbol, 40)) say(`${(ms / 1000).toFixed(2).padStart(7)} s ${k}`);

  say('\nhot blocks the compiler left interpreted (heat x length, EIP, symbol, opcodes):');
  for (const [blk, w] of rejects.sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    say(`${String(w).padStart(10)} ${hex(blk.eip)} ${name(blk.eip >>> 0)} heat ${blk.heat} [${blk.insns.map((i) => i.opcode.toString(16)).join(' ')}]`);
  }
  if (countHandlers) {
    say('\nhandler calls by opcode (0x1xx: 0F xx; /n: ModRM reg; 66: 16-bit operand), all, from compiled code, from the interpreter:');
    const byTotal = [...handlerCalls].sort((a, b) => b[1][0] + b[1][1] - a[1][0] - a[1][1]).slice(0, 30);
    for (const [k, [comp, interp]] of byTotal) say(`${String(comp + interp).padStart(11)} ${String(comp).padStart(11)} ${String(interp).padStart(11)} ${k}`);
    const bySite = new Map<string, number>();
    for (const [k, v] of handlerSites) {
      const sp = k.indexOf(' '), eip = k.slice(0, sp), opcode = k.slice(sp + 1); // the opcode key may hold a space (66 ...)
      count(bySite, `${name(Number(eip)).replace(/\+0x[0-9a-f]+$/, '').replace(/ \(decompressor.*$/, '')} ${opcode}`, v);
    }
    say('\nhandler calls by guest function (decompressor blocks by EIP) and opcode:');
    for (const [k, v] of top(bySite, 30)) say(`${String(v).padStart(11)} ${k}`);
  }
  if (codeWrites !== null) {
    const w = codeWrites;
    say(`\nwrites to pages holding decoded code: ${w.pages} pages dropped, ${w.into} by a write into a block's instruction bytes (${w.blocksInto} blocks, ${w.compiledInto} compiled), `
      + `${w.pages - w.into} by a write beside them (${w.blocksBeside} blocks, ${w.compiledBeside} compiled, ${(w.heatBeside / 1e6).toFixed(2)} M interpreted runs of heat lost)`);
  }
  say('\nport I/O and MMIO accesses:');
  for (const [k, v] of top(accesses, 30)) say(`${String(v).padStart(9)} ${k}`);
  appendFileSync(`${out}.txt`, report.join('\n') + '\n');
  console.log(report.join('\n'));
  guest.machine.pause();
  process.exit(0);
}

interface CodeWrites { pages: number; into: number; blocksInto: number; compiledInto: number; blocksBeside: number; compiledBeside: number; heatBeside: number }

/**
 * Counts the code pages a write drops (blockCache.ts invalidateCodePage):
 * whether the write that dropped one touched a dropped block's instruction
 * bytes or only data beside them on the page (the bus's write that reported
 * it is the last one to a watched page).
 */
function countCodeWrites(cpu: Cpu): CodeWrites {
  const w: CodeWrites = { pages: 0, into: 0, blocksInto: 0, compiledInto: 0, blocksBeside: 0, compiledBeside: 0, heatBeside: 0 };
  const bus = cpu.bus as unknown as Record<'write8' | 'write16' | 'write32', (pa: number, v: number) => void> & { codePages: Uint8Array; pageMap: Int32Array };
  let at = -1, size = 0;
  for (const [name, n] of [['write8', 1], ['write16', 2], ['write32', 4]] as const) {
    const write = bus[name].bind(bus);
    bus[name] = (pa, v) => {
      // The buffer offset, as blocks are keyed (Block.key).
      if (bus.codePages[pa >>> 12] !== 0) { at = (bus.pageMap[pa >>> 12] & ~0xfff) | (pa & 0xfff); size = n; }
      write(pa, v);
    };
  }
  const invalidate = cpu.invalidateCodePage;
  cpu.invalidateCodePage = function (this: Cpu, pfn: number): void {
    const list = this.pageBlocks.get(pfn) ?? [];
    // A block's instructions lie on its first page at their offset from its start (the decoder follows jumps only within it).
    const into = (at >>> 12) === pfn && list.some((b) => b.insns.some((i) => {
      const start = (b.key & ~0xfff) + ((b.key + i.eip - b.eip) & 0xfff);
      return at < start + i.len && at + size > start;
    }));
    const compiled = list.filter((b) => b.jit !== null).length;
    w.pages++;
    if (into) { w.into++; w.blocksInto += list.length; w.compiledInto += compiled; }
    else { w.blocksBeside += list.length; w.compiledBeside += compiled; w.heatBeside += list.reduce((s, b) => s + (b.jit === null ? b.heat : 0), 0); }
    at = -1;
    invalidate.call(this, pfn);
  };
  return w;
}

/** The guest kernel's text symbols (address, name), sorted, read over the console as gzip + base64. */
async function kallsyms(guest: GuestConsole): Promise<[number, string][]> {
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 300);
  const text = await guest.command("grep ' [tT] ' /proc/kallsyms | gzip | base64; echo END-OF-SYMBOLS", 900);
  const b64 = text.slice(0, text.indexOf('END-OF-SYMBOLS')).replace(/\s+/g, '');
  const { gunzipSync } = await import('node:zlib');
  const list = gunzipSync(Buffer.from(b64, 'base64')).toString('latin1').split('\n');
  const symbols: [number, string][] = [];
  for (const l of list) {
    const [addr, , sym] = l.split(' ');
    if (sym) symbols.push([parseInt(addr, 16), sym]);
  }
  return symbols.sort((a, b) => a[0] - b[0]);
}

await main();
