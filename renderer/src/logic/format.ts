/**
 * Human-readable renderings of the numbers the UI shows. Pure functions so the
 * details pane and its tests agree on every digit.
 */

/** 1234567 -> "1,234,567" (grouping fixed to en-US so tests and screenshots are stable). */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

/** Memory sizes: below 1 GiB in MiB, else GiB with up to two decimals. */
export function formatMiB(mib: number): string {
  if (!Number.isFinite(mib)) return '—';
  if (mib < 1024) return `${mib} MiB`;
  const gib = mib / 1024;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(2)} GiB`;
}

/** Byte counts: "512 B", "1.5 KiB", "64.0 MiB", "1.25 GiB" (binary units, like the disk sizes). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Millions of instructions per second, one decimal. */
export function formatMips(mips: number): string {
  if (!Number.isFinite(mips) || mips < 0) return '—';
  return `${mips.toFixed(1)} MIPS`;
}

/** Guest time in nanoseconds -> "1:02:03.4" / "2:03.4" / "3.4 s". */
export function formatGuestTime(ns: number): string {
  if (!Number.isFinite(ns) || ns < 0) return '—';
  const totalTenths = Math.floor(ns / 1e8);
  const tenths = totalTenths % 10;
  const totalSeconds = Math.floor(totalTenths / 10);
  const seconds = totalSeconds % 60;
  const minutes = Math.floor(totalSeconds / 60) % 60;
  const hours = Math.floor(totalSeconds / 3600);
  if (hours > 0) return `${hours}:${pad2(minutes)}:${pad2(seconds)}.${tenths}`;
  if (minutes > 0) return `${minutes}:${pad2(seconds)}.${tenths}`;
  return `${seconds}.${tenths} s`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
