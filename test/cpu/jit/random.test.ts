/**
 * Random differential cases for the block compiler: seeded random programs
 * (randomStreams.ts) run interpreted and compiled in lockstep, compared
 * after every block (diffRig.ts). A failure names the seed, the step and the
 * block, with the block's generated code.
 */
import { describe, expect, it } from 'vitest';
import { diffProgram } from './diffRig.ts';
import { ABSENT_PAGES, randomProgram, randomStart } from './randomStreams.ts';

const SEEDS = Array.from({ length: 40 }, (_, k) => 1000 + k);

describe.each([
  ['JavaScript', false],
  ['WebAssembly', true],
])('block compiler (%s back end), random instruction streams (interpreted vs compiled, compared after every block or every run of a budget)', (_, wasm) => {
  it.each([
    [1, 0, 1], [3, 0, 1], [1, 48, 1], [2, 2, 1], [1, 0, 13], [1, 48, 1000], [2, 2, 100000],
  ])('40 seeded programs, blocks compiled after %i run(s), at most %i handler calls in a block, compared every %i instruction(s)', (hotThreshold, maxHandlerCalls, budget) => {
    let compiledInstructions = 0;
    let retired = 0;
    let faults = 0;
    let handOvers = 0;
    for (const seed of SEEDS) {
      const start = randomStart(seed);
      const r = diffProgram(randomProgram(seed), { ...start, notPresent: ABSENT_PAGES, seed, hotThreshold, maxHandlerCalls, wasm, wasmHandlerCalls: maxHandlerCalls, budget });
      if (wasm && maxHandlerCalls === 48) expect(r.jitted.jit.wasmRegions).toBe(r.jitted.jit.regionsCompiled);
      handOvers += r.jitted.jit.wasmHandOvers;
      compiledInstructions += r.compiledInstructions;
      retired += r.retired;
      faults += r.exceptions;
    }
    // The streams must exercise the compiler and its fault paths, not just the interpreter.
    // (Measured, JavaScript: about 60% of instructions retire in compiled blocks when blocks compile at once, 40% after 3
    // runs. The WebAssembly back end hands every access its inline path cannot make over to the run loop, which
    // interprets the rest of the block: the streams' page crossings and absent pages leave 25-40% compiled.)
    expect(compiledInstructions / retired).toBeGreaterThan(wasm ? 0.2 : hotThreshold === 1 ? 0.5 : 0.3);
    // With handler calls allowed without limit, every block the programs run twice is compiled.
    if (maxHandlerCalls === 48 && !wasm) expect(compiledInstructions / retired).toBeGreaterThan(0.8);
    if (wasm) expect(handOvers).toBeGreaterThan(SEEDS.length);
    expect(faults).toBeGreaterThan(SEEDS.length / 2);
  });
});
