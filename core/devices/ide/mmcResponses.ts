/**
 * The data the CD-ROM returns for the SCSI/MMC commands that describe it
 * (SPC-3 INQUIRY and sense data; MMC-3 READ TOC, MODE SENSE page 2Ah, GET
 * CONFIGURATION, GET EVENT STATUS NOTIFICATION, READ DISC INFORMATION): pure
 * functions of the drive's state, so the command dispatcher (atapiCdrom.ts)
 * only decides which one and how much of it to send.
 *
 * The drive describes itself as a read-only CD-ROM drive with a tray, lock
 * and eject; a disc is one data track (track 1 at LBA 0) in one complete
 * session.
 */

/** Sense keys and additional sense codes this drive reports. */
export const SENSE = {
  NO_SENSE: 0x0,
  NOT_READY: 0x2,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
} as const;
export const ASC = {
  INVALID_OPCODE: 0x20,
  LBA_OUT_OF_RANGE: 0x21,
  INVALID_FIELD_IN_CDB: 0x24,
  MEDIUM_MAY_HAVE_CHANGED: 0x28,
  POWER_ON_RESET: 0x29,
  SAVING_NOT_SUPPORTED: 0x39,
  MEDIUM_NOT_PRESENT: 0x3a,
  MEDIUM_REMOVAL_PREVENTED: 0x53, // with ASCQ 02h
} as const;

export const CD_SECTOR_BYTES = 2048;
/** MMC profile 0008h: CD-ROM. */
const PROFILE_CD_ROM = 0x0008;

export interface Sense {
  key: number;
  asc: number;
  ascq: number;
}

const be16 = (b: Uint8Array, at: number, v: number) => {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
};
const be32 = (b: Uint8Array, at: number, v: number) => {
  be16(b, at, (v >>> 16) & 0xffff);
  be16(b, at + 2, v & 0xffff);
};
const ascii = (b: Uint8Array, at: number, length: number, text: string) => {
  const padded = text.padEnd(length, ' ');
  for (let i = 0; i < length; i++) b[at + i] = padded.charCodeAt(i) & 0x7f;
};

/** Fixed-format sense data, 18 bytes. */
export function senseData(s: Sense): Uint8Array {
  const b = new Uint8Array(18);
  b[0] = 0x70; // current error, fixed format
  b[2] = s.key;
  b[7] = 10; // additional length
  b[12] = s.asc;
  b[13] = s.ascq;
  return b;
}

/** Standard INQUIRY data, 36 bytes. */
export function inquiryData(): Uint8Array {
  const b = new Uint8Array(36);
  b[0] = 0x05; // CD/DVD device
  b[1] = 0x80; // removable medium
  b[2] = 0x05; // SPC-3
  b[3] = 0x32; // ATAPI transport version 3, response data format 2
  b[4] = 36 - 5;
  ascii(b, 8, 8, 'POPEK');
  ascii(b, 16, 16, 'CD-ROM');
  ascii(b, 32, 4, '1.0');
  return b;
}

/** READ CAPACITY data: last LBA and the block size. */
export function capacityData(sectors: number): Uint8Array {
  const b = new Uint8Array(8);
  be32(b, 0, sectors - 1);
  be32(b, 4, CD_SECTOR_BYTES);
  return b;
}

/** An address as READ TOC gives it: LBA, or MSF (0, M, S, F) with the 2-second (150 frame) offset. */
function address(b: Uint8Array, at: number, lba: number, msf: boolean): void {
  if (!msf) return be32(b, at, lba);
  const frames = lba + 150;
  b[at] = 0;
  b[at + 1] = Math.floor(frames / (75 * 60)) & 0xff;
  b[at + 2] = Math.floor(frames / 75) % 60;
  b[at + 3] = frames % 75;
}

/**
 * READ TOC/PMA/ATIP format 0 (the TOC from `startTrack`) or 1 (session
 * information); null for a start track or format the disc cannot answer.
 */
export function tocData(format: number, sectors: number, msf: boolean, startTrack: number): Uint8Array | null {
  if (format === 1) {
    const b = new Uint8Array(12);
    be16(b, 0, 10);
    b[2] = 1; // first complete session
    b[3] = 1; // last complete session
    b[5] = 0x14; // ADR 1, data track
    b[6] = 1; // first track in the last session
    address(b, 8, 0, msf);
    return b;
  }
  if (format !== 0) return null;
  if (startTrack > 1 && startTrack !== 0xaa) return null;
  const tracks: [number, number][] = [];
  if (startTrack <= 1) tracks.push([1, 0]);
  tracks.push([0xaa, sectors]); // the lead-out
  const b = new Uint8Array(4 + 8 * tracks.length);
  be16(b, 0, b.length - 2);
  b[2] = 1;
  b[3] = 1;
  tracks.forEach(([track, lba], i) => {
    const at = 4 + 8 * i;
    b[at + 1] = 0x14;
    b[at + 2] = track;
    address(b, at + 4, lba, msf);
  });
  return b;
}

