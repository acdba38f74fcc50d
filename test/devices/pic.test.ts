import { describe, expect, it } from 'vitest';
import { Pic } from '../../core/devices/pic.ts';
import { makeTestBoard } from './testBoard.ts';

/** Programs both chips the way Linux's init_8259A does (vectors 0x30/0x38, cascade on IR2, 8086 mode). */
function linuxInit(outb: (p: number, v: number) => void, autoEoi = false): void {
  outb(0x21, 0xff);
  outb(0xa1, 0xff);
  outb(0x20, 0x11);
  outb(0x21, 0x30);
  outb(0x21, 0x04);
  outb(0x21, autoEoi ? 0x03 : 0x01);
  outb(0xa0, 0x11);
  outb(0xa1, 0x38);
  outb(0xa1, 0x02);
  outb(0xa1, 0x01);
  outb(0x21, 0x00);
  outb(0xa1, 0x00);
}

function setup(autoEoi = false) {
  const b = makeTestBoard();
  const intrLevels: boolean[] = [];
  const pic = new Pic(b.bus, { onIntr: (l) => intrLevels.push(l) });
  linuxInit(b.outb, autoEoi);
  return { ...b, pic, intrLevels };
}

describe('8259A pair', () => {
  it('delivers a master IRQ with the ICW2 vector base and sets ISR', () => {
    const { pic, inb, outb, intrLevels } = setup();
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(intrLevels).toEqual([true]);
    expect(pic.acknowledge()).toBe(0x34);
    expect(pic.hasInterrupt()).toBe(false);
    outb(0x20, 0x0b); // OCW3: read ISR
    expect(inb(0x20)).toBe(0x10);
    outb(0x20, 0x0a); // OCW3: read IRR
    expect(inb(0x20)).toBe(0x00); // edge request cleared by INTA
    outb(0x20, 0x20); // non-specific EOI
    outb(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00);
  });

  it('routes slave IRQs through the cascade and needs EOI on both chips', () => {
    const { pic, inb, outb } = setup();
    pic.setIrq(12, true);
    expect(pic.acknowledge()).toBe(0x3c);
    outb(0x20, 0x0b);
    outb(0xa0, 0x0b);
    expect(inb(0x20)).toBe(0x04);
    expect(inb(0xa0)).toBe(0x10);
    pic.setIrq(12, false);
    pic.setIrq(13, true); // lower priority than 12 on the slave: blocked by slave ISR4
    expect(pic.hasInterrupt()).toBe(false);
    outb(0xa0, 0x20);
    expect(pic.hasInterrupt()).toBe(false); // master ISR2 still blocks the cascade
    outb(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x3d);
  });

  it('reads back IMR and masks requests', () => {
    const { pic, inb, outb } = setup();
    outb(0x21, 0xa5);
    expect(inb(0x21)).toBe(0xa5);
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(false);
    outb(0x21, 0xa4);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x30);
  });

  it('orders requests by fixed priority, higher ones nesting over lower ones in service', () => {
    const { pic, outb } = setup();
    pic.setIrq(6, true);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x33);
    expect(pic.hasInterrupt()).toBe(false); // 6 is lower than 3 in service
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x31); // 1 nests over 3
    outb(0x20, 0x20); // EOI clears the highest in service: 1
    expect(pic.hasInterrupt()).toBe(false);
    outb(0x20, 0x63); // specific EOI for 3
    expect(pic.acknowledge()).toBe(0x36);
  });

  it('keeps an edge request latched after the line drops, but needs a new rising edge', () => {
    const { pic } = setup();
    pic.setIrq(5, true);
    pic.setIrq(5, false);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x35);
    pic.setIrq(5, true);
    pic.setIrq(5, true); // still high: no new edge
    expect(pic.master.s.irr & 0x20).toBe(0x20);
  });

  it('level-triggered inputs (ELCR) follow the pin and survive INTA', () => {
    const { pic, inb, outb } = setup();
    outb(0x4d1, 0xff);
    expect(inb(0x4d1)).toBe(0xde); // IRQ 8 and 13 cannot be level
    outb(0x4d0, 0xff);
    expect(inb(0x4d0)).toBe(0xf8); // IRQ 0-2 cannot be level
    outb(0x4d1, 0x02); // IRQ 9 level
    pic.setIrq(9, true);
    expect(pic.acknowledge()).toBe(0x39);
    outb(0xa0, 0x0a);
    expect(inb(0xa0)).toBe(0x02); // still requested
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(true); // line still high -> requests again
    expect(pic.acknowledge()).toBe(0x39);
    pic.setIrq(9, false);
    outb(0xa0, 0x0a);
    expect(inb(0xa0)).toBe(0x00);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('answers a withdrawn master request with spurious IRQ 7 and no ISR bit', () => {
    const { pic, inb, outb } = setup();
    outb(0x4d0, 0x20);
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(5, false);
    expect(pic.acknowledge()).toBe(0x37);
    outb(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00);
  });

  it('answers a withdrawn slave request with spurious IRQ 15, master ISR2 set', () => {
    const { pic, inb, outb } = setup();
    outb(0x4d1, 0x04); // IRQ 10 level
    pic.setIrq(10, true);
    pic.setIrq(10, false);
    expect(pic.hasInterrupt()).toBe(true); // the master latched the cascade edge
    expect(pic.acknowledge()).toBe(0x3f);
    outb(0x20, 0x0b);
    outb(0xa0, 0x0b);
    expect(inb(0x20)).toBe(0x04);
    expect(inb(0xa0)).toBe(0x00);
  });

  it('auto-EOI mode leaves ISR clear and delivers the next slave request at once', () => {
    const { pic, inb, outb } = setup(true);
    // Slave ICW4 also auto-EOI.
    outb(0xa0, 0x11);
    outb(0xa1, 0x38);
    outb(0xa1, 0x02);
    outb(0xa1, 0x03);
    outb(0xa1, 0x00);
    pic.setIrq(8, true);
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x38);
    expect(pic.acknowledge()).toBe(0x3b);
    outb(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('rotate on non-specific EOI makes the serviced level lowest', () => {
    const { pic, outb } = setup();
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x33);
    outb(0x20, 0xa0); // rotate on non-specific EOI: 3 becomes lowest, 4 highest
    expect(pic.master.s.lowest).toBe(3);
    pic.setIrq(0, true);
    pic.setIrq(4, true);
    pic.setIrq(3, false);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x34);
    outb(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x30);
    outb(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x33);
  });

  it('set priority command (OCW2 0xC0|L) makes L the lowest', () => {
    const { pic, outb } = setup();
    outb(0x20, 0xc5); // 5 lowest, 6 highest
    pic.setIrq(1, true);
    pic.setIrq(7, true);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x37);
    outb(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x31);
    outb(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x35);
  });

  it('rotate in auto-EOI mode rotates on each INTA', () => {
    const { pic, outb } = setup(true);
    outb(0x20, 0x80);
    pic.setIrq(3, true);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x31);
    expect(pic.master.s.lowest).toBe(1);
    expect(pic.acknowledge()).toBe(0x33);
    expect(pic.master.s.lowest).toBe(3);
  });

  it('special mask mode lets lower-priority requests in while a higher one is in service and masked', () => {
    const { pic, outb } = setup();
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x31);
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(false); // normal nesting blocks 5
    outb(0x20, 0x68); // OCW3: set special mask mode
    outb(0x21, 0x02); // mask the in-service level
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x35);
    pic.setIrq(1, false);
    pic.setIrq(1, true);
    expect(pic.hasInterrupt()).toBe(false); // 1 is masked
    outb(0x20, 0x48); // reset special mask mode
    outb(0x21, 0x00);
    expect(pic.hasInterrupt()).toBe(false); // 1 is in service, blocking itself
    outb(0x20, 0x61); // specific EOI 1
    expect(pic.hasInterrupt()).toBe(true);
  });

  it('special mask mode combined with a rotated priority order', () => {
    const { pic, outb } = setup();
    outb(0x20, 0xc3); // set priority: 3 lowest, so 4 is highest and 3 lowest
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x35);
    pic.setIrq(6, true);
    pic.setIrq(1, true);
    expect(pic.hasInterrupt()).toBe(false); // 6 and 1 rank below 5 after rotation
    outb(0x20, 0x68); // special mask mode
    outb(0x21, 0x20); // mask 5, still in service
    expect(pic.acknowledge()).toBe(0x36); // highest unmasked non-in-service level in rotated order
    expect(pic.acknowledge()).toBe(0x31);
    expect(pic.hasInterrupt()).toBe(false);
    outb(0x20, 0x48);
    outb(0x20, 0x20); // non-specific EOI clears the highest in-service in rotated order: 5
    expect(pic.master.s.isr).toBe(0x42);
  });

  it('poll mode returns 0x80|level and acknowledges it; 0 when idle', () => {
    const { pic, inb, outb } = setup();
    outb(0x20, 0x0c);
    expect(inb(0x20)).toBe(0x00);
    pic.setIrq(6, true);
    outb(0x20, 0x0c);
    expect(inb(0x20)).toBe(0x86);
    expect(pic.hasInterrupt()).toBe(false);
    outb(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x40);
  });

  it('ICW1 clears IMR and ISR and requires a fresh edge', () => {
    const { pic, inb, outb } = setup();
    pic.setIrq(3, true);
    pic.acknowledge();
    outb(0x21, 0x55);
    linuxInit(outb);
    expect(inb(0x21)).toBe(0x00);
    outb(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00);
    expect(pic.hasInterrupt()).toBe(false); // line 3 is still high but never rose again
  });

  it('ignores out-of-range IRQ numbers from device code and state round-trips', () => {
    const { pic, bus } = setup();
    pic.setIrq(99, true);
    pic.setIrq(-1, true);
    pic.setIrq(7, true);
    const saved = JSON.parse(JSON.stringify(pic.saveState()));
    const b2 = makeTestBoard();
    const other = new Pic(b2.bus);
    other.loadState(saved);
    expect(other.hasInterrupt()).toBe(true);
    expect(other.acknowledge()).toBe(0x37);
    expect(bus.portRead(0x21, 1)).toBe(0);
    pic.reset();
    expect(pic.hasInterrupt()).toBe(false);
  });
});
