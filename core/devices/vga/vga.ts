/**
 * A VGA adapter: the standard I/O registers (./vgaPorts.ts), 256 KiB of
 * planar video memory behind the legacy window 0xA0000-0xBFFFF
 * (./vgaPlanes.ts), and the picture as data for the app (./textScreen.ts).
 *
 * Wiring (a board):
 *   const vga = new VgaAdapter(bus, clock);
 *   ... each display refresh: const screen = vga.takeScreenIfChanged(); // null when nothing changed
 *
 * The legacy window is one MMIO region on the platform bus, so every guest
 * access takes the bus's slow path into this model: the planes are not guest
 * RAM, and write modes, latches and plane masks need the model on every byte.
 *
 * Under Popek's hypervisor the domain's p2m has RAM behind 0xA0000-0xBFFFF
 * (its MMIO emulation completes single MOVs only, while text consoles clear
 * and scroll with REP STOS / REP MOVS), so the guest's writes land in that
 * RAM and never reach the MMIO region. The adapter notices (the guest RAM map
 * says the text page is RAM) and reads the text the guest stored there, in
 * the odd/even layout the CPU sees (character, attribute, ...). The registers
 * still come through I/O exits. What is lost there: planar write modes and
 * latches on that memory, which text modes do not need.
 *
 * Change tracking is two counters (register writes that can change the
 * picture, video memory writes): `takeScreenIfChanged` costs one comparison
 * when neither moved, and otherwise builds the snapshot and still answers
 * null if what is shown did not change (a guest rewriting the same text).
 */
import type { GuestClock } from '../../cpu/clock.ts';
import type { AccessSize, MemoryBus } from '../../memory/bus.ts';
import type { Device } from '../device.ts';
import type { GuestRamMap } from '../../dom0/grantCheck.ts';
import { isGraphicsMode, textScreen, type ScreenSnapshot } from './textScreen.ts';
import { LEGACY_WINDOW_SIZE, PLANE_SIZE, VgaPlanes, windowMapBase } from './vgaPlanes.ts';
import { vgaPortRead, vgaPortWrite, type VgaPortContext } from './vgaPorts.ts';
import { mode3Registers, type VgaRegisters } from './vgaRegisters.ts';
import { retraceBits } from './vgaRetrace.ts';

export const VGA_LEGACY_WINDOW = 0xa0000;

export interface VgaState {
  regs: VgaRegisters;
  /** The four planes, plane 0 first (256 KiB). */
  vram: Uint8Array;
}

export class VgaAdapter implements Device {
  readonly name = 'vga';
  private regs: VgaRegisters = mode3Registers();
  private readonly planes = new VgaPlanes(() => this.regs);
  private readonly clock: GuestClock;
  private registerChanges = 0;
  private seenRegisterChanges = -1;
  private seenWrites = -1;
  private lastShown: ScreenSnapshot | null = null;
  /** The guest's RAM map, to find the text when RAM (not this model) backs the window (see the header). */
  private readonly guestRam: GuestRamMap | undefined;
  /** The planes rebuilt from guest RAM in that case. */
  private ramPlanes: Uint8Array | null = null;

  constructor(bus: MemoryBus, clock: GuestClock, guestRam?: GuestRamMap) {
    this.clock = clock;
    this.guestRam = guestRam;
    const ctx: VgaPortContext = {
      regs: () => this.regs,
      retraceBits: () => retraceBits(this.regs, this.clock.nowNs()),
      changed: () => {
        this.registerChanges++;
      },
    };
    const ports = {
      portRead: (port: number) => vgaPortRead(ctx, port),
      portWrite: (port: number, _size: AccessSize, value: number) => vgaPortWrite(ctx, port, value),
    };
    bus.addPorts(0x3b4, 2, ports, 'vga-crtc-mono', [1]);
    bus.addPorts(0x3ba, 1, ports, 'vga-status-mono', [1]);
    bus.addPorts(0x3c0, 16, ports, 'vga', [1]);
    bus.addPorts(0x3d4, 2, ports, 'vga-crtc-color', [1]);
    bus.addPorts(0x3da, 1, ports, 'vga-status-color', [1]);
    const planes = this.planes;
    bus.addMmio(
      VGA_LEGACY_WINDOW,
      LEGACY_WINDOW_SIZE,
      {
        read(offset: number, size: AccessSize): number {
          let value = 0;
          for (let i = 0; i < size; i++) value |= planes.read(offset + i) << (8 * i);
          return value >>> 0;
        },
        write(offset: number, size: AccessSize, value: number): void {
          for (let i = 0; i < size; i++) planes.write(offset + i, (value >>> (8 * i)) & 0xff);
        },
      },
      'vga-legacy-window',
    );
    this.reset();
  }

