/**
 * With a VGA on the board the Linux boot protocol's screen_info describes
 * mode 3 as the kernel's real-mode setup would have found it through INT 10h
 * (what Linux's vgacon reads to take the screen); without one it stays "no
 * video" (the other boot test checks that).
 */
import { describe, expect, it } from 'vitest';
import { loadLinuxKernel } from '../../../core/machine/boot/linuxBoot.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { fakeBzImage } from './fakeBzImage.ts';

describe('screen_info with a VGA', () => {
  it('says 80x25 colour text, mode 3, VGA, 16-line characters, cursor at 0,0', () => {
    const m = new PhysicalMemory(16 * 1024 * 1024);
    m.u8.fill(0xaa, 0x10000, 0x10000 + 0x40);
    loadLinuxKernel(m, { kernel: fakeBzImage(), vgaText: true });
    const si = 0x10000; // boot_params, screen_info first
    const v = m.view;
    expect([m.u8[si + 0x00], m.u8[si + 0x01]]).toEqual([0, 0]); // orig_x, orig_y
    expect(v.getUint16(si + 0x02, true)).toBe(15 * 1024 - 64); // ext_mem_k: RAM above 1 MiB up to the ACPI area
    expect(v.getUint16(si + 0x04, true)).toBe(0); // orig_video_page
    expect(m.u8[si + 0x06]).toBe(3); // orig_video_mode
    expect(m.u8[si + 0x07]).toBe(80); // orig_video_cols
    expect(v.getUint16(si + 0x0a, true)).toBe(0x0003); // orig_video_ega_bx: colour, 256 KiB
    expect(m.u8[si + 0x0e]).toBe(25); // orig_video_lines
    expect(m.u8[si + 0x0f]).toBe(1); // orig_video_isVGA
    expect(v.getUint16(si + 0x10, true)).toBe(16); // orig_video_points
  });
});
