/**
 * The wake word of a thread that runs machines: one Int32 in shared memory
 * per such thread (this module's instance in it), to which the threads
 * serving its machines add 1 and which they notify whenever they leave
 * something for the machines there: every dom0 started from the thread when
 * it raises a done port (Dom0Init.wake), dom0's network thread when it puts
 * a frame on one of the thread's own receive rings (an uplink, a NIC whose
 * model runs in the machine's thread: NetAttach.wake). A halted guest's
 * driver waits on it instead of sleeping (MachineApi.waitIdle), and a thread
 * that runs several machines (the bench's two guests, tests) waits on it for
 * whichever of them gets something first.
 */

const word = new Int32Array(new SharedArrayBuffer(4));

/** This thread's wake word, for the threads that serve its machines. */
export const threadWakeBuffer: SharedArrayBuffer = word.buffer as SharedArrayBuffer;

/** The count now: read it before checking the machines for what came, then wait with it. */
export function threadWakeCount(): number {
  return Atomics.load(word, 0);
}

/** Blocks until the word has been raised since `seen` (a threadWakeCount), at most `timeoutMs`; false on timeout. */
export function awaitThreadWake(seen: number, timeoutMs: number): boolean {
  return Atomics.wait(word, 0, seen, timeoutMs) !== 'timed-out';
}

/** From a serving thread: raises the wake word of a machines' thread (`wake`, a view of its threadWakeBuffer). */
export function raiseThreadWake(wake: Int32Array): void {
  Atomics.add(wake, 0, 1);
  Atomics.notify(wake, 0);
}
