/**
 * Taking a queue's used buffers from a board whose device dom0's thread
 * serves: a kick returns without waiting for dom0, and its completion is
 * taken at the board's poll (the run loop's interrupt-check point). Waits on
 * dom0's done port, not on time.
 */
import type { VirtioBoard } from '../../core/machine/virtioBoard.ts';
import type { QueueDriver } from '../devices/virtio/queueDriver.ts';

export function usedFromDom0(board: VirtioBoard, q: QueueDriver): [number, number][] {
  let used = q.takeUsed();
  for (let i = 0; i < 100 && used.length === 0; i++) {
    board.awaitDom0(1000);
    board.poll();
    used = q.takeUsed();
  }
  return used;
}
