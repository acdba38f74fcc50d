/**
 * x87 FPU state. (The arithmetic and the D8-DF opcodes are being written by
 * the FPU engineer; this class holds the architectural registers.)
 */
export class Fpu {
  /** ST registers as float64 (see the precision note in the FPU module docs). */
  readonly st = new Float64Array(8);
  control = 0x037f;
  status = 0;
  tag = 0xffff;
  top = 0;

  reset(): void {
    this.st.fill(0);
    this.control = 0x0040; // power-on state; FNINIT sets 0x037F
    this.status = 0;
    this.tag = 0x5555;
    this.top = 0;
  }

  saveState(): unknown {
    return { st: Array.from(this.st), control: this.control, status: this.status, tag: this.tag, top: this.top };
  }

  loadState(s: unknown): void {
    const o = s as { st: number[]; control: number; status: number; tag: number; top: number };
    this.st.set(o.st);
    this.control = o.control;
    this.status = o.status;
    this.tag = o.tag;
    this.top = o.top;
  }
}
