/**
 * The committed DSDT (dsdtAml.ts): it is what dsdt.asl compiles to, its PCI
 * interrupt routing agrees with the PIIX3 model's swizzle, and its link
 * device methods program the route registers correctly when an ACPI
 * interpreter runs them.
 *
 * The compile check needs iasl and the method checks need acpiexec (both in
 * Debian's acpica-tools, build-time tools only); without them those cases are
 * skipped and say so in their names. The routing check needs nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DSDT_AML, DSDT_IASL_VERSION } from '../../../core/machine/firmware/dsdtAml.ts';
import { Piix3IsaBridge } from '../../../core/devices/pciBridges.ts';

const REPO = new URL('../../../', import.meta.url).pathname;
const SDT_HEADER_SIZE = 36;

function toolVersion(tool: string): string | null {
  try {
    const out = execFileSync(tool, ['-v'], { stdio: 'pipe', encoding: 'utf8' });
    return out.match(/version (\d+)/)?.[1] ?? null;
  } catch {
    return null;
  }
}

const iasl = toolVersion('iasl');
const acpiexec = toolVersion('acpiexec');

/** The numbers of a generated dsdtAml.ts, in order. */
function bytesOfModule(source: string): number[] {
  const array = source.slice(source.indexOf('new Uint8Array(['));
  return Array.from(array.matchAll(/0x([0-9a-f]{2})/g), (m) => parseInt(m[1], 16));
}

