/**
 * The run loop (QEMU's cpu-exec): runs decoded blocks, or the compiled code
 * of hot ones (jit/), chaining from block to block through their successor
 * links; looks between blocks at what needs attention (stop requests, the
 * interrupt shadow, INIT, NMI, HLT, single step and breakpoints) and at the
 * INTR line; and turns a fault thrown by an instruction (CPU_FAULT) into
 * the exception's delivery, restarting the instruction.
 *
 * Common instruction forms run inline here (fastForms.ts) instead of
 * through their handlers. The loop's methods are installed on
 * Cpu.prototype by cpu.ts (memoryAccess.ts says why), so the accessors it
 * calls are inlined into it as before.
 */
import type { Cpu } from './cpu.ts';
import type { Block } from './decoder.ts';
import type { Insn } from './insn.ts';
import { LAZY_SUB, setLazy, setResultFlags, testCondition } from './flags.ts';
import { aluCompute, dec32, inc32 } from './ops/alu.ts';
import { branchNear } from './ops/control.ts';
import type {
  FAST_ALU_R_RM, FAST_ALU_RM_IMM, FAST_ALU_RM_R, FAST_CMP_M32_IMM, FAST_CMP_M8_IMM, FAST_CMP_R_M32, FAST_DEC_R,
  FAST_GROUP_POP, FAST_GROUP_PUSH, FAST_GROUP_READ32, FAST_GROUP_READ8, FAST_GROUP_STORE, FAST_INC_R, FAST_JCC, FAST_LEA,
  FAST_LOAD32, FAST_LOAD8, FAST_MOV_R_IMM, FAST_MOV_R_RM, FAST_MOV_RM_R, FAST_MOVZX8, FAST_POP_R, FAST_PUSH_IMM, FAST_PUSH_R,
  FAST_STORE32, FAST_TEST_RR, FAST_TEST_RR8,
} from './fastForms.ts';
import { CS, EXC_DB, EXC_NMI, IF, RF, TF } from './regs.ts';
import { CPU_FAULT } from './faults.ts';
import { INT_EXCEPTION, INT_EXTERNAL, INT_NMI } from './interrupts.ts';
import { vmxPollExit } from './vmx/nonRoot.ts';
import { recognizeInit } from './initSignal.ts';
import { svmPollInterrupt } from './svm/guestOps.ts';

/** Why `run` returned. */
export const STOP_BUDGET = 0; // instruction budget used up
export const STOP_HALT = 1; // HLT with nothing to wake the CPU now
export const STOP_SHUTDOWN = 2; // triple fault: the processor shut down
export const STOP_REQUEST = 3; // a device asked the CPU to stop (reset, power-off)
export const STOP_VMEXIT = 4; // a VM exit completed for a TypeScript VMX host (vmx/rootOps.ts)
/** Cpu.attend: nothing to do, run the next block. */
const ATTEND_RUN = -1;
/** DR6.BS: the #DB was a single-step trap. */
const DR6_BS = 1 << 14;
/** INT1 / ICEBP (F1): delivers a #DB of its own. */
const ICEBP_OPCODE = 0xf1;

