/**
 * The block compiler's front: which blocks get compiled, turning translated
 * source into functions, the code budget, and the counters.
 *
 * JavaScript functions (`new Function`) rather than WebAssembly: the
 * interpreter's state (registers, lazy flags, TLB, segment caches) lives in
 * JS objects and typed arrays, and the slow paths are the interpreter's own
 * methods; generated JS reaches both directly, while a WebAssembly block
 * would cross into JS for every slow path and need the state mirrored into
 * its memory. V8 optimizes the small generated functions like hand-written
 * code once they are hot.
 *
 * How it is measured: test/cpu/jit/measure/ (bundled with esbuild like the
 * bench): shellLoopVariants.ts runs Tiny Linux machines with different
 * settings in one process (deterministic clock, CPU time including V8's
 * compiler threads; the machines are shared, so only ratios in one run
 * count), shellLoopWhere.ts counts where the instructions and exits go,
 * shellLoopForms.ts which forms lack a translation, shellLoopProfile.ts
 * samples; node --trace-opt/--trace-deopt show V8's side.
 *
 * History, in short. Single blocks: the CPU benchmark (bench/asm/cpubench.asm)
 * runs 2-2.7x faster than interpreted, but the shell loop does not gain
 * (~3,600 block runs of 4.8 instructions per iteration: per-block entry,
 * exit and run-loop costs dominate). Chaining blocks (`chain`) did not pay
 * there either. Regions (a hot block compiled with its warm linked
 * successors into one function) raised the instructions per run-loop entry
 * from 4.8 to ~21 and the CPU benchmark to x2.9 of the interpreter, with a
 * steady state of 0.85x of the interpreter's time on the loop but ~1.6-2x
 * during the rounds where blocks turn hot, and a slower boot. A hot
 * threshold of 5000 beat 1000 (half the code compiled for the same steady
 * state).
 *
 * Where the time went (2 Dec, threshold 5000, shellLoopWhere.ts, 5000-iteration rounds,
 * ~17,200 guest instructions per iteration): once warm 97.5% of the
 * instructions run compiled; 1.2% are in blocks not hot yet and 1.3% in hot
 * blocks rejected for untranslated forms (libc's SSE2 string code with a 66
 * prefix: pcmpeqb, pmovmskb, punpcklbw, pxor, pshufd, movd/movdqa; then
 * SAR by CL, NEG, CMOVcc). The run loop enters compiled code 778 times per
 * iteration (22 instructions each); of those exits 74% go to a compiled
 * block of another region (through the run loop), 24% have no successor
 * link (RET and indirect jumps: a block-cache lookup), 1.6% reach an
 * interpreted block. The compiler's own cost is small (344 ms of
 * translation and `new Function` for 215 regions); V8's is not: TurboFan
 * takes 0.1-3.7 s (wall, on a loaded machine) per region function, and
 * re-optimizes many after deopts (322 optimizations of 215 regions over
 * boot and two rounds; reasons: insufficient type feedback at keyed
 * accesses first reached after optimization, i.e. exits and slow paths,
 * and "wrong map"). The round after the last compile still cost 1.6x the
 * interpreter, the next one 0.85x. Smaller regions (regionMax 8 or 3) do
 * not shorten the warm-up (V8's cost follows the amount of code) and lose
 * steady-state speed.
 *
 * So the generated code was made smaller and its fast paths shorter: dwords
 * inline only when aligned (unaligned ones, rare here, take the accessor;
 * the byte-wise inline form doubled every access), the exit test after a
 * memory access only on its slow path, EIP stored only when a region
 * returns. Source 2.53 -> 2.05 MB for the same blocks, "wrong map" deopts
 * 51 -> 11; rounds of 5000 iterations (interpreter / compiler, CPU s):
 * 2.56/4.67, 2.64/3.53, 2.52/1.62, 2.35/1.69, i.e. warm 0.64-0.72x. CPU
 * benchmark (cpuBenchRuns.ts, processes alternating): 72-75 against
 * 209-245 MIPS of CPU time, x3.1.
 * Cold, as the lead measures (boot, then 30000 iterations, same process):
 * boot 5.82 / 6.88 s (1.18x), first loop 15.38 / 15.37 s (1.00x), second
 * 16.58 / 12.83 s (0.77x). The hot threshold then decides the boot (V8
 * compiling code that runs a few thousand times); one process, machines
 * off, 20000, 5000, off, 20000 (the first pays V8's warm-up of the
 * interpreter): boot 5.24, 4.88, 6.87, 4.94, 5.10 s; cold 30000-iteration
 * loop 14.71, 14.75, 14.85, 14.67, 14.03 s (20000 compiles 1035 blocks,
 * 1.65 MB, against 1340 and 2.04 MB; 10000 in another run: boot 1.14x,
 * loop 0.89x). Hence the threshold of 20000. At 20000, 27.6% of the boot's
 * instructions were in hot blocks rejected for untranslated forms (SHL/SHR
 * by CL ~13%, MOVZX r32,m16, SUB/ADD m32,r32, MOV r16,m16: the kernel's
 * decompressor and early init); with the CL shifts translated, one process,
 * machines off, on, off, on: boot 5.99, 4.59, 4.65, 5.00 s, cold loop
 * 16.13, 13.84, 11.76, 12.45 s (the machine's load changed under the run).
 * So still off by default: about even at boot and on a cold loop, ~0.7x
 * only once warm. With the read-modify-write forms on m32 (the ALU family,
 * INC/DEC/NOT/NEG, shifts), MOVZX r32,m16, MOV r16,m16 and m16,r16, CMOVcc
 * and NEG translated too, the boot's share in rejected blocks fell from
 * 12.2% to 0.2% and its compiled share rose from 60.2% to 71.2%
 * (shellLoopWhere.ts at 20000, one run each); what the loop still rejects
 * (~1%) is libc's SSE2 string code. Sampled
 * (bench/profShell.ts: boot and a cold 30000-iteration loop, threshold
 * 5000): compiled code 36%, the run loop 36% (Cpu.run, partly inlined into
 * the machine's run), fetchBlock 3.6%, regionNext 2.5%, GC 1%, interpreter
 * handlers (computeLazy, integerOp, setLazy, testCondition) ~1% each.
 *
 * Fork and getppid (2 Dec, test/cpu/jit/measure/workloadsAB.ts: the bench's
 * three loops on two machines in one process, CPU time, machine loaded ~15;
 * shell 10000, fork 100, getppid 20000 per round). The fork loop ended the
 * link epoch 1756 times per 100 forks (1256 INVLPGs of copy-on-write and
 * unmapped pages, 500 CR3 loads), each sending every block back through
 * the block cache and every region exit back to the run loop; with epochs
 * per privilege class ended only when a translation code was fetched
 * through goes (fetchMarks, blockCache.ts), the kernel's stamp no longer changed
 * over the fork loop, though the fork ratio did not move measurably (it
 * helps the interpreter too, and the noise is larger). What is left is
 * compile cost, in four runs, first round / second round, compiler against
 * interpreter: shell 0.96-1.37 / 0.87-0.94, fork 1.47-1.76 / 0.89-1.14
 * (still compiling 52-63 blocks in round 2), getppid 2.2-3.3 / 0.89-0.92 (43
 * blocks in 6 regions turn hot in round 1, none after). The code these
 * loops heat up runs a few ten thousand times in the bench, too few to pay
 * for V8: under --trace-opt a region took ~200 ms of TurboFan (concurrent,
 * on the loaded machine) and 61 optimizations served 33 regions (deopts on
 * paths first reached after optimization: "insufficient type feedback" at
 * exits and slow paths, "wrong map" in the prologue); warm, getppid's path
 * gains little (its time is in INT/IRET, segment loads and the interrupt
 * frame, interpreted either way) and fork's profile is 48% the run loop
 * with the interpreter's handlers, 15% compiled code (kernel code below the
 * threshold, page faults, string copies). Chaining regions into each other
 * (the former `chain` option, a third machine in workloadsAB.ts) did not pay
 * either: warm shell loop 0.97 of the interpreter against 0.90 without.
 * `npm run bench -- jit` (bench's own loops, realtime clock, one run, load
 * 2-4 on 2 cores): CPU 47.3 / 200.4 MIPS (x4.23); Tiny Linux boot 6.2 / 6.4 s
 * (x1.04), shell loop 124.8 / 73.5 s (x0.59), fork loop 11.27 / 11.75 s
 * (x1.04), getppid loop 0.740 / 1.700 s (x2.30: the syscall path's regions
 * are compiled during its 100000 calls and their warm-up costs more than
 * the whole interpreted loop). So still off by default.
 *
 * Where the warm-up goes, and the system-call path (2 Dec, evening). Cold
 * getppid (workloadProfile.ts ... cold under --trace-opt --trace-deopt: boot,
 * then 100000 calls, load ~2): TurboFan spent 3.9 s of CPU on 90 compiles of
 * generated functions (the regions and blocks of boot and loop, 50-300 ms
 * each; 9 of them OSR compiles, ~1.0 s), beside ~6 s for all the rest. Of 46
 * deopts of generated code, 29 were "insufficient type feedback" (keyed,
 * named, binary operation: exits and slow paths first reached after
 * optimization; V8 compiles a branch that never ran into a deopt, a call
 * without feedback too, so moving slow paths into helper calls would not
 * avoid them), 11 "code dependencies", 2 "not a JavaScript object", and the
 * 4 "wrong map" ones came from four regions at once at bytecode offset 145:
 * the prologue every region shares (cpu.jitBlock.jitEntry, register loads,
 * cpu.tlbBit, cpu.ss32, then the loop header; node --print-bytecode), i.e. a
 * one-time map change of an object every region checks, not a recurring one.
 * Until TurboFan a region runs as bytecode, slower than the optimized
 * interpreter, and V8 waits longer for a bigger function: it asks for
 * TurboFan after 3 + (bytecode size / 150) budget ticks of 67584 bytes of
 * executed bytecode (Node 20's defaults), and one run of a region executes a
 * small part of its 5-10 KB of bytecode, so it runs some 10^4 times first.
 * (One run with --bytecode-size-allowance-per-tick=1000000: cold getppid 0.84
 * of the interpreter against 0.94 without, within the noise; a process-wide
 * flag, not pursued. A cap of 32 region steps per entry cut OSR compiles 9 ->
 * 5 without a measurable gain: dropped.)
 * Warm getppid (shellLoopWhere.ts with WL=getppid; workloadProfile.ts):
 * 23.7% of its instructions were in hot blocks rejected for more than two
 * handler calls (the system-call entry's and exit's segment pushes and pops
 * and MOV Sreg, CLD, TEST m32,imm, REP MOVSD), 1.2 exits per call to
 * interpreted blocks; and every call walked the page tables 5 times (writeSys,
 * the interrupt frame's pushes, had no TLB path; memoryAccess.ts has one now, as
 * readSys). With CLD and TEST m32,imm translated and up to 8 handler calls
 * per block (maxHandlerCalls; boot's rejected share 0.2% -> 0.0%): compiled
 * share 69.1% -> 88.9%, instructions per entry 20.0 -> 32.4, exits to
 * interpreted blocks 1.23 -> 0.45 per call. Sampled once warm: compiled code
 * 40.7% (was 23.6%), the run loop 14% + 3% in the machine's (was 20% + 6%),
 * regionNext 3.5% (a call: V8 does not inline it into region functions this
 * big), segment loads (loadSegment, setSegmentCache, fetchDescriptor, MOV
 * Sreg) ~7%, interrupt delivery and IRET ~5%, the entry's REP MOVSD (the
 * frame copied off the entry stack) 2.9%; page walks left the top.
 * Ratios, compiler / interpreter, CPU time in one process (oneWorkloadAB.ts,
 * getppid 100000 calls, the machine at load 17-30 from other work): with at
 * most 2 handler calls, first round 1.16, 1.25, 1.33 (three runs), second
 * 0.84-1.09; now, first round 0.94, 1.00, 1.00, second 0.59-1.03 (five
 * runs). Side by side, two oneWorkloadAB.ts processes at once (load ~3),
 * at most 2 against 8 handler calls: getppid 1.13/0.92 against 0.92/0.83,
 * fork (100) 1.06/0.85 against 1.12/0.87. workloadsAB.ts (first /
 * second round; at load ~2 before, ~25 after, which inflates V8's compile
 * time far more than the interpreter's: TurboFan's summed compile times went
 * from 3.9 s to 26 s for as many compiles, so only the second rounds
 * compare): shell 1.15/0.97 -> 1.19/0.79, fork 1.55/1.00 -> 1.96/1.03, getppid
 * 2.49/0.91 -> 3.67/0.81. A hot threshold of 60000 (POPEK_JIT_HOT, same
 * load): shell 1.04/0.95, fork 1.15/0.97, getppid 1.34/1.13 (its path then
 * turns hot in round 2): no better, 20000 kept.
 * The shell loop once warm, sampled the same way (workloadProfile.ts on
 * shell, 20000 iterations after as many): compiled code 57.8%, the run loop
 * 10.8% + 9.8% in the machine's loop around it, fetchBlock 4.2% (exits with
 * no link: RET and indirect jumps), regionNext 3.9%, integerOp 2.0% (libc's SSE2
 * string code, called through its handler),
 * setLazy + computeLazy 2.5%, the rest under 0.5% each.
 * `npm run bench -- jit` (the compiler's machine runs after the
 * interpreter's, so load changes between them; load 3-8): CPU 45.5 / 155.6
 * MIPS (x3.42), boot 9.7 / 6.9 s (x0.71), shell loop 151.3 / 135.7 s (x0.90),
 * fork loop 12.42 / 27.09 s (x2.18), getppid loop 0.850 / 1.829 s (x2.15);
 * one run, and the fork figure disagrees with the side-by-side ones above.
 * So, still off by default: once warm the compiler wins on every workload,
 * but code that turns hot during a short workload costs more in V8 (TurboFan
 * and the bytecode phase before it) than the workload takes interpreted. What
 * would pay next: less bytecode per region (regions sized to what runs
 * together, the slow paths' state handoff shorter) so V8 tiers up sooner and
 * compiles less; inlining regionNext's checks; segment loads and the
 * interrupt frame (interpreted either way) for the system-call path.
 *
 * Region exits (3 Dec). Every exit of a region member now breaks to one
 * exit tail in the region's function (translate.ts regionTail), which makes
 * the run loop's checks inline (budget, attention, single step, exitBlock,
 * a pending interrupt) and finds the successor by the exiting block's two
 * links, so a RET or indirect jump goes on to a member without the members'
 * map and no region code calls regionNext (the old code stayed behind the
 * former JitOptions.inlineExits for comparison, removed since).
 * shellLoopVariants.ts, 5000-iteration rounds, one process, load 15-30,
 * new / old region code: medians of the rounds after the first 0.71, 0.75
 * and 0.83 in three runs; once warm
 * (rounds 5-11 of 12, summed) 0.82, and against the interpreter (another
 * run, rounds 5-7) old 0.66, new 0.59. Two further cuts did not pay:
 * - Transfers between regions (`chain` with inlineExits): the tail calls the
 *   next region through one call site (the former chain.ts enterNext),
 *   which V8 sees megamorphic, so it never inlines one region into another
 *   (the old chain's per-exit call sites were monomorphic and invited
 *   that). Warm,
 *   1.07 of the tail without it in one run (rounds 5-11), 0.88 in
 *   another (rounds 5-7): no gain beyond the noise. A call saves little
 *   against a run-loop round trip: both pay the megamorphic call and the
 *   region's prologue (register loads, the dispatch switch). A trampoline
 *   in the run loop instead (the tail returns -1 with the next block in
 *   cpu.jitBlock, the run loop calls its function again; tried in a scratch
 *   copy, not kept since cpu.ts is being split into modules): 1.01 of the
 *   tail without transfers (rounds 5-9 of 10, summed). So going around the
 *   run loop itself is not what costs.
 * - A jump cache for exits both links miss (RET to three or more sites: 24%
 *   of exits went to fetchBlock): 4096 blocks by a hash of EIP, stamped with
 *   the link stamp at region entry (when the run loop or a tail has just
 *   found that block under that stamp), the hit linked from the exiting
 *   block as the run loop links a fetched block (the former
 *   JitOptions.jumpCache, removed on 3 Dec, see below). 1.16 of the tail
 *   without it (medians, one run); with transfers too, 1.04 of the tail
 *   alone (rounds 5-11 of another): presumably the fill at every region
 *   entry costs what the saved block-cache lookups gain.
 * With the tail, warm (shellLoopWhere.ts, third 10000-iteration round):
 * 99.2% of the instructions compiled, 755 entries into compiled code per
 * iteration (22.6 instructions each), their exits 75% to another region,
 * 25% with no link; sampled (workloadProfile.ts on shell): compiled code
 * 61.2%, the run loop 12.1% + 8.5% in the machine's, fetchBlock 4.4%,
 * integerOp 2.5% (SSE2 through its handler), regionNext gone. Since neither
 * transfers nor the trampoline cut the time, the run loop's share is mostly
 * entering a region's function (a megamorphic call, a big frame, the
 * prologue), not its checks: what would pay next is fewer entries, i.e.
 * regions that hold what runs together (a region takes only successors not
 * yet compiled when its head turns hot, so code that turns hot later forms
 * separate regions that exit into each other), and faster code inside them.
 *
 * Merged regions and member lookup (3 Dec, later). Merging regions along
 * the exits that keep leaving them was tried and not kept: a compiled
 * block's heat counted, from -mergeAfter, the run loop's entries into
 * another region right after it, and at 0 the two regions were compiled
 * again as one with the warm blocks they link to (if both fit in regionMax
 * and 16 KiB of source; without that cap merged regions grew past what V8
 * optimizes, 60 KiB of bytecode at most, --max-optimized-bytecode-size, and
 * the warm loop took 3x as long). Counted (shellLoopWhere.ts, third
 * 5000-iteration round) it cut the entries into compiled code by a fifth
 * (3.31 M -> 2.68 M, exits into another region 2.22 M -> 1.59 M, 70 merges
 * in all), but the time did not follow: shellLoopVariants.ts (10000-iteration
 * rounds, medians of the warm rounds, merging against none, load 6-10)
 * x0.78, x1.04, x1.16, x1.08 in four runs (mergeAfter 2000, 2000, 20000,
 * 2000), and the fork loop paid V8 for the new functions (oneWorkloadAB.ts
 * fork 100, compiler / interpreter per round: 1.38, 1.46, 0.95 with merges
 * after 2000 against 1.00, 1.11, 1.03 without). Like transfers and the
 * trampoline above: fewer entries into region functions do not buy time,
 * and a bigger function costs V8 more. Nor did a lookup of the targets
 * both links miss among the region's members (a RET to a third call site;
 * trusted only for a member the run loop or a link had reached under the
 * current link stamp, recorded per member at each entry): exits with no
 * link 931 k -> 781 k (-16%), entries -3% (most targets the links miss are
 * in other regions), time x1.10 (median of rounds 1-7, one run; x0.98 with
 * merges in another). Both were removed again, with the jump cache (off,
 * and it did not pay either). What would pay on the dispatch side is not
 * in the number of entries; the compiled code's own speed is the lever.
 *
 * What the run loop's own time is (3 Dec, later). Sampled by the V8
 * profiler, the warm shell loop spent ~27% in `run` itself (21% with
 * --no-turbo-inlining, so not its inlined callees) while only ~1% of its
 * instructions were interpreted (shellLoopProfile.ts: 1.8 M of 172 M).
 * perf (node --perf-prof, perf record -k 1 -e cpu-clock, perf inject -j,
 * perf annotate on `*run`) puts it at a few loads that miss the cache: of
 * run's samples, 36% on the interpreter's `insns[k]` and the map check of
 * that Insn (the rarely run blocks not hot yet: their Insn objects are cold),
 * 4% on the map check of a block's `insns` array, ~10% on the map check and
 * fields of the successor found through `prev.succ0/succ1`; the megamorphic
 * call into a region is apart from it (Builtins_CallFunction_ReceiverIs-
 * NullOrUndefined 5.7% of all samples, Call_ReceiverIsNullOrUndefined 1.4%).
 * So the run loop is bound by memory latency on Block and Insn objects, not
 * by its checks (which is why fewer entries did not pay above); the region
 * exit tail's checks line reads the exiting block and its successor the
 * same way. Two cuts measured and not kept (one process, the old and the
 * new code as variants on two machines, shellLoopVariants.ts-style,
 * 5000-iteration rounds; rounds 0-4 are V8's warm-up, rounds 5-11 summed):
 * the compiled path not reading the block's `insns` array in `run` (x1.06;
 * x0.92 in an earlier run's medians of rounds 1-7), the tail testing the
 * successor before the CPU's state with cpu.clock bound once (x1.18; x0.94
 * in the earlier run); Block's hot fields (eip, valid, linkStamp, succ0/1,
 * jit, jitEntry) declared first to share a cache line, two processes side
 * by side, x0.98. None beyond the noise. What would cut it: fewer cold
 * objects per block boundary (a compact per-region link table instead of
 * Block objects in the tail) and compiling the blocks that stay
 * interpreted (a lower threshold costs V8).
 *
 * Debian 686's boot (3 Dec, issue 13; test/cpu/measure/debianBootProfile.ts,
 * its counted run and scratch counters bundled the same way). The XZ
 * decompressor's 20.8 M "SHR r/m32, imm8" handler calls, thought to come
 * from hot blocks left interpreted (self-modifying-code drops, a heat
 * reset or a reject), are 66 C1 /5, SHR r16, imm8 (the range coder's
 * 16-bit probability update), 20.6 M of them called from compiled code: the
 * blocks are compiled (warm region members) and translate.ts has the C1
 * shifts for 32-bit operands only. With a 16-bit SHR form in a scratch copy
 * of translate.ts (not committed; the boot decompressed correctly, the XZ
 * data being CRC-checked), the CPU time to the kernel's first console line
 * (2394 M instructions) went 21.08 -> 19.49 and 21.71 -> 19.91 s (two pairs
 * run side by side, x0.92). Self-modifying code is not what costs: 810
 * code pages dropped per boot, 693 of them by a write beside the decoded
 * bytes (10.4 k blocks, 97 compiled, 1.25 M interpreted runs of heat lost),
 * and of 254 compile events only 8 compiled again a head whose code a write
 * beside it had dropped. So a finer-grained write watch (per-block byte
 * ranges or sub-pages) was not built: at most ~1% of the boot to gain, and
 * it would keep such pages watched, so every data write beside the code
 * would take the page walk of the slow path instead of the first only. The
 * hot threshold does not move the boot either (POPEK_BOOT_ONLY=1 runs side
 * by side, CPU s, load 9-12: 20000 98.3 / 5000 97.4, 20000 68.4 / 5000 91.4;
 * to the first console line 2000, 5000, 20000, 80000: 22.2, 21.4, 22.7,
 * 22.1 s, all four at once). Interpreted per boot ~330 M of 6.5 G
 * instructions: ~180 M in blocks' runs before they compiled, ~150 M in
 * blocks never hot (52 M in 346 EIPs with 10000-15000 runs, among them
 * blake2s_compress_generic's 48-instruction blocks at 13.7 k runs, whose
 * ROL/ROR are the 3.5 M rotate handler calls). Sampled (--cpu-prof, to the
 * first console line, the 16-bit SHR form in): compiled code 66%, the run
 * loop 13.5% + 3.6% in the machine's (entries from one of the
 * decompressor's ~12 regions into another; a third of the run loop's
 * samples on the call into a region's function), setLazy + computeLazy
 * 2.5%. Chaining regions into each other (the `chain` option) there: 23.10
 * and 22.78 s against 21.03 and 19.86 without (two pairs): slower, as on
 * the shell loop. The whole boot with the scratch 16-bit SHR form against
 * the same tree without it (POPEK_BOOT_ONLY=1, two pairs side by side, load
 * 7-8): 71.8 / 85.8 s and 74.6 / 65.7 s CPU (x0.84, x1.14): the ~1.7 s it
 * saves is within the noise of a whole boot on the shared machine; the
 * phase to the first console line measures it.
 *
 * Removed (3 Dec, issue 13): the switches `chain` (exits going on into the
 * next compiled block or region), `loops` (a single block looping in its
 * function) and `inlineExits` (off: the old region exits through regionNext),
 * with chain.ts, all off by default and measured above without paying
 * (chaining x1.10-1.15 slower on the decompressor phase, 0.97 against 0.90 on
 * the warm shell loop); regions and their exit tail are what remains.
 *
 * Flat segments and the size of the code (3 Dec, evening). Every access
 * checked its segment's two limits and added its base (three typed-array
 * loads and two compares before the TLB lookup), and every near branch its
 * target against CS's limit, though Linux's code, data and stack segments
 * are flat. With `flatSegments` (translate.ts flatGuard, segments.ts
 * FLAT_*) the code for a segment flat when it compiles is the TLB lookup
 * alone, guarded once at entry. Generated source for the shell loop 1.95 ->
 * 1.58 MB; the Debian 686 boot to the ready line, CPU time, off / on, two
 * pairs side by side (load 4-6): 61.25 / 54.54 and 58.09 / 48.93 s (x0.89,
 * x0.84); the warm shell loop x0.87-0.94 (one run, beside other work).
 * Two further cuts were measured and not kept:
 * - Direct transitions to region members (an exit whose target is a
 *   member's EIP, known when compiling, checks the budget and the CPU's
 *   state and goes on there, without reading the exiting and the next
 *   Block objects; an upper bound, the members' validity and the link epoch
 *   left unchecked): the warm shell loop got slower, 2.1 -> 2.7 s per
 *   10000-iteration round (two processes side by side): the checks at every
 *   exit made the functions bigger.
 * - Handing over to the interpreter from every slow path at the start of an
 *   instruction (the block stores the state before it and returns ~k; the
 *   run loop interprets the block from instruction k) instead of syncing and
 *   calling the accessor, with no exit test after the access: source 1.58 ->
 *   1.06 MB, but the warm shell loop did not move (it takes no slow path at
 *   all once warm: 0 hand-overs in its rounds, 180 k during the boot), the
 *   Debian boot x0.91 and x0.97 (two pairs), and a hot block with an
 *   unaligned or MMIO access would run its rest interpreted on every run.
 *   So the slow paths' size costs nothing once V8 has optimized a function
 *   (they become deopt points); what the warm loop pays is its fast paths,
 *   the region prologue and exit tail, and the run loop.
 * - The exit tail finding a member by exits known when compiling (two
 *   targets and members per member in typed arrays, trusted under the link
 *   stamp the region was compiled with, which a write to a member's page or
 *   dropped code ends) before reading the exiting and the next Block objects:
 *   rounds 3-7 of the warm loop 7.68 s without, 7.97 s with (two processes
 *   side by side). With the direct transitions above, this says the Block
 *   objects the tail reads are not what the warm loop waits for.
 *
 * Three more (3 Dec, late; quiet machine unless said). The hot threshold on the
 * bench's own cold loop (boot, then 200000 iterations, one process, CPU s):
 * 20000 26.65, 5000 28.04, 2000 28.45: a lower one compiles 1.6-2.3x the
 * code (V8's cost) for the ~0.7% of the warm loop's instructions still
 * interpreted (blocks run less than once per iteration, such as the timer
 * tick's), so 20000 stays. The generated functions binding Jit.bindings
 * to const names inside their factory (for V8's context specialization):
 * warm rounds x0.96 and x1.04 (two side-by-side pairs). A conditional
 * branch ending a member as one exit with its EIP chosen by the condition
 * (one register and flag write-back instead of two; source -4%): warm
 * x0.97 and x0.99, cold x0.88 and x1.01. A direct-mapped front of 4096
 * blocks before the block cache's map in fetchBlock: warm x0.92 and x0.98,
 * fetchBlock's samples 5.2% -> 4.8%, now waiting on the front array and the
 * Block object instead of the map. The tail's member test as `s.jit ===
 * q.jit` (or the function's own name) instead of `BS[s.jitEntry] === s`,
 * whose loaded element V8 checks for a receiver (perf's hottest spot in
 * the top region): warm x0.89, x1.07, x0.99, x0.94, x1.00, x0.97 in six
 * side-by-side pairs. None kept. Sampled warm (perf,
 * rounds 3-5 of 10000): region functions ~60%, run 15.8%, the call into
 * a region (Builtins_CallFunction_ReceiverIsNullOrUndefined) 6.1% + 1.0%,
 * fetchBlock 5.2%, computeLazy and testCondition under 0.5% each.
 *
 * Field representations (3 Dec, late). `node --trace-deopt` on a cold
 * 150000-iteration loop showed 134 region functions deoptimized for "wrong
 * map", against 16 on a 100000-iteration one: GuestClock.retired passes
 * 2^31 in between, V8 changes the field from small integer to double, and
 * every optimized function that touches the clock (each region's exit
 * tail, the run loop, the machine's loop) is thrown away and compiled
 * again. The field is a double from its constructor now (clock.ts), and the
 * lazy flags' operands and result are stored int32 (a CMP's out-of-range
 * difference had made lazyRes a boxed double): 6 such deopts left, and the
 * bench's boot + 200000-iteration loop x0.89 and x0.94 (two pairs side by
 * side). `npm run bench -- v86 tiny-linux` after it (quiet): shell loop
 * 27.09 s CPU against v86's 12.72 s guest time (x2.01 guest, x1.93 host;
 * the stop before, 37.96 / 17.11 s, x2.14 / x2.06).
 *
 * Two builds in one process (3 Dec, stop 26; measure/codeAB.ts). Pairs of
 * processes side by side favoured one of the two by up to ~10% whatever
 * the code, so the pairs above could not see a change of a few percent;
 * codeAB.ts boots machines of both builds in one process (A B B A) and
 * rotates them every round. With it, two cuts that read less cold memory:
 * the run loop no longer loads a compiled block's instruction array (perf:
 * a cache miss on it was 11% of `run`'s samples), and a member's exit to a
 * member decoded from its own page goes there on the member's validity
 * alone, without the link lookup (translate.ts memberOnPage). Both against
 * the stop's start, warm rounds of 10000 iterations: x0.91 (median per
 * round x0.92), swapped x1.11 (x1.12), i.e. ~x0.90; warm-up rounds x0.97
 * and x1.08. Not kept: generated functions in strict mode (the call builtin
 * then skips the receiver's conversion): x1.00; the members' validity in a
 * per-region Uint8Array (the tail then reads no Block object): x1.03 and,
 * swapped, x1.055, i.e. ~x0.99; a jump cache in fetchBlock (4096 blocks by
 * a hash of EIP, trusted under the link stamp they were fetched with,
 * filled on its misses only, unlike the one above): x1.10 (every round
 * slower); registers left in the locals from member to member (a region
 * storing every register it writes wherever it returns or syncs, instead
 * of each member storing its own at its exit): x0.985 and, swapped, x0.987,
 * i.e. ~x1.00; the tail skipping its checks of attention, exitBlock, single
 * step and a pending interrupt on a transition to a member on its page when
 * no accessor or handler ran since they last passed (a local set by every
 * sync): x1.02, x0.89, x0.96, x1.06 in four runs (both ways round twice),
 * i.e. within the noise; V8 flags on cold 100000- and
 * 30000-iteration runs, pairs of processes (--maglev,
 * --interrupt-budget=30000, --max-inlined-bytecode-size(-cumulative)
 * raised, --always-sparkplug, --no-lazy-feedback-allocation): within the
 * noise. Sampled warm after the two (perf): region functions 65%, `run`
 * 12.5%, the call into a region 6.2% + 1.6%, fetchBlock 5.3% (half of it
 * on the block map's buckets: RET and indirect exits the links miss).
 *
 * Boolean fields (3 Dec, stop 27). perf's hottest spot in the top regions
 * was the exit tail's test of the next member's `valid`: V8 does not type a
 * field holding true and false as boolean, so `if (s.valid)` compiled to a
 * generic ToBoolean (compare with two root values, load the value's map,
 * test its undetectable bit, compare the map with two more), a chain of
 * dependent loads at every member transition. The tail and the run loop
 * now compare their boolean fields (valid, attention, exitBlock, intrLine,
 * pollIntr) with true or false, one compare each: warm x0.87 (median per
 * round x0.93), swapped x1.13 (x1.14); the tail's share of the top region's
 * samples 62% -> 51%. Not kept: the tail not adding to the clock (the run
 * loop adding the members stepped through when the region returns, every
 * reading of the clock including those pending): x1.09 and, swapped,
 * x1.02, slower both ways; the tail not testing `s.jit !== null` (a valid
 * member of the running region always has its code): x1.02 and, swapped,
 * x0.92, within the noise, so the check stays; a member's last exit to
 * the next member (index + 1: a conditional branch not taken, in 74 of 318
 * members) as a fall-through into the next case with the tail's tests
 * inline, skipping the tail and the dispatch switch: x1.00 (median x0.99)
 * and, swapped, x0.98 (x0.95), i.e. no gain (so ordering members for more
 * such fall-throughs was not tried). Sampled warm after it
 * (perf): region functions 63%, `run` 10.3%, the call into a region
 * (CallFunction and Call builtins) 10.5%, fetchBlock 6.1%.
 *
 * The same work as v86, and the eval cache (4 Dec, stop 28). v86's
 * instruction counter against the CPU's over the bench's shell loop: 17,681
 * and 17,692 guest instructions per iteration (the same kernel and busybox;
 * the bench prints both now), so the ratio is speed alone: 248-276 against
 * 159-163 MIPS over the cold 200000 iterations. Warm (one machine, 10000-
 * iteration rounds after three) Popek takes ~90 us per iteration, v86 ~62
 * (x1.45); the cold loop adds the warm-up, ~3 s over the first 30000
 * iterations. codeAB.ts with a build against a copy of itself showed B/A
 * 1.096: the four machines ran 0.90, 1.10, 1.26, 1.26 s per round in boot
 * order, because V8 caches `new Function` by its source and machines
 * generating the same region source shared one function (see `generated`
 * below); numbered sources, 0.85, 0.90, 0.96, 0.95 s and B/A 1.027. The
 * bench (one compiling machine per process) did not move with it: shell
 * loop 21.68 against 22.21 s, boot 2.6 against 2.7 s (one run each, quiet).
 * The direct-mapped front before the block map (see above), measured again
 * with the numbered sources: x1.014 and, swapped, x1.045 (the later
 * machines' residual bias falls on B both times), i.e. ~x0.985: within
 * that bias, not kept. Sampled warm (perf): `run` 11.1%, the call into a
 * region 6.4% + 2.0%, fetchBlock 5.8%, region functions ~65% spread over
 * ~250 functions (the top one 4.8%: a byte-scanning loop whose samples lie
 * on the tail's loads of the next member and its map check, the clock's
 * double and the write barrier of the jitBlock store, none above 5%).
 *
 * State in objects against state in linear memory (4 Dec, stop 29;
 * measure/stateLayoutProbe.ts). The warm loop's hottest region is busybox's
 * strlen (a 3-instruction member looping to itself, 11% of the compiled
 * instructions; strcmp next, 8%). The same loop, warm MIPS on a quiet
 * machine: the compiler's region ~465; a hand-made JS function of the same
 * shape doing the same tail work (but the flat-segment guard and the `s.jit`
 * test) with the CPU state in typed arrays over one linear memory ~750 (x1.6); that function as WebAssembly ~870 (x1.9). So on
 * this loop most of the gap is the state in objects, not JS against
 * WebAssembly. Cutting one part of the real tail at a time: the member test
 * `BS[g].valid === true && s.jit !== null` with the jitBlock store of that
 * Block x1.28 (an upper bound: not correct code), the jitBlock store alone
 * x1.10, setLazy's call x1.13 (its stores written inline x1.05), the
 * attention / exitBlock / flags / interrupt tests x1.10; a per-region
 * Uint8Array of live members instead of the Block reads x1.00, with the
 * current member stored as an index instead of the Block x1.05-1.10 (noisy),
 * and with setLazy inline x1.18. setLazy written inline by flagWriteback
 * (flagCode.ts), on the whole warm shell loop (codeAB.ts): x0.965 and,
 * swapped, x1.033, i.e. no gain there, so not kept. What this
 * points to: a layout where the compiled code's per-transition state (budget,
 * attention, member liveness, clock, current member, lazy flags) is plain
 * numbers in typed arrays, which is also the first step of a WebAssembly
 * code generator sharing that memory.
 *
 * Pinned arrays and a tail without objects (4 Dec, stop 30). TurboFan's
 * code for the strlen region (node --print-opt-code) showed `regs[0] = r0`
 * as three loads and a bounds check before the store, where the TLB's and
 * the memory's loads use a constant address: V8 keeps a typed array made by
 * length with 64 bytes or less inside its heap, where its data may move
 * (pinnedArrays.ts). The CPU's registers, segment caches and hot scratch
 * arrays are over ArrayBuffers now: strlen 465 -> 500 MIPS, the warm shell
 * loop x0.929 and, swapped, x1.019 (codeAB.ts), i.e. ~x0.955. The
 * per-region liveness array measured before (x0.99 above, x1.00 in the
 * probe) had been such an on-heap array too. Pinned, with the running member
 * kept as an index (cpu.jitMember) instead of the Block (an object store
 * pays V8's write barrier), the tail reads and writes no object on a
 * transition to a member on its page (Block.jitLive, dropCode): strlen
 * 500 -> 610, warm loop x0.957 and, swapped, x1.128, i.e. ~x0.92. The tail's
 * tests of attention, exitBlock, single step and a pending interrupt were
 * then 15% of strlen (the probe's noChecks): only a call out of generated
 * code changes them, and every such call follows a sync, which now sets a
 * local `ck` the tail tests first: warm loop x0.923 and, swapped, x1.018,
 * i.e. ~x0.95 (the same cut was within the noise on stop 26's slower
 * tail). With these the probe's hand-made JS over typed arrays is x1.26
 * ahead of the compiler's region (was x1.6), and moving the remaining tail
 * state (budget, clock, lazy flags, member) into pinned typed arrays x1.13
 * (inline setLazy no longer gains: V8 inlines the call). Sampled warm after
 * these (perf): region functions ~68%, `run` 13.5%, the call into a region
 * (CallFunction and Call builtins) 11.1%, fetchBlock 7.2%. Not kept: four
 * successor links per block instead of two in the run loop (a RET's third
 * and fourth call sites found without fetchBlock): x1.011 and, swapped,
 * x1.002. The hot threshold on the cold loop (shellLoopVariants.ts, ten
 * 20000-iteration rounds, one process): 20000, 10000, 5000 summed 20.1,
 * 19.6, 19.3 s, within the noise of three machines on two cores; 20000 kept.
 * Generated functions in strict mode again (the call builtin's receiver
 * conversion is a fifth of its samples): x0.989 and, swapped, x1.032, the
 * medians of both x0.999: not kept. The checks' skip must not reach a CPU
 * that asks for interrupts between blocks (pollIntr: the VMX preemption
 * timer's deadline moves with the clock alone, and a compiled loop ran past
 * it; test/cpu/jit/vmxNonRoot.test.ts), hence `cb` in the region prologue.
 *
 * The tail's counters in locals (4 Dec, stop 31). perf annotate on the warm
 * loop's top region (3.4% of all samples) put 30% of its samples on
 * `cpu.clock.retired += d`: the load, add and store of a double behind the
 * clock object at every member transition, a chain through memory from one
 * transition to the next. The tail now counts in locals (`left` for the
 * budget, `dd` for the clock, `pc` for the member) and hands them to the
 * Cpu where the region returns and in every sync, since only a call out of
 * generated code can read the clock or fault (regionTail): codeAB.ts x1.025
 * (median per round x0.941) and, swapped, x0.910 (x0.890), i.e. ~x0.97
 * (medians ~x0.92), both on a busy machine. A conditional branch ending a
 * member now chooses the successor (`t`, `g`) and leaves through one
 * write-back of registers and flags instead of one per way (translate.ts
 * branchExit; measured on stop 26 with process pairs at x0.97 and x0.99,
 * too close for that method): codeAB.ts x0.869 (median x0.928) and,
 * swapped, x0.954 (x0.972), i.e. ~x0.91 (medians ~x0.95). Both against
 * the stop's start as codeAB.ts builds, ten 20000-iteration rounds (the
 * bench's cold loop): warm-up x0.976 and swapped x1.004, warm x1.007 and
 * swapped x1.025: no gain measurable on a machine whose rounds varied by
 * up to x1.9 that afternoon; the perf profile shows the clock's spot gone.
 * Not kept: heat counted per four instructions (a block's run adding
 * (length + 3) >> 2), so that the kernel's timer-tick blocks (18-48
 * instructions, ~0.12 runs per iteration, never hot in the bench: 2,848
 * blocks, 1.5% of the warm loop's instructions interpreted) compile too:
 * warm x1.28, every round slower (long blocks turning hot early form
 * smaller regions; the same happens with a lower threshold:
 * shellLoopVariants.ts, ten 20000-iteration rounds, hot threshold 20000,
 * 5000, 2000: warm medians x1.00, x1.09, x1.11, 161, 240 and 328 regions;
 * 40000 and 80000 x1.07 and x1.35, regionMax 64 x1.22, warm successors
 * from a sixteenth or a half of the threshold instead of a quarter x0.98
 * and x1.07, all on a busy machine). Sampled warm after the two cuts
 * (perf): region functions 57%, `run` 13.8% (a sixth of it on the cold
 * instruction objects of the 1.5% still interpreted, a tenth on the map
 * of the successor Block), the call into a region 12.7% (over half of
 * Builtins_CallFunction's samples on one load: the callee's
 * SharedFunctionInfo flags, a cache miss per entry; strict mode would
 * skip only the receiver's loads after it), fetchBlock 7.7% (over half on
 * the block map's bucket and entry loads).
 *
 * The lazy flags in a typed array, and where the gap to v86 lies (4 Dec,
 * stop 32). The lazy state moved from six Cpu fields into a pinned
 * Int32Array (cpu.lazy, flags.ts LZ_*), which generated code writes as six
 * stores at fixed addresses (flagCode.ts flagWriteback) instead of a setLazy
 * call on the object: strlen's region (stateLayoutProbe.ts) 840 -> 910 MIPS,
 * the probe's bound with no lazy stores at all 995; the whole warm loop
 * (codeAB.ts) x0.994 and, swapped, x1.009, i.e. unchanged. Kept: the same
 * speed where it is not faster, and the lazy state is plain data at fixed
 * addresses, as a WebAssembly code generator sharing the CPU's state would
 * need it. measure/warmRounds.ts runs Popek and v86 in one process, taking
 * turns on rounds of 10000 iterations: the first three rounds (both JITs'
 * warm-up) x2.16 and x1.77, the nine and five after x1.70 and x1.58 (two
 * runs, v86 0.6-1.1 s per round as the machine's load changed). So the
 * steady state, not only the warm-up, is ~x1.6 behind: of the bench's cold
 * 200000 iterations the warm-up is ~3 rounds of 20. Sampled warm (perf):
 * region functions 54%, `run` 14.2% (a fifth of it on the cold Insn objects
 * of the blocks still interpreted, a tenth on the map check of the
 * successor Block the links give), the call into a region 13.0% (CallFunction
 * 8.7%, Call 3.6%, 0.7%), fetchBlock 6.8%: a third of the time goes to
 * entering compiled code, in cache misses on objects (Block, Insn, the
 * callee's function data) that a dispatch over plain memory would not have.
 * The hot threshold again, on the bench's length (warmRounds.ts, twenty
 * rounds, ratio to v86 over all of them): 20000 x1.77, 10000 x1.79, 5000
 * x1.71, within what v86's own rounds varied (its first three took 3.6 to
 * 5.2 s from one run to the next); 20000 stays.
 *
 * What entering compiled code costs, JavaScript against WebAssembly (4 Dec,
 * stop 33; measure/dispatchProbe.ts). A model of the warm loop's traffic:
 * 256 regions of one shape (four registers loaded from and stored to a
 * state area, ALU work, guest reads through the TLB, the six lazy stores),
 * entered 2 M times per round in a fixed pseudo-random order of 780
 * entries, all state in one shared linear memory; ns per entry once warm,
 * three runs on a quiet machine. At 21 guest instructions per entry (the
 * shell loop's 22): a JS run loop calling JS functions 40-44 ns (~500
 * MIPS), the same loop calling the regions compiled to WebAssembly 46 ns,
 * a dispatch loop in WebAssembly entering them by call_indirect 25 ns
 * (~830 MIPS, x1.6: the gap to v86). At 6 instructions per entry 31 / 34
 * / 17 ns, at 63 instructions 103 / 92 / 62 ns: WebAssembly saves ~15 ns
 * per entry in the dispatch and runs the regions' own work ~x1.5 faster
 * (guest reads without bounds checks). A JS-to-WebAssembly call costs what
 * a JS call costs, so WebAssembly regions pay only with the dispatch
 * between them in WebAssembly too. And the warm-up: the first round of 2 M
 * entries took 300 ns per entry in JS (V8 tiering up 256 functions), 26 in
 * WebAssembly (compiled before it runs); with 1024 regions the JS rounds
 * were still falling after five (220 ns), WebAssembly 40 ns from the first.
 * So the design the numbers ask for: guest memory, registers, lazy flags,
 * TLB and the tail's state in one WebAssembly.Memory, regions compiled to
 * WebAssembly functions in a table, and a dispatch loop in WebAssembly that
 * goes from region to region and returns to the run loop only for an
 * interpreted block, an event or a slow path.
 *
 * A WebAssembly back end, first cut (4 Dec, stop 33; wasm/, off by default,
 * POPEK_JIT_WASM=on). The processor's memory became one shared
 * WebAssembly.Memory with a state area per processor after the physical
 * memory (core/memory/processorMemory.ts: the TLB, registers, lazy flags,
 * segment caches, member liveness, a jump cache); the JS side uses views of
 * the same bytes (warm shell loop x1.025 and, swapped, x0.97: unchanged).
 * wasm/wasmRegion.ts compiles a region whose members all have a translation
 * there (the fast forms with the stack, the common further forms; 77% of
 * the shell loop's instructions lie in blocks it translates,
 * measure/wasmForms.ts), wasm/wasmDispatch.ts goes from region to region
 * through a function table and a jump cache without JavaScript, and one
 * function (wasmRuntime.ts) is every WebAssembly member's code for the run
 * loop. Differential tests pass with it on (test/cpu/jit with
 * POPEK_JIT_WASM=on, test/cpu/jit/wasm). Measured on the warm shell loop
 * (codeAB.ts, the build with it on as B): 50 of 159 regions compiled to
 * WebAssembly (a region with one untranslated member stays JavaScript), 35%
 * of the instructions ran there, in ~25 per region run, half of the runs
 * entered from the dispatch loop; the whole loop x1.19, then x1.10 once
 * INC/DEC's flags were written inline instead of through a setLazyCarry
 * import (the hottest call out, once per region run). Sampled (perf):
 * WebAssembly regions 15% of the samples for 35% of the instructions,
 * JavaScript regions 29% for ~63%, i.e. about the same per instruction; the
 * dispatch loop 4.4%, the run loop's entry function 2.6%, the conversion of
 * a heap number argument (the CS limit 0xffffffff, passed as int32 since)
 * 1.9%. strlen's region (stateLayoutProbe.ts real) 905 -> 980 MIPS, its
 * first round 527 -> 709. So the code V8 makes of these regions is not
 * faster as WebAssembly; what the dispatch probe's x1.6 promised needs the
 * regions' state kept in locals across members and regions instead of
 * written back at every member exit, all the hot forms (a region with one
 * JavaScript member keeps the crossings), and EFLAGS in the state area (the
 * conditions on flags from before a member call out for them). Off by
 * default until it pays. With more forms (memory through segments with a
 * base or limit, SETcc, shifts by immediates, PUSH m32, JMP and CALL
 * r/m32), 88% of the loop's instructions lie in blocks it translates, and
 * the loop ran slower still: x1.36 (codeAB.ts). Sampled: WebAssembly regions
 * 32%, JavaScript regions 17.5%, the dispatch loop 8.5%, `run` 11.8%, the
 * entry function 3.3%, fetchBlock 5.4%, the JS call builtins 8%: the regions
 * take about what all regions took before, and the dispatch loop comes on
 * top while the run loop's share hardly falls. Presumably (not measured
 * yet) because a WebAssembly region leaves for the dispatch loop at every
 * RET or indirect jump to another page, which a JavaScript region follows
 * to its member through the exiting block's links: the next step is such
 * links for WebAssembly members (an inline cache of targets per member, in
 * the state area) and counting the dispatch loop's transitions and exits.
 *
 * Four ideas for the JavaScript back end's entries, measured and dropped (4
 * Dec, stop 34; codeAB.ts, warm rounds B/A): generated functions in strict
 * mode (no receiver conversion in the call builtin) 0.98-1.00; a region's
 * tail entering another region's code itself instead of returning to the
 * run loop (up to 8 regions deep) 1.00 warm but 1.19 in the warm-up (V8
 * inlines the polymorphic calls into the tails); regions that also take in
 * already compiled successors as copies (the run loop's entries 755 -> 362
 * per iteration) x5.4, their functions past V8's limit for optimizing
 * (60 KB of bytecode: they stay in its baseline tier), and still x1.25
 * with that limit raised (--max-optimized-bytecode-size): TurboFan's code
 * gets slower per instruction as the function grows; and a direct-mapped
 * array of the last block fetched per slot of code addresses before
 * fetchBlock's Map 0.99-1.01. Sampled (perf, warm): regions 44%, `run` 14%
 * (its hot spots are loads that miss the cache: a successor Block's map,
 * the Insn objects of the 1% still interpreted), the call builtins 10%,
 * fetchBlock 6.6%.
 *
 * The WebAssembly back end takes the whole loop (4 Dec, stop 34).
 * measure/wasmExits.ts counts why its dispatch loop returns to the run
 * loop and what its regions call out for (wasmRuntime.ts wasmHooks). With
 * stop 33's back end, per loop iteration: 61% of the instructions in
 * WebAssembly, 203 entries from the run loop, 178 of them returning
 * because the next block was JavaScript code. So: instructions without a
 * WebAssembly form call their interpreter handler through a `handler`
 * import (up to wasmHandlerCalls per member, as translate.ts's handlerCall;
 * the import tells the code whether to stop, as the interpreter does when
 * a handler ends the block, or to return to the run loop at the end of the
 * member, when what the run loop checks between blocks or what the code
 * and the dispatch loop assume changed), and a hot block without a region
 * becomes a WebAssembly region of one member: every compiled block is
 * WebAssembly, and 120 returns per iteration were left, each for a member
 * whose jump cache slot another had taken (the cache was filled only when
 * members compiled: ~1,100 members in 4096 slots collide); the run loop now
 * gives a member its slot back when it enters it, and the cache has 16384
 * slots: 11 entries from the run loop per iteration (1,550 instructions
 * each) against the JavaScript back end's 755 (23 each), 98.9% of the
 * instructions in WebAssembly, 334 handler calls and 61 condition calls per
 * iteration (SSE2 string code, SUB m32, shifts by CL, IMUL, REP MOVSB/STOSB,
 * CMPXCHG, XCHG m32, INC/DEC m32 lead). The differential suite with it on
 * then found that a fault in a region lost the instructions of the regions
 * the dispatch loop had run before it in the same entry (they were added to
 * the clock only when the loop returned): each region now gets them as a
 * parameter and puts them on the clock at its first call out. Speed: the
 * warm shell loop (codeAB.ts with the same build on both sides, one back
 * end per process, in turns) 1.7-1.9 s per round against 0.77 for the
 * JavaScript back end, x2.3; sampled, WebAssembly regions 54%, the dispatch
 * loop 13%, the handler import 10% with the handlers, spread over hundreds
 * of functions with their entries hot (4 machines' 253 modules each). An
 * interpreter handler called from WebAssembly costs far more than the
 * JavaScript back end's inline form of the same instruction (the CPU
 * benchmark's regions: 89 MIPS against 372). So the handler calls are
 * there (wasmHandlerCalls, tests, POPEK_JIT_WASM_HANDLERS=8) but 0 by
 * default, which leaves the back end where stop 33 had it, measured the
 * same way: 1.18 s per round against 0.77, x1.52. (codeAB.ts with the two
 * back ends in one process gave x1.42 and x2.40 for these builds, and one
 * round of runs read 0.74-0.76 s for the WebAssembly builds that later
 * runs did not reproduce; stop 33's x1.10-x1.36 came from mixed runs.)
 * It stays off; what it needs next is the forms (so that no hot code
 * calls a handler), then the state across regions in locals.
 *
 * The WebAssembly back end overtakes the JavaScript one (5 Dec, stop 35;
 * codeAB.ts, each build against itself, one per process, seconds per warm
 * 10000-iteration round of the shell loop; JavaScript 0.77-0.80 throughout).
 * Six changes, in order, each measured (with handler calls on, 8 per
 * member, the figures of the stop before: 1.76):
 * - The CPU benchmark ran at 85 MIPS with the back end on: a bare CPU polls
 *   for interrupts (Cpu.pollIntr), and the dispatch loop returned after
 *   every member while it did, though the run loop only polls with IF set.
 *   `once` now takes the run loop's test: 690 MIPS, against 372 for
 *   JavaScript. So WebAssembly's code was not slow per instruction; the
 *   shell loop's time went elsewhere.
 * - Region functions are named (encoder.ts nameFunction), so profiles tell
 *   them apart. Their code lay at random addresses all over the address
 *   space: V8 reserves code space per module at a random address, and each
 *   region was a module, so every region entry missed the instruction TLB
 *   and caches (measure/dispatchProbe.ts `wasmsep`: 25 -> 35 ns per entry
 *   for 256 regions). Regions are now compiled again as one module per 32
 *   (wasmRuntime.ts consolidate): 1.76 -> 1.31 (8 per module 1.36, 64
 *   1.31, 128 1.41). The jump cache entry holds the region and its flat
 *   needs (one cache line for the lookup): 1.25.
 * - Forms for what the shell loop called handlers for most: the ALU, INC/
 *   DEC, NOT/NEG, XCHG and CMPXCHG on memory (read-modify-write), 16-bit
 *   moves: 1.11; libc's SSE2 string code as WebAssembly SIMD over the XMM
 *   registers, now in the state area (processorMemory.ts AREA_XMM), the SSE
 *   gate in a state slot: 0.95; the jump cache indexed by the linear
 *   address, so its entry and the TLB entry load at once: 0.90.
 * - Not kept: the tail looking up a member on another page in the jump
 *   cache itself instead of returning to the dispatch loop to be entered
 *   again (dispatch steps 1051 -> 723 per iteration, re-entries of the
 *   same region 327 -> 0): unchanged, 0.96 against 0.96 in turns.
 * - The regions took 70% of the samples, the busybox ones with long runs
 *   of PUSH three times what JavaScript took for them. Every inline access
 *   had a slow path that synced the state, called the interpreter's
 *   accessor through an import and went on: TurboFan's code for WebAssembly
 *   keeps such calls (JavaScript's turns a path never taken into a
 *   deoptimization exit), and spills around them. Now a slow path hands
 *   the instruction over: the region stores its state and returns before
 *   the instruction, and the run loop interprets the rest of the block from
 *   there (Cpu.jitResume, without a look at interrupts in between, as when
 *   the whole block runs interpreted): 0.90 -> 0.60, and 0.55 without
 *   handler calls (the default). A device access or a page crossing then
 *   runs the rest of its block interpreted; the warm loop takes none.
 * With that the back end is on by default (JitOptions.wasm). Not kept
 * after it: forms for NOP, MOV r8, imm8, INC/DEC r8 and CMOVcc (regions
 * with them stay JavaScript): 0.56 against 0.555 s per round, in turns.
 *
 * Whole regions JavaScript, and the warm-up (5 Dec, stop 36). A region is
 * WebAssembly only if every member is (wasmRegion.ts), so the forms above
 * made few regions WebAssembly: measure/wasmRegionForms.ts (which forms
 * keep whole regions out, weighted by the instructions the regions run)
 * put the warm loop at 81% in WebAssembly regions, 17.5% in JavaScript
 * ones, kept there by some 25 forms, none alone more than 1.9%. EFLAGS
 * now lives in the state area while WebAssembly code runs (JIT_EFLAGS:
 * stored at entry, taken back at every return and around every import
 * call), so forms write the flags that are not lazy without a call out;
 * with forms for IMUL, DIV, ROL/ROR, BT/BTS/BTR/BTC, BSF/BSR, ADC/SBB,
 * CMOVcc, TEST r16, MOV r8, imm8, INC/DEC r8, NOP and CLD/STD: 91%; with
 * MOVS and STOS (REP as memory.copy and memory.fill where the handler does
 * the count in one page-chunk) and shifts by CL: 99%, no JavaScript region
 * left in the warm loop. codeAB.ts (each build against itself, three
 * turns): 0.580 -> 0.476 s per warm round. The bench's loop is cold,
 * though (200000 iterations right after the boot, realtime clock: bench/
 * linuxBench.ts), and its first 20000 iterations cost ~3 s more than warm
 * ones: blocks that run once per iteration were interpreted until their
 * 20000th run. With every region WebAssembly a lower threshold pays (the
 * JavaScript back end's V8 tiers made it cost more than it gained, above):
 * boot and cold 200000 iterations, one process each, in turns, guest
 * seconds: threshold 20000 12.38, 12.16, 12.10, 12.31 (10000: 12.31,
 * 11.66); 5000 10.39, 10.45, 10.72, 10.81, 11.21; 3000 10.98, 11.28;
 * 2000 10.50, 10.75, 10.91; Tiny Linux's boot unchanged at 5000 (2.6-2.9 s)
 * and 10% longer at 2000, Debian 686's boot 17.5 -> 18.7-19.5 s at 5000
 * (more code compiled). Hence 5000. `npm run bench -- v86 tiny-linux`
 * (quiet): shell loop 12.57 s guest against v86's 12.01 (x1.05 guest, x1.00
 * host; stop 35 x1.19), CPU benchmark 880.9 MIPS; `npm run bench -- v86
 * debian-686 boot`: 16.4 s against 11.9 (x1.38). The bench's own loop
 * varied 10.4-12.6 s over the day in the same configuration, v86's 11.7-
 * 13.0. Sampled warm (perf, rounds 2-4 of codeAB.ts): region functions
 * 31.5%, the dispatch loop 16.5% (now the largest single function: the
 * call_indirect and the jump cache loads), the run loop 5.5%, V8's
 * compiler threads 9.5% (regions of blocks turning hot late, and the
 * consolidation compiling every 32 regions again), JavaScript regions 1.9%.
 * Measured and not kept: measure/wasmExits.ts found 20 of the warm loop's
 * 22 returns to the run loop per iteration were members whose jump cache
 * slot another had taken (~600 members a pass in 16384 slots: ~10 pairs
 * by the birthday bound, each evicting the other every pass). A two-way
 * jump cache (the most recently filled way first) cut the returns to 2.2
 * per iteration, and the time did not follow: codeAB.ts, six turns of
 * each build against itself, 46.51 s against 45.92 (x0.99), the first
 * version (both ways' fields or-ed, no early exit) x1.04. Like the
 * entries cut before (stops 31 and 35), fewer trips through the run loop
 * do not buy time while the dispatch loop's own lookup gets longer.
 *
 * Steps between regions (5 Dec, stop 37). The dispatch loop made 1070
 * region calls per warm iteration (measure/wasmExits.ts, which now counts
 * them: wasmRuntime.ts wasmHooks.countSteps), 16 instructions each; a
 * one-off trace of every block transition over one round (the run loop
 * patched to report each block, the compiler off after the warm-up, each
 * block labelled with its region) put 3595 transitions per iteration in
 * three kinds: 2500 inside a region on one page (the tail's steps), 750
 * between regions (320 calls, 273 returns, 148 conditional jumps) and 320
 * between members of one region on different pages (162 returns, 99
 * calls, 36 indirect jumps), which the tail left to the dispatch loop
 * because translate.ts memberOnPage vouches only for the block's own page.
 * The tail now steps to a member on another page too, after the dispatch
 * loop's check inline (wasmRegion.ts memberAt, pageMapped: the TLB entry of
 * the member's constant linear page, executable at the CPL and mapping the
 * physical page it was fetched from): 1070 -> 750 calls, warm loop x0.94
 * and x0.96 (codeAB.ts with both orders of the two builds, ten rounds).
 * A dynamic exit (RET, JMP/CALL r/m32) compared its target with every
 * member's EIP, up to 32 compares and branches per RET; it now compares
 * with the block's successor links, the next instruction and, for a RET,
 * the region's return sites (dynamicTargets): 763 calls (13 more missed),
 * warm loop x0.92 and x0.90 (both orders). Measured and not kept: copies
 * of earlier regions' members in later regions (grow taking WebAssembly
 * members too, not past a RET, whose links lead to other callers' return
 * sites; a copy's liveness cleared with its block's): region calls 750 ->
 * 355 per iteration, members 1223 -> 1815, and the warm loop x1.55 and
 * x1.37 slower with the every-member compares, x1.02 and x1.00 after
 * them: what the dispatch loop saves, the larger region functions lose.
 * Sampled, the dispatch loop's time is its loads' misses: the jump cache
 * entry (30% of its samples on the instruction after that load), the TLB
 * entry and the liveness byte (12% each). Also measured and not kept: the
 * `condition` import's common cases inline (ZF, SF, PF from the lazy
 * result or EFLAGS, CF from EFLAGS when not lazy, B/BE/L/LE after a
 * full-mask SUB): its calls 31 -> 1.4 per iteration, the warm loop x1.00
 * (codeAB.ts, 17 warm rounds in each order: 1.001 and 0.996).
 * Compilation cost: the fork loop's first 300 runs (what the bench times)
 * cost as much CPU compiled as interpreted (x0.98-1.09 over the last two
 * stops), V8's compiler threads 1.3-1.6 s of its ~7 s. --trace-opt showed
 * them busy with JavaScript regions (kernel code with an instruction
 * without a WebAssembly form, ~30 regions; run now and then, they
 * deoptimize on the type feedback of paths first taken after optimization,
 * and compile again: 36 optimizations in six warm rounds of the shell
 * loop, 11 once they were WebAssembly). With wasmHandlerCalls 8 instead of
 * 0 every region of the shell and fork loops is WebAssembly: fork loop CPU
 * (bench/linuxBench.ts's loop after the shell loop, one process per run,
 * in turns) 6.20 -> 5.58 s (medians of seven runs; interpreted 6.8-7.2),
 * Debian 686's boot 16.2-20.2 s wall / 20.0-24.9 s CPU -> 16.7-16.8 /
 * 19.4, the cold shell loop 10.10 -> 10.36 s (medians of seven, each run's
 * spread 9.6-13.1), the CPU benchmark unchanged (816 and 873 MIPS).
 * `npm run bench -- v86 tiny-linux`, three quiet runs with all of it: the
 * shell loop x0.92, x0.84 and x0.82 of v86's in guest time (x0.85, x0.80,
 * x0.79 in host time; stop 36: x1.05, x0.83, x0.90), the fork loop x0.84,
 * x0.74 and x0.77 of the interpreter's CPU time (stop 36: x0.99-1.09);
 * `npm run bench -- v86 debian-686 boot`: x1.27 of v86 (16.5 s / 13.0).
 *
 * A block is compiled when the run loop has interpreted it `hotThreshold`
 * times (Block.heat) and every instruction in it has a translation
 * (translate.ts). The compiled function belongs to its decoded block: it is
 * dropped with it when the block's page is written or the code cache is
 * flushed, since the run loop only ever reaches a block through the block
 * cache or a successor link that checks `valid`.
 */