describe('DSDT AML', () => {
  it.runIf(iasl)(`is what scripts/build-dsdt.sh compiles from dsdt.asl${iasl ? '' : ' (skipped: iasl not installed; apt-get install acpica-tools)'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'popek-dsdt-'));
    try {
      const out = join(dir, 'dsdtAml.ts');
      execFileSync('bash', [join(REPO, 'scripts/build-dsdt.sh'), out], { stdio: 'pipe' });
      const fresh = readFileSync(out, 'utf8');
      if (iasl === DSDT_IASL_VERSION) {
        // Same compiler: the whole module, header comment and compiler revision included.
        expect(fresh).toBe(readFileSync(join(REPO, 'core/machine/firmware/dsdtAml.ts'), 'utf8'));
      } else {
        // Another iasl writes its own revision into the header; the AML itself must still match.
        expect(bytesOfModule(fresh).slice(SDT_HEADER_SIZE), `iasl ${iasl} vs committed ${DSDT_IASL_VERSION}: regenerate with scripts/build-dsdt.sh`).toEqual(
          Array.from(DSDT_AML.subarray(SDT_HEADER_SIZE)),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is a complete table whose length field and checksum are right', () => {
    const v = new DataView(DSDT_AML.buffer, DSDT_AML.byteOffset, DSDT_AML.byteLength);
    expect(String.fromCharCode(...DSDT_AML.subarray(0, 4))).toBe('DSDT');
    expect(v.getUint32(4, true)).toBe(DSDT_AML.length);
    expect(DSDT_AML.reduce((s, x) => (s + x) & 0xff, 0)).toBe(0);
  });

  it('routes every slot 1-31 pin INTA-INTD to the link of the PIRQ the PIIX3 raises for it', () => {
    // _PRT entries: Package(4){ DWord 0xSSSSFFFF, pin (Zero, One or BytePrefix n), link NameSeg, Zero }.
    const aml = String.fromCharCode(...DSDT_AML);
    const entries = Array.from(aml.matchAll(/\x12[\x0d\x0e]\x04\x0c\xff\xff([\s\S])\x00(\x00|\x01|\x0a[\x02\x03])(LNK[A-D])\x00/g), (m) => ({
      slot: m[1].charCodeAt(0),
      pin: m[2].length === 1 ? m[2].charCodeAt(0) : m[2].charCodeAt(1),
      link: m[3],
    }));
    expect(entries.length).toBe(31 * 4);
    expect(new Set(entries.map((e) => `${e.slot}.${e.pin}`)).size).toBe(31 * 4);

    // Route the four PIRQs to distinct IRQs and see which one each slot's pin raises on the real model.
    const linkIrq: Record<string, number> = { LNKA: 5, LNKB: 9, LNKC: 10, LNKD: 11 };
    const bridge = new Piix3IsaBridge();
    ['LNKA', 'LNKB', 'LNKC', 'LNKD'].forEach((link, i) => bridge.writeConfig(0x60 + i, 1, linkIrq[link]));
    let raised = -1;
    bridge.setIsaIrq = (irq, level) => {
      if (level) raised = irq;
    };
    for (const e of entries) {
      expect(e.slot).toBeGreaterThanOrEqual(1);
      expect(e.slot).toBeLessThanOrEqual(31);
      raised = -1;
      bridge.routeIntx(e.slot, e.pin + 1, true);
      bridge.routeIntx(e.slot, e.pin + 1, false);
      expect(raised, `slot ${e.slot} pin ${e.pin}`).toBe(linkIrq[e.link]);
    }
  });
});

describe.runIf(acpiexec)(`DSDT methods under ACPICA's acpiexec${acpiexec ? '' : ' (skipped: acpiexec not installed)'}`, () => {
  let dir: string;
  let aml: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-acpiexec-'));
    aml = join(dir, 'dsdt.aml');
    writeFileSync(aml, DSDT_AML);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Evaluates each path (with optional arguments) in one interpreter session; returns each result as text. */
  function evaluate(...commands: string[]): string[] {
    const out = execFileSync('acpiexec', ['-b', commands.map((c) => `evaluate ${c}`).join('; '), aml], { encoding: 'utf8', stdio: 'pipe', timeout: 20_000 });
    expect(out).not.toMatch(/ACPI (Error|Exception|Warning)|AE_[A-Z_]+ while|failed with status/);
    return out
      .split(/^Evaluating /m)
      .slice(1)
      .map((block) => {
        const int = block.match(/\[Integer\] = ([0-9A-F]+)/);
        if (int) return `0x${parseInt(int[1], 16).toString(16)}`;
        const buf = block.match(/\[Buffer\] Length [0-9A-F]+ =\s+0000: ((?:[0-9A-F]{2} )+)/);
        if (buf) return buf[1].trim().toLowerCase();
        if (/No object was returned/.test(block)) return 'none';
        return `? ${block}`;
      });
  }

  /** An IRQ descriptor (Level, ActiveLow, Shared) for `mask`, as Linux passes it to _SRS, with its end tag. */
  const irqBuffer = (mask: number) => `(23 ${hex(mask & 0xff)} ${hex(mask >> 8)} 18 79 00)`;
  const hex = (n: number) => n.toString(16).padStart(2, '0');

  it('offers IRQs 5, 9, 10 and 11 on every link, level-triggered, active low, shared', () => {
    const prs = evaluate('\\_SB.LNKA._PRS', '\\_SB.LNKB._PRS', '\\_SB.LNKC._PRS', '\\_SB.LNKD._PRS');
    const mask = (1 << 5) | (1 << 9) | (1 << 10) | (1 << 11);
    expect(prs).toEqual(Array(4).fill(`23 ${hex(mask & 0xff)} ${hex(mask >> 8)} 18 79 00`));
  });

  it('_SRS writes the chosen IRQ to that link\'s route register only; _CRS and _STA read it back', () => {
    const r = evaluate(
      ...['A', 'B', 'C', 'D'].map((l) => `\\_SB.LNK${l}._DIS`),
      `\\_SB.LNKC._SRS ${irqBuffer(1 << 10)}`,
      '\\_SB.PCI0.ISA_.PRQA', '\\_SB.PCI0.ISA_.PRQB', '\\_SB.PCI0.ISA_.PRQC', '\\_SB.PCI0.ISA_.PRQD',
      '\\_SB.LNKC._CRS', '\\_SB.LNKC._STA', '\\_SB.LNKA._STA',
    );
    expect(r.slice(4)).toEqual(['none', '0x80', '0x80', '0xa', '0x80', '23 00 04 18 79 00', '0xb', '0x9']);
  });

  it('_DIS sets the "not routed" bit; a disabled link reports an empty IRQ mask and _STA 9', () => {
    const r = evaluate(`\\_SB.LNKB._SRS ${irqBuffer(1 << 11)}`, '\\_SB.LNKB._DIS', '\\_SB.PCI0.ISA_.PRQB', '\\_SB.LNKB._CRS', '\\_SB.LNKB._STA');
    expect(r).toEqual(['none', 'none', '0x8b', '23 00 00 18 79 00', '0x9']);
  });

  it('_SRS with an IRQ the PIIX3 cannot route, or none, leaves the PIRQ unrouted', () => {
    const r = evaluate(`\\_SB.LNKD._SRS ${irqBuffer(1 << 2)}`, '\\_SB.PCI0.ISA_.PRQD', `\\_SB.LNKD._SRS ${irqBuffer(0)}`, '\\_SB.PCI0.ISA_.PRQD', '\\_SB.LNKD._STA');
    expect(r).toEqual(['none', '0x80', 'none', '0x80', '0x9']);
  });

  it('_PIC records the interrupt model the OS chose', () => {
    expect(evaluate('\\PICM', '\\_PIC 1', '\\PICM', '\\_PIC 0', '\\PICM')).toEqual(['0x0', 'none', '0x1', 'none', '0x0']);
  });
});