  /** Mode 3 with a blank screen (spaces, light grey on black), cursor at the top left. */
  reset(): void {
    this.regs = mode3Registers();
    const vram = this.planes.vram;
    vram.fill(0);
    for (let i = 0; i < 80 * 25; i++) {
      vram[i * 2] = 0x20; // plane 0: characters at even offsets (word mode)
      vram[0x10000 + i * 2] = 0x07; // plane 1: attributes
    }
    this.registerChanges++;
    this.planes.writes++;
    this.lastShown = null;
  }

  /** What the screen shows now. */
  screen(): ScreenSnapshot {
    if (isGraphicsMode(this.regs)) return { mode: 'graphics' };
    return textScreen(this.regs, this.planesFromRam() ?? this.planes.vram);
  }

  /** The screen if it may have changed since the last call that returned one, else null (cheap on the bare board). */
  takeScreenIfChanged(): ScreenSnapshot | null {
    const unchanged = this.registerChanges === this.seenRegisterChanges && this.planes.writes === this.seenWrites;
    // With RAM behind the window no write is seen here: compare what is shown instead.
    if (unchanged && !this.windowInRam()) return null;
    this.seenRegisterChanges = this.registerChanges;
    this.seenWrites = this.planes.writes;
    const shown = this.screen();
    if (this.lastShown && sameScreen(this.lastShown, shown)) return null;
    this.lastShown = shown;
    return shown;
  }

  /** True when guest RAM, not this model's MMIO region, backs the text window (the hypervisor's p2m). */
  private windowInRam(): boolean {
    return this.guestRam !== undefined && this.guestRam.ramPage((VGA_LEGACY_WINDOW + windowMapBase(this.regs)) >>> 12) >= 0;
  }

  /**
   * Planes 0 and 1 as odd/even addressing would have filled them from the
   * bytes the guest stored in RAM at the mapped window (characters at even,
   * attributes at odd addresses), or null when the model's own planes hold
   * the picture.
   */
  private planesFromRam(): Uint8Array | null {
    if (!this.windowInRam()) return null;
    const ram = this.guestRam!;
    const planes = (this.ramPlanes ??= new Uint8Array(2 * PLANE_SIZE));
    const base = VGA_LEGACY_WINDOW + windowMapBase(this.regs);
    const size = Math.min(PLANE_SIZE, LEGACY_WINDOW_SIZE - windowMapBase(this.regs));
    for (let page = 0; page < size; page += 4096) {
      const at = ram.ramPage((base + page) >>> 12);
      for (let i = 0; i < 4096; i += 2) {
        planes[page + i] = at >= 0 ? ram.u8[at + i] : 0xff;
        planes[PLANE_SIZE + page + i] = at >= 0 ? ram.u8[at + i + 1] : 0xff;
      }
    }
    return planes;
  }

  saveState(): VgaState {
    return { regs: structuredClone(this.regs), vram: this.planes.vram.slice() };
  }

  loadState(state: unknown): void {
    const s = state as VgaState;
    if (!s || !(s.vram instanceof Uint8Array) || s.vram.length !== this.planes.vram.length) throw new Error('VGA state: video memory missing or of the wrong size');
    this.regs = structuredClone(s.regs);
    this.planes.vram.set(s.vram);
    this.registerChanges++;
    this.planes.writes++;
    this.lastShown = null;
  }
}

function sameScreen(a: ScreenSnapshot, b: ScreenSnapshot): boolean {
  if (a.mode !== 'text' || b.mode !== 'text') return a.mode === b.mode;
  if (a.columns !== b.columns || a.rows !== b.rows || a.cellHeight !== b.cellHeight || a.blink !== b.blink || a.blanked !== b.blanked) return false;
  const ca = a.cursor;
  const cb = b.cursor;
  if (ca.row !== cb.row || ca.column !== cb.column || ca.startLine !== cb.startLine || ca.endLine !== cb.endLine || ca.visible !== cb.visible) return false;
  for (let i = 0; i < a.lines.length; i++) if (a.lines[i] !== b.lines[i]) return false;
  for (let i = 0; i < a.palette.length; i++) if (a.palette[i] !== b.palette[i]) return false;
  const x = a.attributes;
  const y = b.attributes;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
