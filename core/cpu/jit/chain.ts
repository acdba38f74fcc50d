/**
 * Chaining between compiled blocks: the decision a compiled block's exit
 * makes (translate.ts chainExit) instead of returning to the run loop.
 *
 * It goes on into the successor only where the run loop would run that
 * successor next with nothing in between, so every check the run loop makes
 * between blocks still decides at every block boundary: the budget allows
 * another block, nothing needs attention (stop request, halt, interrupt
 * shadow, NMI, debug), no single step (TF, RF), no interrupt pending with
 * the run loop's own test (so interrupt-window and external-interrupt exits
 * in VMX non-root come at the same boundaries), the block did not end itself
 * (exitBlock: code written, mode changed, a VM exit), and the successor is
 * the one the run loop's link lookup finds (same link stamp, same EIP,
 * still valid) and is compiled. The chained-from block then counts its
 * instructions on the clock and in `cpu.jitLeft` as the run loop would.
 * Calls nest at most JIT_CHAIN_DEPTH deep (a jump to itself loops and takes
 * no depth).
 */
import type { Cpu } from '../cpu.ts';
import type { Block } from '../decoder.ts';
import { RF, TF } from '../regs.ts';

/**
 * The successor block to go on into from `block` at `eip` after `done`
 * instructions, or null to return to the run loop. `loops`: the exit loops
 * in its own function when the successor is `block` itself (a constant
 * target); any other way on is a nested call and takes one of the depth.
 */
export function chainTarget(cpu: Cpu, block: Block, eip: number, done: number, loops: boolean): Block | null {
  const left = cpu.jitLeft - done;
  if (left <= 0 || block.linkStamp !== cpu.linkStamp || cpu.attention || (cpu.flags & (TF | RF)) !== 0 || cpu.exitBlock) return null;
  if ((cpu.flags & cpu.intrMask) !== 0 && (cpu.intrLine || cpu.pollIntr)) return null;
  let s = block.succ0;
  if (s === null || s.eip !== eip || !s.valid) {
    s = block.succ1;
    if (s === null || s.eip !== eip || !s.valid) return null;
  }
  if (s.jit === null) return null;
  if ((s !== block || !loops) && cpu.jitDepth-- <= 0) return null;
  cpu.jitLeft = left;
  cpu.clock.retired += done;
  cpu.jitBlock = s;
  return s;
}

/**
 * Whether a compiled block that jumps back to its own start may run again
 * inside its function (option `loops`, without chaining into other blocks):
 * chainTarget's test for the case where the successor is the block itself,
 * taking no chain depth. On true the block's instructions are counted as
 * the run loop would count them.
 */
export function loopAgain(cpu: Cpu, block: Block, done: number): boolean {
  const left = cpu.jitLeft - done;
  if (left <= 0 || block.linkStamp !== cpu.linkStamp || cpu.attention || (cpu.flags & (TF | RF)) !== 0 || cpu.exitBlock) return false;
  if ((cpu.flags & cpu.intrMask) !== 0 && (cpu.intrLine || cpu.pollIntr)) return false;
  if ((block.succ0 !== block && block.succ1 !== block) || !block.valid) return false;
  cpu.jitLeft = left;
  cpu.clock.retired += done;
  return true;
}

/**
 * Whether a region's function (translate.ts translateRegion) may go on from
 * member `from` into member `to` after `done` instructions: chainTarget's
 * test for that successor (taking no depth, since no call is made). On true
 * the instructions of `from` are counted as the run loop would count them
 * and `to` becomes the block running (for a fault's accounting).
 */
export function regionNext(cpu: Cpu, from: Block, to: Block, done: number): boolean {
  const left = cpu.jitLeft - done;
  if (left <= 0 || from.linkStamp !== cpu.linkStamp || cpu.attention || (cpu.flags & (TF | RF)) !== 0 || cpu.exitBlock) return false;
  if ((cpu.flags & cpu.intrMask) !== 0 && (cpu.intrLine || cpu.pollIntr)) return false;
  if ((from.succ0 !== to && from.succ1 !== to) || !to.valid || to.jit === null) return false;
  cpu.jitLeft = left;
  cpu.clock.retired += done;
  cpu.jitBlock = to;
  return true;
}

/**
 * A region's exit tail going on into a compiled block outside the region
 * (translate.ts regionTail, with `cpu.jitBlock` already that block): the
 * one call site through which every region enters another, so V8's feedback
 * there is megamorphic and it never inlines one region's function into
 * another's (a per-exit call site, as `chain` has, is monomorphic).
 */
export function enterNext(cpu: Cpu): number {
  return cpu.jitBlock.jit!(cpu);
}