import type { Cpu } from '../cpu.ts';
import type { Block } from '../decoder.ts';
import { getFlag, PARITY, setLazy, setLazyCarry, testCondition } from '../flags.ts';
import { aluCompute } from '../ops/alu.ts';
import { translateBlock, translateRegion } from './translate.ts';
import { pinned } from '../pinnedArrays.ts';
import { WasmBackend } from './wasm/wasmRuntime.ts';

/**
 * A compiled block: runs it on `cpu` and returns the instructions retired
 * in the last block it ran (a region's members it stepped through before
 * count themselves on the clock and in `cpu.jitLeft`, and leave the last
 * one in `cpu.jitBlock`).
 */
export type CompiledBlock = (cpu: Cpu) => number;

export interface JitOptions {
  /** Compile hot blocks (off: the interpreter runs everything). */
  enabled: boolean;
  /** Interpreted executions of a block before it is compiled. */
  hotThreshold: number;
  /** Generated source kept alive at most, in bytes; over it, all compiled code is dropped. */
  budgetBytes: number;
  /**
   * Instructions of a block that may lack an inline translation (they call
   * their interpreter handler from the compiled code); a block with more
   * stays interpreted.
   */
  maxHandlerCalls: number;
  /**
   * Compile regions rather than single blocks (translate.ts translateRegion):
   * a block turning hot is compiled together with the blocks the run loop
   * has linked it to (successor links, transitively, up to JIT_REGION_MAX
   * blocks) that are warm (heat at least hotThreshold / 4) and not compiled
   * yet, into one function that steps between them without returning to
   * the run loop (translate.ts regionTail: where the run loop would run
   * another member next); its exits to code outside it return to the run
   * loop. A single block that links to itself is a region of one: it
   * loops in its function. On by default (measured above;
   * POPEK_JIT_REGIONS=off turns it off).
   */
  regions: boolean;
  /** Blocks in one region at most. */
  regionMax: number;
  /**
   * Compile accesses through flat segments (base 0, no limit: Linux's code,
   * data and stack segments) as the TLB lookup alone, with a guard at entry
   * (translate.ts flatGuard). Off: every access checks its segment's limits
   * and adds its base (POPEK_JIT_FLAT=off).
   */
  flatSegments: boolean;
  /**
   * Compile regions into WebAssembly where every member has a translation
   * there or at most wasmHandlerCalls instructions without one (wasm/; the
   * others stay JavaScript). On by default since stop 35 (the history
   * above: the warm shell loop x0.69 of the JavaScript back end);
   * POPEK_JIT_WASM=off compiles every region to JavaScript.
   */
  wasm: boolean;
  /**
   * Instructions of a member that may call their interpreter handler from
   * WebAssembly code (wasm/wasmRegion.ts handlerCall); a region with a
   * member over that stays JavaScript. 8 by default since stop 37: a call
   * costs more than JavaScript code for the same member (the history above,
   * stops 34 and 35), but no hot code of the shell loop calls one any more,
   * and the JavaScript regions left (kernel code that runs now and then)
   * cost V8's optimizing compiler more than the calls cost (the history,
   * stop 37); POPEK_JIT_WASM_HANDLERS=n sets it.
   */
  wasmHandlerCalls: number;
}

