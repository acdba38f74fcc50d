/**
 * The Tiny Linux shell loop's decoded blocks and how often each ran: boots
 * Tiny Linux interpreted (deterministic clock), runs `iterations` of the
 * loop, and returns each block's runs during it (the run loop bumps a
 * block's heat counter on every interpreted run). For the tools that weigh
 * which forms keep the loop out of compiled code (shellLoopForms.ts,
 * wasmForms.ts).
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { Block } from '../../../../core/cpu/decoder.ts';

export async function loopBlockRuns(iterations: number): Promise<{ guest: GuestConsole; cpu: Cpu; runs: Map<Block, number> }> {
  const guest = GuestConsole.tinyLinux({ jit: false });
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  const before = new Map<Block, number>();
  for (const b of cpu.blocks.values()) before.set(b, b.heat);
  const out = await guest.command(`i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`, 1800);
  if (out.trim() !== String(iterations)) throw new Error(`the loop printed ${JSON.stringify(out)}`);
  const runs = new Map<Block, number>();
  for (const b of cpu.blocks.values()) {
    const n = b.heat - (before.get(b) ?? 0);
    if (n > 0) runs.set(b, n);
  }
  return { guest, cpu, runs };
}