export const execLoop = {
  /**
   * Runs up to `budget` instructions (a block may overshoot by less than
   * BLOCK_MAX). Returns a STOP_* code.
   */
  run(this: Cpu, budget: number): number {
    let done = 0;
    const clock = this.clock;
    const regs = this.regs;
    let prev: Block | null = null;
    while (done < budget) {
      // Boolean fields compared with true: their truthiness would be V8's generic ToBoolean (jit/jit.ts history).
      if (this.attention === true || (this.flags & (TF | RF)) !== 0) {
        prev = null;
        const r = this.attend();
        if (r >= 0) {
          done += r;
          continue;
        }
        if (r !== ATTEND_RUN) return -2 - r; // a STOP_* code
      }
      if ((this.flags & this.intrMask) !== 0 && (this.intrLine === true || this.pollIntr === true) && this.pollInterrupt()) {
        prev = null;
        continue;
      }
      let block: Block;
      try {
        if (prev !== null && prev.linkStamp === this.linkStamp) {
          const eip = this.eip;
          let s = prev.succ0;
          if (s !== null && s.eip === eip && s.valid === true) block = s;
          else {
            s = prev.succ1;
            if (s !== null && s.eip === eip && s.valid === true) block = s;
            else {
              block = this.fetchBlock();
              prev.succ1 = prev.succ0;
              prev.succ0 = block;
            }
          }
        } else {
          block = this.fetchBlock();
          if (prev !== null) {
            prev.linkStamp = this.linkStamp;
            prev.succ0 = block;
            prev.succ1 = null;
          }
        }
      } catch (e) {
        if (e !== CPU_FAULT) throw e;
        prev = null;
        this.raiseFromFault();
        continue;
      }
      let k = 0;
      this.exitBlock = false;
      if (block.jit === null && ++block.heat === this.jitHot) this.jit.compile(block);
      let compiled = block.jit;
      try {
        if (compiled !== null) {
          // A compiled region may step on into its other members (jit/translate.ts regionTail): it takes
          // the budget left and counts the members it stepped through itself; `block` becomes the last one run.
          this.jitMember = block.jitEntry;
          this.jitLeft = budget - done;
          k = compiled(this);
          done = budget - this.jitLeft;
          block = block.jitMembers![this.jitMember];
          // It returned before its k-th instruction (Cpu.jitResume): the rest of the block runs interpreted.
          if (this.jitResume === true) {
            this.jitResume = false;
            compiled = null;
          }
        }
        if (compiled === null) for (const insns = block.insns, n = insns.length; k < n; ) { // (not loaded for compiled code: cold in the cache then)
          const ins = insns[k];
          this.eip = ins.nextEip;
          const f = ins.fast;
          if (f === 0) ins.fn(this, ins);
          else if (f < (16 satisfies typeof FAST_GROUP_READ32)) {
            switch (f) {
              case 1 satisfies typeof FAST_MOV_RM_R: regs[ins.rm] = regs[ins.reg]; break;
              case 2 satisfies typeof FAST_MOV_R_RM: regs[ins.reg] = regs[ins.rm]; break;
              case 3 satisfies typeof FAST_MOV_R_IMM: regs[ins.opcode & 7] = ins.imm; break;
              case 4 satisfies typeof FAST_LEA: regs[ins.reg] = this.ea(ins); break;
              case 5 satisfies typeof FAST_INC_R: regs[ins.opcode & 7] = inc32(this, regs[ins.opcode & 7]); break;
              case 6 satisfies typeof FAST_DEC_R: regs[ins.opcode & 7] = dec32(this, regs[ins.opcode & 7]); break;
              case 7 satisfies typeof FAST_ALU_RM_R:
              case 8 satisfies typeof FAST_ALU_R_RM:
              case 9 satisfies typeof FAST_ALU_RM_IMM: {
                // One aluCompute call site for the three forms: op, destination, operands.
                let alu = (ins.opcode >> 3) & 7, dst = ins.rm, b = regs[ins.reg];
                if (f === (8 satisfies typeof FAST_ALU_R_RM)) {
                  dst = ins.reg;
                  b = regs[ins.rm];
                } else if (f === (9 satisfies typeof FAST_ALU_RM_IMM)) {
                  alu = ins.reg;
                  b = ins.imm;
                }
                const r = aluCompute(this, alu, 32, regs[dst], b);
                if (alu !== 7) regs[dst] = r; // not CMP
                break;
              }
              case 10 satisfies typeof FAST_TEST_RR: setResultFlags(this, 32, regs[ins.rm] & regs[ins.reg], 0); break;
              case 11 satisfies typeof FAST_TEST_RR8: setResultFlags(this, 8, this.get8(ins.rm) & this.get8(ins.reg), 0); break;
              case 12 satisfies typeof FAST_JCC:
                if (testCondition(this, ins.opcode & 15)) branchNear(this, ins.imm);
                break;
              default: // FAST_JMP
                branchNear(this, ins.imm);
            }
          } else if (f < (26 satisfies typeof FAST_GROUP_PUSH)) {
            // Forms with a memory operand: one effective-address computation for all of them.
            const off = this.ea(ins);
            if (f < (20 satisfies typeof FAST_GROUP_READ8)) {
              const m = this.read32(ins.seg, off);
              switch (f) {
                case 16 satisfies typeof FAST_LOAD32: regs[ins.reg] = m; break;
                case 17 satisfies typeof FAST_CMP_M32_IMM: setLazy(this, LAZY_SUB, 32, m, ins.imm, m - ins.imm); break;
                case 18 satisfies typeof FAST_CMP_R_M32: setLazy(this, LAZY_SUB, 32, regs[ins.reg], m, regs[ins.reg] - m); break;
                default: setLazy(this, LAZY_SUB, 32, m, regs[ins.reg], m - regs[ins.reg]); // FAST_CMP_M32_R
              }
            } else if (f < (24 satisfies typeof FAST_GROUP_STORE)) {
              const m = this.read8(ins.seg, off);
              switch (f) {
                case 20 satisfies typeof FAST_LOAD8: this.set8(ins.reg, m); break;
                case 21 satisfies typeof FAST_MOVZX8: regs[ins.reg] = m; break;
                case 22 satisfies typeof FAST_CMP_M8_IMM: setLazy(this, LAZY_SUB, 8, m, ins.imm & 0xff, m - (ins.imm & 0xff)); break;
                default: setLazy(this, LAZY_SUB, 8, this.get8(ins.reg), m, this.get8(ins.reg) - m); // FAST_CMP_R8_M8
              }
            } else if (f === (24 satisfies typeof FAST_STORE32)) this.write32(ins.seg, off, regs[ins.reg]);
            else this.write8(ins.seg, off, this.get8(ins.reg)); // FAST_STORE8
          } else if (f < (29 satisfies typeof FAST_GROUP_POP)) {
            let v: number;
            if (f === (26 satisfies typeof FAST_PUSH_R)) v = regs[ins.opcode & 7];
            else if (f === (27 satisfies typeof FAST_PUSH_IMM)) v = ins.imm;
            else { // FAST_CALL
              if (ins.imm >>> 0 > this.segLimit[1]) this.raiseGP(0);
              v = ins.nextEip;
              this.eip = ins.imm;
            }
            this.push32(v);
          } else {
            // Pops read before ESP moves, so a fault leaves ESP as it was.
            const v = this.peek32(0);
            if (f === (29 satisfies typeof FAST_POP_R)) {
              this.adjustSp(4);
              regs[ins.opcode & 7] = v;
            } else { // FAST_RET
              if (v >>> 0 > this.segLimit[1]) this.raiseGP(0);
              this.adjustSp(4 + ins.imm);
              this.eip = v;
            }
          }
          k++;
          if (this.exitBlock) break;
        }
      } catch (e) {
        if (e !== CPU_FAULT) throw e;
        if (compiled !== null) {
          k = this.jitK;
          done = budget - this.jitLeft;
          block = block.jitMembers![this.jitMember];
        }
        this.eip = block.insns[k].eip;
        clock.retired += k;
        done += k;
        prev = null;
        this.raiseFromFault();
        continue;
      }
      clock.retired += k;
      done += k;
      prev = this.exitBlock ? null : block;
    }
    return STOP_BUDGET;
  },

  /**
   * The run loop's slow path, taken when something needs attention between
   * instructions (stop request, shutdown, interrupt shadow, NMI, HLT, single
   * step, breakpoints). Kept out of `run` so that V8 spends its inlining
   * budget for `run` on the instruction fast paths. Returns instructions
   * retired (the loop continues), ATTEND_RUN (run the next block), or
   * -2 - code to stop with a STOP_* code.
   */
  attend(this: Cpu): number {
    if (this.vmExitStopRequested) {
      this.vmExitStopRequested = false;
      return -2 - STOP_VMEXIT;
    }
    if (this.stopRequested) {
      this.stopRequested = false;
      return -2 - STOP_REQUEST;
    }
    if (this.shutdownDetail !== null) return -2 - STOP_SHUTDOWN;
    // Interrupt window: between instructions, not after STI/MOV SS.
    if (this.interruptShadow) {
      this.interruptShadow = false;
      return this.stepOne();
    }
    // INIT before NMI (SDM Vol. 3A Table 6-2: external hardware interventions, then traps, then NMI).
    if (this.initPending && recognizeInit(this)) return 0;
    if (this.nmiPending && !this.nmiBlocked && this.svm.gif) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      this.halted = false;
      this.deliver(EXC_NMI, INT_NMI, 0, false);
      return 0;
    }
    if (this.halted) {
      if ((this.flags & this.intrMask) === 0 || !this.pollInterrupt()) return -2 - STOP_HALT;
      return 0;
    }
    // RF: the next instruction runs alone, so that RF is cleared as it starts (stepOne).
    if ((this.flags & (TF | RF)) !== 0 || this.debugActive) {
      if ((this.flags & IF) !== 0 && (this.intrLine || this.pollIntr) && this.pollInterrupt()) return 0;
      return this.stepOne();
    }
    return ATTEND_RUN;
  },

  /** Takes a pending maskable interrupt (IF is set by the caller's check). Returns true if one was delivered. */
  pollInterrupt(this: Cpu): boolean {
    // VMX non-root: interrupt-window and external-interrupt exits come before delivery to the guest.
    if (this.vmx.nonRoot) {
      if (vmxPollExit(this)) return true;
      if ((this.flags & IF) === 0) return false; // polled only for the exits above
    }
    // SVM guest mode: physical INTR (intercepted or not, under V_INTR_MASKING) and virtual interrupts.
    if (this.svm.guest) return svmPollInterrupt(this);
    const ic = this.interruptController;
    if (ic === null || !ic.hasInterrupt()) return false;
    this.halted = false;
    this.deliver(ic.acknowledge() & 0xff, INT_EXTERNAL, 0, false);
    return true;
  },

  /**
   * Executes exactly one instruction (interrupt shadow, single-step, RF,
   * breakpoints). Returns instructions retired (0 or 1).
   *
   * Debug traps of an instruction that loaded SS (MOV SS, POP SS) are held
   * and delivered after the next instruction, merged with its own, as one
   * #DB (SDM Vol. 3A 6.8.3). If that next instruction is INT n or INT3,
   * the #DB comes after the transfer, at the handler's first instruction;
   * if it is ICEBP, its own #DB takes the pending ones with it (one #DB, no
   * BS). Both as on real Intel processors (kvm-unit-tests x86/debug.c,
   * "MOV SS + watchpoint + INT3 / int $1 / ICEBP", "Single-Step + ICEBP #DB
   * w/ MOVSS blocking"). If it faults, the held traps are dropped with it
   * (Bochs does the same: event delivery discards pending debug traps). No
   * instruction breakpoint is matched on the instruction in the shadow
   * (Bochs: code breakpoints are matched only on boundaries where debug
   * exceptions are not inhibited).
   */
  stepOne(this: Cpu): number {
    const trap = (this.flags & TF) !== 0;
    const held = this.heldDebug;
    const inSsShadow = this.ssShadow;
    this.heldDebug = 0;
    this.ssShadow = false;
    if (this.debugActive && !inSsShadow) {
      const hits = this.instructionBreakpoints((this.segBase[CS] + this.eip) | 0);
      if (hits !== 0) {
        // Instruction breakpoint: a fault, before the instruction executes.
        this.dr[6] = (this.dr[6] & ~0xf) | hits;
        this.deliver(EXC_DB, INT_EXCEPTION, 0, false);
        return 0;
      }
    }
    let ins: Insn;
    try {
      ins = this.fetchBlock().insns[0];
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      this.raiseFromFault();
      return 0;
    }
    // SDM 17.3.1.1: RF is cleared at the start of the instruction, after the
    // code breakpoint and fetch checks (so an IRET or task switch that loads
    // RF = 1 keeps it for the instruction it returns to).
    this.flags &= ~RF;
    this.exitBlock = false;
    this.pendingDebug = 0;
    try {
      this.eip = ins.nextEip;
      ins.fn(this, ins);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      this.eip = ins.eip;
      this.raiseFromFault();
      return 0;
    }
    this.clock.retired += 1;
    // Single step and data/I-O breakpoints: a trap, reported after the instruction (B0-B3, BS).
    // ICEBP delivered a #DB itself, which stands for every pending debug trap.
    const hits = ins.opcode === ICEBP_OPCODE ? 0 : this.pendingDebug | (trap ? DR6_BS : 0) | held;
    if (this.ssShadow) {
      if (!inSsShadow) {
        this.heldDebug = hits;
        return 1;
      }
      // An SS load inside an SS load's shadow does not extend it (SDM: only the
      // first of consecutive SS loads is guaranteed to inhibit; Bochs inhibit_interrupts).
      this.ssShadow = false;
      this.interruptShadow = false;
    }
    if (hits !== 0 && this.shutdownDetail === null) {
      this.dr[6] = (this.dr[6] & ~0xf) | hits;
      this.deliver(EXC_DB, INT_EXCEPTION, 0, false);
    }
    return 1;
  },

  raiseFromFault(this: Cpu): void {
    this.deliver(CPU_FAULT.vector, INT_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
  },
};
