/** Builds a minimal synthetic bzImage: boot sector + setup sectors with a setup header, then a payload. */
export interface FakeBzImageOptions {
  version?: number;
  setupSects?: number;
  loadflags?: number;
  code32Start?: number;
  initrdAddrMax?: number;
  cmdlineSize?: number;
  initSize?: number;
  prefAddress?: number;
  relocatable?: boolean;
  kernelAlignment?: number;
  payload?: Uint8Array;
  magic?: string;
}

export function fakeBzImage(o: FakeBzImageOptions = {}): Uint8Array {
  const sects = o.setupSects ?? 4;
  const setupBytes = ((sects === 0 ? 4 : sects) + 1) * 512;
  const payload = o.payload ?? new Uint8Array([0xfa, 0xf4, 0xeb, 0xfd]); // cli; hlt; jmp $-1
  const image = new Uint8Array(setupBytes + payload.length);
  const v = new DataView(image.buffer);
  image[0x1f1] = sects;
  v.setUint16(0x1fe, 0xaa55, true);
  image[0x200] = 0xeb;
  image[0x201] = 0x66; // header ends at 0x268
  const magic = o.magic ?? 'HdrS';
  for (let i = 0; i < 4; i++) image[0x202 + i] = magic.charCodeAt(i);
  v.setUint16(0x206, o.version ?? 0x20f, true);
  image[0x211] = o.loadflags ?? 0x01;
  v.setUint32(0x214, o.code32Start ?? 0x100000, true);
  v.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  v.setUint32(0x230, o.kernelAlignment ?? 0x1000, true);
  image[0x234] = (o.relocatable ?? true) ? 1 : 0;
  v.setUint32(0x258, o.prefAddress ?? 0x100000, true);
  v.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  v.setUint32(0x260, o.initSize ?? 0x10000, true);
  image.set(payload, setupBytes);
  return image;
}