/** Blocks in one region at most. */
export const JIT_REGION_MAX = 32;

/** Forgets `block`'s compiled code; its region's exit tail no longer steps into it. */
function dropCode(block: Block): void {
  block.jit = null;
  block.leaveRegion();
}

/**
 * On by default since 3 Dec: `npm run bench` (2 Dec, beside the suite) had
 * the bare PC with the compiler at x0.86 of the interpreter's boot, x0.60 of
 * its shell loop and x0.84 of its system-call loop, the fork loop alone
 * slower (x1.15: code that turns hot during a short workload pays V8's
 * compile), and the Debian 686 boot test at x0.56; the region exit tail and
 * the system-call path of 3 Dec gain more. The whole suite passed with it on
 * (POPEK_JIT=on, 241 files, 3 Dec) as it does off. The environment variable
 * POPEK_JIT=off turns it off by default for a whole process (the suite runs
 * both ways; `--jit off` and MachineOptions.jit per machine).
 */
const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
/** POPEK_JIT_HOT=n overrides the hot threshold likewise (a low one makes small tests run compiled code). */
const envHot = Number(env.POPEK_JIT_HOT);
const envWasmHandlers = Number(env.POPEK_JIT_WASM_HANDLERS ?? NaN);

/** What generated code reaches by name: the CPU's fixed arrays and the interpreter's helpers. */
function bindingsOf(cpu: Cpu): Record<string, unknown> {
  return {
    regs: cpu.regs, lz: cpu.lazy, u8: cpu.u8, i32: cpu.i32, tlbR: cpu.tlbRead, tlbW: cpu.tlbWrite, sB: cpu.segBase, sRL: cpu.segRLo,
    sRH: cpu.segRHi, sWL: cpu.segWLo, sWH: cpu.segWHi, sLim: cpu.segLimit, PARITY, testCondition, getFlag, aluCompute,
    setLazy, setLazyCarry,
  };
}