/** Mode pages this drive has: 01h (read error recovery) and 2Ah (capabilities and mechanical status). */
function modePage(page: number, changeable: boolean, locked: boolean): Uint8Array | null {
  if (page === 0x01) {
    const b = new Uint8Array(8);
    b[0] = 0x01;
    b[1] = 6;
    if (!changeable) b[3] = 5; // read retry count
    return b;
  }
  if (page === 0x2a) {
    const b = new Uint8Array(22);
    b[0] = 0x2a;
    b[1] = 20;
    if (changeable) return b;
    b[2] = 0x00; // reads CD-ROM media only (no CD-R/RW, DVD)
    b[3] = 0x00; // writes nothing
    b[4] = 0x00; // no audio play, no multi-session
    b[5] = 0x00;
    b[6] = 0x29 | (locked ? 0x02 : 0); // tray loader (001b), eject, lock (current state in bit 1)
    b[7] = 0x00;
    be16(b, 8, 706); // maximum read speed, kB/s (4x)
    be16(b, 10, 0); // volume levels
    be16(b, 12, 512); // buffer, KiB
    be16(b, 14, 706); // current read speed
    return b;
  }
  return null;
}

/**
 * MODE SENSE(10): header (8 bytes, no block descriptors) and the page, or all
 * pages for 3Fh; null for a page the drive does not have. `control` is the
 * page control field: 0 current, 1 changeable, 2 default (as current).
 */
export function modeSenseData(page: number, control: number, mediaPresent: boolean, locked: boolean): Uint8Array | null {
  const pages = page === 0x3f ? [0x01, 0x2a] : [page];
  const bodies: Uint8Array[] = [];
  for (const p of pages) {
    const body = modePage(p, control === 1, locked);
    if (!body) return null;
    bodies.push(body);
  }
  const length = 8 + bodies.reduce((n, body) => n + body.length, 0);
  const b = new Uint8Array(length);
  be16(b, 0, length - 2);
  b[2] = mediaPresent ? 0x01 : 0x70; // medium type: 120 mm CD-ROM data, or door closed / no disc
  let at = 8;
  for (const body of bodies) {
    b.set(body, at);
    at += body.length;
  }
  return b;
}

/** One feature descriptor of GET CONFIGURATION. */
function feature(code: number, version: number, persistent: boolean, current: boolean, body: number[]): Uint8Array {
  const b = new Uint8Array(4 + body.length);
  be16(b, 0, code);
  b[2] = (version << 2) | (persistent ? 0x02 : 0) | (current ? 0x01 : 0);
  b[3] = body.length;
  b.set(body, 4);
  return b;
}

/**
 * GET CONFIGURATION: the feature header (current profile CD-ROM with a
 * disc, none without) and the features Profile List (0000h), Core (0001h),
 * Removable Medium (0003h), Random Readable (0010h) and CD Read (001Eh),
 * filtered by the request type `rt` (0 all from `start`, 1 current ones
 * from `start`, 2 just `start`).
 */
export function configurationData(rt: number, start: number, mediaPresent: boolean, locked: boolean): Uint8Array {
  const features: [number, Uint8Array][] = [
    [0x0000, feature(0x0000, 0, true, true, [0x00, PROFILE_CD_ROM, mediaPresent ? 0x01 : 0x00, 0x00])],
    [0x0001, feature(0x0001, 1, true, true, [0, 0, 0, 2 /* ATAPI */, 0, 0, 0, 0])],
    [0x0003, feature(0x0003, 0, true, true, [0x29 | (locked ? 0x04 : 0), 0, 0, 0])],
    [0x0010, feature(0x0010, 0, false, mediaPresent, [0, 0, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00])],
    [0x001e, feature(0x001e, 2, false, mediaPresent, [0, 0, 0, 0])],
  ];
  const chosen = features
    .filter(([code, f]) => (rt === 2 ? code === start : code >= start && (rt !== 1 || (f[2] & 1) !== 0)))
    .map(([, f]) => f);
  const length = 8 + chosen.reduce((n, f) => n + f.length, 0);
  const b = new Uint8Array(length);
  be32(b, 0, length - 4);
  be16(b, 6, mediaPresent ? PROFILE_CD_ROM : 0);
  let at = 8;
  for (const f of chosen) {
    b.set(f, at);
    at += f.length;
  }
  return b;
}

/** Media event codes of GET EVENT STATUS NOTIFICATION's media class. */
export const MEDIA_EVENT = { NONE: 0, EJECT_REQUEST: 1, NEW_MEDIA: 2, MEDIA_REMOVAL: 3 } as const;

/**
 * GET EVENT STATUS NOTIFICATION (polled): the media class (4) if requested,
 * else "no event available" with the supported classes.
 */
export function eventStatusData(classes: number, event: number, mediaPresent: boolean, trayOpen: boolean): Uint8Array {
  const MEDIA_CLASS = 1 << 4;
  if ((classes & MEDIA_CLASS) === 0) {
    const b = new Uint8Array(4);
    be16(b, 0, 2);
    b[2] = 0x80; // NEA: no event available
    b[3] = MEDIA_CLASS;
    return b;
  }
  const b = new Uint8Array(8);
  be16(b, 0, 6);
  b[2] = 4; // media class
  b[3] = MEDIA_CLASS;
  b[4] = event;
  b[5] = (mediaPresent ? 0x02 : 0) | (trayOpen ? 0x01 : 0);
  return b;
}

/** READ DISC INFORMATION (data type 000b) for a complete one-session disc. */
export function discInformationData(): Uint8Array {
  const b = new Uint8Array(34);
  be16(b, 0, 32);
  b[2] = 0x0e; // last session complete, disc complete, not erasable
  b[3] = 1; // first track on the disc
  b[4] = 1; // sessions
  b[5] = 1; // first track in the last session
  b[6] = 1; // last track in the last session
  b[8] = 0x00; // CD-DA or CD-ROM disc
  be32(b, 16, 0xffff_ffff); // no next session: lead-in start and last possible lead-out unknown
  be32(b, 20, 0xffff_ffff);
  return b;
}
