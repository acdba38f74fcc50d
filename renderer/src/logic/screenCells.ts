/**
 * A text screen as runs of cells sharing one look, so the view draws a few
 * spans per row instead of one per cell. Colours follow the VGA: attribute
 * bits 0-3 the foreground, 4-6 the background, bit 7 blink (when the adapter
 * says so) or else the background's bright half.
 */
import type { TextScreen } from '../../../core/host/api.ts';

export interface CellRun {
  text: string;
  foreground: string;
  background: string;
  blink: boolean;
}

export function rowRuns(screen: TextScreen, row: number): CellRun[] {
  const runs: CellRun[] = [];
  const line = screen.lines[row] ?? '';
  const base = row * screen.columns;
  let start = 0;
  for (let column = 1; column <= screen.columns; column++) {
    if (column < screen.columns && screen.attributes[base + column] === screen.attributes[base + start]) continue;
    const attribute = screen.attributes[base + start] ?? 0;
    const blink = screen.blink && (attribute & 0x80) !== 0;
    const backgroundIndex = screen.blink ? (attribute >> 4) & 0x07 : (attribute >> 4) & 0x0f;
    runs.push({
      text: line.slice(start, column),
      foreground: screen.palette[attribute & 0x0f] ?? '#aaaaaa',
      background: screen.palette[backgroundIndex] ?? '#000000',
      blink,
    });
    start = column;
  }
  return runs;
}