export const JIT_DEFAULTS: Readonly<JitOptions> = {
  enabled: env.POPEK_JIT !== 'off',
  hotThreshold: Number.isInteger(envHot) && envHot >= 1 ? envHot : 5000,
  budgetBytes: 16 << 20,
  maxHandlerCalls: 8,
  regions: env.POPEK_JIT_REGIONS !== 'off',
  regionMax: JIT_REGION_MAX,
  flatSegments: env.POPEK_JIT_FLAT !== 'off',
  wasm: env.POPEK_JIT_WASM !== 'off',
  wasmHandlerCalls: Number.isInteger(envWasmHandlers) && envWasmHandlers >= 0 ? envWasmHandlers : 8,
};

/**
 * Functions generated in this isolate so far: each one's source carries its
 * number, so that no two are the same text. V8 caches what `new Function`
 * compiles by its source text (the eval cache: the function's shared info
 * and its feedback cell), so machines in one process (tests,
 * measure/codeAB.ts) ran region functions sharing the first machine's, the
 * later machines up to x1.4 slower (the history above, stop 28), and a
 * region compiled again after its page was written would share the
 * dropped one's.
 */
let generated = 0;

export class Jit {
  private readonly cpu: Cpu;
  private options: JitOptions = { ...JIT_DEFAULTS };
  /** bindingsOf(cpu)'s names and values, in the same order. */
  private readonly bindingNames: readonly string[];
  private readonly bindings: readonly unknown[];
  /** Blocks holding compiled code, for the budget (some may since have been invalidated). */
  private compiledBlocks: Block[] = [];
  /** Counters. */
  blocksCompiled = 0;
  blocksRejected = 0;
  regionsCompiled = 0;
  /** Regions compiled to WebAssembly (of regionsCompiled). */
  wasmRegions = 0;
  sourceBytes = 0;
  flushes = 0;

