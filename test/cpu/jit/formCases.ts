/**
 * Differential form tests as tables of cases. A test is a list of cases, each
 * a few lines of NASM that end their block (a Jcc or JMP), run one after the
 * other in one program by the rig (diffRig.ts), which compares registers, every
 * flag, memory, faults and device stops after each block; `diffForms` then
 * checks what the run must also show: the exceptions it raised, the forms under
 * test the compiler left to handlers (none, unless the test says which), and
 * how many instructions ran compiled (so a test cannot pass by interpreting).
 */
import { expect } from 'vitest';
import { DATA, diffProgram, type DiffResult, type RigOptions } from './diffRig.ts';

export const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

/** The conditional jumps the cases end their blocks with, in turn (each reads some of the flags). */
export const CONDITIONS = ['jc', 'jo', 'jz', 'js', 'jp', 'jl', 'jbe', 'jle'];

/**
 * Flag states to put a form in (ESI and EDI changed only): lazy ADD and SUB results in the block's
 * locals, INC's kept CF (alone, at a block's start: the CPU's), IMUL's flags, STC and CLC, none.
 */
export const FLAG_SETUPS = ['add esi, eax', 'inc edi', 'sub esi, 1\n        inc edi', 'imul esi, eax', 'stc', 'clc', ''];

/** The data page the fault cases run into: absent at the start; the case that first reaches it takes a #PF (the rig's handler maps it). */
export const ABSENT_PAGE = DATA + 0x2000;
/** A FormTest's rig and exceptions for ABSENT_PAGE: absent, and its #PF the program's one exception. */
export const ONE_PAGE_FAULT = { rig: { notPresent: [ABSENT_PAGE] }, exceptions: 1 };

/**
 * A jump to the next line, `.label`: JMP, or a Jcc (which reads its flags, and goes to the same place
 * either way). It ends the block there, so the rig compares after it, and a block starts at the label.
 */
export function newBlock(label: string, jump = 'jmp'): string[] {
  return [`        ${jump} .${label}`, `.${label}:`];
}

/** The k-th of CONDITIONS, round and round. */
export const condition = (k: number) => CONDITIONS[k % CONDITIONS.length];

/** Every combination of `a`'s and `b`'s items, `a` outermost (the order of two nested loops). */
export function pairs<A, B>(a: readonly A[], b: readonly B[]): [A, B][] {
  return a.flatMap((x) => b.map((y): [A, B] => [x, y]));
}

/** `count` cases, the n-th made by `make(n)`. */
export function times(count: number, make: (n: number) => string[]): string[][] {
  return Array.from({ length: count }, (_, n) => make(n));
}

export interface FormTest {
  /** Lines before the first case (registers cleared, SSE enabled, ...). */
  before?: string[];
  /** The cases, each its lines. */
  cases: string[][];
  /** Lines after the last case. */
  after?: string[];
  rig?: RigOptions;
  /** Exceptions the program raises (its #PF, #GP, #DE, ...), when the test expects any. */
  exceptions?: number;
  /** The forms under test that the compiled side's blocks left to handlers (a leftToHandlers of diffRig.ts). */
  leftToHandlers?: (r: DiffResult) => string[];
  /** What `leftToHandlers` must return (default none). */
  handlerCalls?: string[];
  /** Instructions run compiled: more than this many per case, */
  compiledPerCase?: number;
  /** or more than this many in all. */
  compiledMoreThan?: number;
}

/** Runs the cases interpreted and compiled in lockstep (one program) and checks what `test` expects of the run. */
export function diffForms(test: FormTest): DiffResult {
  const r = diffProgram([...(test.before ?? []), ...test.cases.flat(), ...(test.after ?? [])].join('\n'), test.rig);
  if (test.exceptions !== undefined) expect(r.exceptions).toBe(test.exceptions);
  if (test.leftToHandlers !== undefined) expect(test.leftToHandlers(r)).toEqual(test.handlerCalls ?? []);
  if (test.compiledPerCase !== undefined) expect(r.compiledInstructions).toBeGreaterThan(test.cases.length * test.compiledPerCase);
  if (test.compiledMoreThan !== undefined) expect(r.compiledInstructions).toBeGreaterThan(test.compiledMoreThan);
  return r;
}
