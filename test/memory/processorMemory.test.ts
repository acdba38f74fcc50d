import { describe, expect, it } from 'vitest';
import { Cpu } from '../../core/cpu/cpu.ts';
import { GuestClock } from '../../core/cpu/clock.ts';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { AREA_BYTES, AREA_TLB_WRITE, ProcessorAreas, areasBytes, sharedBufferOf, sharedWasmMemory } from '../../core/memory/processorMemory.ts';
import { MACHINE_PROCESSOR_AREAS, MachineMemory } from '../../core/hypervisor/memory/machineMemory.ts';
import { FRAME_SIZE } from '../../core/hypervisor/memory/frameAllocator.ts';

const MiB = 1 << 20;

describe('processor memory', () => {
  it('gives each holder its own area until all are taken, and takes them back', () => {
    const buffer = sharedBufferOf(sharedWasmMemory(65536 + areasBytes(3)));
    const areas = new ProcessorAreas(buffer, 65536, 3);
    const a = areas.claim(7), b = areas.claim(7), c = areas.claim(9);
    expect([a, b, c]).toEqual([areas.offsetOf(0), areas.offsetOf(1), areas.offsetOf(2)]);
    expect(b - a).toBe(AREA_BYTES);
    expect(areas.claim(1)).toBe(-1);
    expect(areas.releaseHeldBy(7)).toBe(2);
    expect(areas.held).toBe(1);
    expect(areas.claim(1)).toBe(a);
    areas.release(c);
    expect(areas.held).toBe(1);
    expect(() => areas.release(c + 4)).toThrow(/not a processor area/);
    expect(() => new ProcessorAreas(buffer, 4096, 3)).toThrow(/64 KiB boundary/);
    expect(() => new ProcessorAreas(buffer, 65536, 4)).toThrow(/too small/);
  });

  it('keeps a processor\'s registers and TLB in the WebAssembly.Memory its physical memory is in, after the ROMs', () => {
    const physical = new PhysicalMemory(16 * MiB, 64 * 1024);
    expect(physical.wasm).not.toBeNull();
    expect(physical.buffer).toBe(physical.wasm!.buffer);
    const cpu = new Cpu(new MemoryBus(physical), new GuestClock('deterministic'));
    expect(cpu.stateArea).toBe(physical.areas!.offsetOf(0));
    expect(cpu.stateArea).toBeGreaterThanOrEqual(16 * MiB + 64 * 1024);
    expect(cpu.regs.buffer).toBe(physical.buffer);
    expect(cpu.tlbWrite.byteOffset).toBe(cpu.stateArea + AREA_TLB_WRITE);
    cpu.regs[3] = 0x1234_5678;
    expect(new Int32Array(physical.buffer)[cpu.regs.byteOffset / 4 + 3]).toBe(0x1234_5678);
    // The ROM space ends where the areas begin.
    physical.allocateRom(new Uint8Array(64 * 1024));
    expect(() => physical.allocateRom(new Uint8Array(1))).toThrow(/no ROM space left/);
  });

  it('gives a processor arrays of its own when its memory has no area free', () => {
    const physical = new PhysicalMemory(MiB);
    const bus = new MemoryBus(physical);
    const clock = new GuestClock('deterministic');
    new Cpu(bus, clock);
    new Cpu(bus, clock);
    const third = new Cpu(bus, clock);
    expect(third.stateArea).toBe(-1);
    expect(third.regs.buffer).not.toBe(physical.buffer);
    third.regs[0] = 5;
    expect(third.regs[0]).toBe(5);
  });

  it('puts the areas of a full-size machine pool after its frames, and frees a domain\'s with its frames', () => {
    const pool = MachineMemory.create(64 * FRAME_SIZE, 64 * FRAME_SIZE);
    expect(pool.wasm).not.toBeNull();
    expect(pool.byteLength).toBe(64 * FRAME_SIZE);
    expect(pool.areas!.count).toBe(MACHINE_PROCESSOR_AREAS);
    const domain = MachineMemory.adopt(pool.share(), 5);
    domain.allocator.allocate(3);
    const physical = new PhysicalMemory(domain.byteLength, 0, domain.adoptable());
    expect(physical.ramSize).toBe(64 * FRAME_SIZE);
    const cpu = new Cpu(new MemoryBus(physical), new GuestClock('deterministic'));
    expect(cpu.stateArea).toBeGreaterThanOrEqual(64 * FRAME_SIZE);
    expect(pool.areas!.held).toBe(1);
    expect(pool.freeOwnedBy(5)).toBe(3);
    expect(pool.areas!.held).toBe(0);
  });

  it('leaves a growable pool a plain buffer whose processors keep arrays of their own', () => {
    const pool = MachineMemory.create(4 * FRAME_SIZE, 16 * FRAME_SIZE);
    expect(pool.wasm).toBeNull();
    const cpu = new Cpu(new MemoryBus(new PhysicalMemory(pool.byteLength, 0, pool.adoptable())), new GuestClock('deterministic'));
    expect(cpu.stateArea).toBe(-1);
  });
});