  /** The WebAssembly back end, made when first used (null: the processor's memory has none). */
  private wasmBackend: WasmBackend | null | undefined = undefined;
  /** Regions the WebAssembly back end compiled again into modules shared with others (wasmRuntime.ts consolidate). */
  get wasmConsolidated(): number {
    return this.wasmBackend?.consolidated ?? 0;
  }
  /** Returns of WebAssembly code before an instruction whose inline form could not run it, for the run loop to (Cpu.jitResume). */
  get wasmHandOvers(): number {
    return this.wasmBackend?.handOvers ?? 0;
  }

  constructor(cpu: Cpu) {
    this.cpu = cpu;
    const named = bindingsOf(cpu);
    this.bindingNames = Object.keys(named);
    this.bindings = Object.values(named);
    cpu.jitHot = this.options.enabled ? this.options.hotThreshold : -1;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  get settings(): Readonly<JitOptions> {
    return this.options;
  }

  /** Applies options; turning the compiler off drops every compiled block. */
  configure(options: Partial<JitOptions>): void {
    const next = { ...this.options, ...options };
    if (!Number.isInteger(next.hotThreshold) || next.hotThreshold < 1) throw new Error(`jit hotThreshold must be a positive integer, got ${next.hotThreshold}`);
    if (!Number.isInteger(next.regionMax) || next.regionMax < 1) throw new Error(`jit regionMax must be a positive integer, got ${next.regionMax}`);
    if (!(next.budgetBytes > 0)) throw new Error(`jit budgetBytes must be positive, got ${next.budgetBytes}`);
    if (!Number.isInteger(next.wasmHandlerCalls) || next.wasmHandlerCalls < 0) throw new Error(`jit wasmHandlerCalls must be a whole number, got ${next.wasmHandlerCalls}`);
    const recompile = next.regions !== this.options.regions || next.regionMax !== this.options.regionMax || next.maxHandlerCalls !== this.options.maxHandlerCalls
      || next.flatSegments !== this.options.flatSegments || next.wasm !== this.options.wasm || next.wasmHandlerCalls !== this.options.wasmHandlerCalls;
    this.options = next;
    if (!next.enabled || recompile) this.flush();
    // Heat counted under an earlier threshold (or while off) starts over.
    else for (const b of this.cpu.blocks.values()) if (b.jit === null) b.heat = 0;
    this.cpu.jitHot = next.enabled ? next.hotThreshold : -1;
  }

  /** The generated function `fn`, seeing the bindings and `extra` by name. */
  private instantiate(extra: Record<string, unknown>, fn: string): CompiledBlock {
    const factory = new Function(...this.bindingNames, ...Object.keys(extra), `// ${++generated}\nreturn ${fn};`) as (...values: unknown[]) => CompiledBlock;
    return factory(...this.bindings, ...Object.values(extra));
  }

  /** Called by the run loop when a block turns hot: compiles it if every instruction has a translation. */
  compile(block: Block): void {
    if (!block.valid) return;
    if (this.options.regions && this.compileRegion(block)) return;
    // A WebAssembly block is a region of one member (the dispatch loop enters it as any other).
    if (this.options.wasm && this.installWasm([block])) return;
    const body = translateBlock(block, this.options.maxHandlerCalls, this.flatFor([block]));
    if (body === null) {
      this.blocksRejected++;
      return;
    }
    if (this.sourceBytes + body.length > this.options.budgetBytes) this.reclaim(body.length);
    block.jit = this.instantiate({ I: block.insns, BS: [block] }, `function block_${(block.eip >>> 0).toString(16)}(cpu) {\n${body}}`);
    block.jitEntry = 0;
    block.jitMembers = [block];
    block.jitLive = null;
    block.jitBytes = body.length;
    this.compiledBlocks.push(block);
    this.sourceBytes += body.length;
    this.blocksCompiled++;
  }

  /**
   * The region of `block` (see JitOptions.regions): false, leaving it to the
   * single-block compiler, when it has no warm successors or a member has
   * no translation.
   */
  private compileRegion(block: Block): boolean {
    const members = this.grow([block]);
    const stamp = this.cpu.linkStamp;
    // A single block is a region when it links to itself (it loops in its function).
    if (members.length === 1 && (block.linkStamp !== stamp || (block.succ0 !== block && block.succ1 !== block))) return false;
    return this.install(members);
  }

  /**
   * `seed` with the blocks it links to (successor links under the current
   * stamp, transitively, up to regionMax) that are warm (heat at least
   * hotThreshold / 4) and not compiled yet.
   */
  private grow(seed: Block[]): Block[] {
    const stamp = this.cpu.linkStamp;
    const warm = Math.max(1, this.options.hotThreshold >> 2);
    const members: Block[] = [...seed];
    const seen = new Set<Block>(members);
    const max = this.options.regionMax;
    for (let i = 0; i < members.length && members.length < max; i++) {
      const b = members[i];
      if (b.linkStamp !== stamp) continue;
      for (const s of [b.succ0, b.succ1]) {
        if (s === null || seen.has(s) || !s.valid || s.jit !== null || s.heat < warm || members.length >= max) continue;
        seen.add(s);
        members.push(s);
      }
    }
    return members;
  }

  /**
   * Compiles `members` into one region function and makes it every
   * member's code; members without a translation are left out (false when
   * the first has none).
   */
  private install(members: Block[]): boolean {
    if (this.options.wasm && this.installWasm(members)) return true;
    let body = translateRegion(members, this.options.maxHandlerCalls, this.flatFor(members));
    // A member without a translation: keep those that have one (the others stay interpreted).
    if (body === null) {
      if (translateBlock(members[0], this.options.maxHandlerCalls) === null) return false;
      const ok = members.filter((b, i) => i === 0 || translateBlock(b, this.options.maxHandlerCalls) !== null);
      members.length = 0;
      members.push(...ok);
      body = translateRegion(members, this.options.maxHandlerCalls, this.flatFor(members));
      if (body === null) return false;
    }
    if (this.sourceBytes + body.length > this.options.budgetBytes) this.reclaim(body.length);
    const head = members[0];
    // One function for every member: the run loop enters it with the member's index as cpu.jitMember (no
    // wrapper per entry, which V8 would inline the whole region into).
    const live = pinned(Uint8Array, members.length).fill(1);
    const region = this.instantiate(
      { BS: members, IS: members.map((b) => b.insns), LV: live },
      `function region_${(head.eip >>> 0).toString(16)}(cpu) {\nlet pc = cpu.jitMember;\n${body}}`,
    );
    const share = Math.ceil(body.length / members.length);
    members.forEach((b, i) => {
      b.jit = region;
      b.jitEntry = i;
      b.jitMembers = members;
      b.jitLive = live;
      b.jitBytes = share;
      this.compiledBlocks.push(b);
    });
    this.blocksCompiled += members.length;
    this.sourceBytes += share * members.length;
    this.regionsCompiled++;
    return true;
  }

  /** Compiles `members` into one WebAssembly region (wasm/wasmRuntime.ts); false if one has no translation there. */
  private installWasm(members: Block[]): boolean {
    if (this.wasmBackend === undefined) this.wasmBackend = WasmBackend.for(this.cpu);
    if (this.wasmBackend === null) return false;
    const bytes = this.wasmBackend.install(members, this.flatFor(members), this.options.wasmHandlerCalls);
    if (bytes === 0) return false;
    const share = Math.ceil(bytes / members.length);
    for (const b of members) {
      b.jitBytes = share;
      this.compiledBlocks.push(b);
    }
    this.blocksCompiled += members.length;
    this.sourceBytes += share * members.length;
    this.regionsCompiled++;
    this.wasmRegions++;
    // Over the budget (module bytes count as source does): the code of invalidated blocks goes, all of it (this region's too) if that is not enough.
    if (this.sourceBytes > this.options.budgetBytes) this.reclaim(0);
    return true;
  }

  /**
   * The flat segments (segments.ts FLAT_*) code for `blocks` may assume: those
   * flat now, none if one of the blocks had code that found them not flat.
   */
  private flatFor(blocks: Block[]): number {
    return !this.options.flatSegments || blocks.some((b) => this.notFlat.has(b)) ? 0 : this.cpu.flatMask;
  }
  /** Blocks whose code was dropped by its flat-segment guard (translate.ts flatGuard): compiled again without the assumption. */
  private readonly notFlat = new WeakSet<Block>();
  /** Compiled functions dropped by their flat-segment guard. */
  flatDrops = 0;

  /**
   * Called by compiled code whose flat segments are no longer flat: drops
   * the code of `blocks` (a region's members, or one block), which then run
   * interpreted until hot again and compile without assuming flat segments.
   */
  dropFlat(blocks: Block[]): void {
    const code = blocks[0].jit;
    for (const b of blocks) {
      if (b.jit !== code) continue;
      dropCode(b);
      b.heat = 0;
      this.notFlat.add(b);
      this.sourceBytes -= b.jitBytes;
    }
    this.compiledBlocks = this.compiledBlocks.filter((b) => b.jit !== null);
    this.flatDrops++;
  }

  /** Drops every compiled function (the decoded blocks stay and are interpreted, heating up again). */
  flush(): void {
    for (const b of this.compiledBlocks) {
      dropCode(b);
      b.heat = 0;
    }
    this.compiledBlocks = [];
    this.sourceBytes = 0;
    this.wasmBackend?.reset();
    this.flushes++;
  }

  /** Budget exceeded: forget the code of invalidated blocks, and everything if that is not enough. */
  private reclaim(needed: number): void {
    const live: Block[] = [];
    let bytes = 0;
    for (const b of this.compiledBlocks) {
      if (b.valid) {
        live.push(b);
        bytes += b.jitBytes;
      } else dropCode(b);
    }
    this.compiledBlocks = live;
    this.sourceBytes = bytes;
    if (bytes + needed > this.options.budgetBytes) this.flush();
  }

  /** Compiled blocks alive and their generated source size. */
  stats(): { blocks: number; liveBlocks: number; sourceBytes: number; compiled: number; rejected: number; flushes: number; regions: number; flatDrops: number } {
    return {
      blocks: this.compiledBlocks.length,
      liveBlocks: this.compiledBlocks.filter((b) => b.valid).length,
      sourceBytes: this.sourceBytes,
      compiled: this.blocksCompiled,
      rejected: this.blocksRejected,
      flushes: this.flushes,
      regions: this.regionsCompiled,
      flatDrops: this.flatDrops,
    };
  }
}
