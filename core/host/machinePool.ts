/**
 * The host's machine memory: one pool of frames that every VM run by the
 * hypervisor takes its memory from (its RAM, and what the hypervisor keeps
 * for it: VMCS or VMCB, EPT or nested tables, shadow page tables). Each
 * running VM is a domain with an owner id; its worker adopts the pool with
 * that id, and when the worker ends, however it ends, the host gives every
 * frame tagged with it back to the pool.
 *
 * The pool is made at its full size the first time a VM needs it: a plain
 * SharedArrayBuffer whose pages the OS commits only once written (see
 * core/hypervisor/memory/machineMemory.ts for why it is not a growable
 * buffer). A VM that does not fit in what the others leave is refused at
 * start with the figures (core/machine/hypervisorProcessor.ts).
 */
import { MachineMemory, type MachineMemoryShare } from '../hypervisor/memory/machineMemory.ts';
import { MACHINE_MEMORY_MAX } from '../machine/hypervisorProcessor.ts';

/** What a domain's worker gets: the pool and the owner id its frames are tagged with. */
export interface MachineMemoryLease {
  share: MachineMemoryShare;
  owner: number;
}

export class MachinePool {
  readonly limitBytes: number;
  private memory: MachineMemory | null = null;
  private readonly owners = new Set<number>();
  private nextOwner = 1;

  constructor(limitBytes = MACHINE_MEMORY_MAX) {
    this.limitBytes = limitBytes;
  }

  /** A share of the pool for a new domain, with an owner id no running domain has. */
  lease(): MachineMemoryLease {
    this.memory ??= MachineMemory.create(this.limitBytes, this.limitBytes);
    if (this.owners.size >= 0xffff) throw new Error('too many domains hold machine memory');
    while (this.nextOwner === 0 || this.owners.has(this.nextOwner)) this.nextOwner = (this.nextOwner + 1) & 0xffff;
    const owner = this.nextOwner++;
    this.owners.add(owner);
    return { share: this.memory.share(), owner };
  }

  /** The domain's worker is gone: its frames go back to the pool. Returns how many. */
  release(owner: number): number {
    if (!this.owners.delete(owner) || !this.memory) return 0;
    return this.memory.freeOwnedBy(owner);
  }

  /** Frames of the pool no domain holds now (what another VM, or a deflating balloon, can take); the whole limit before the first lease. */
  get freeFrames(): number {
    return this.memory ? this.memory.allocator.availableFrames : this.limitBytes / 4096;
  }

  /** Bytes of the pool in use by running domains now. */
  get usedBytes(): number {
    return (this.memory?.allocator.usedFrames ?? 0) * 4096;
  }
}
