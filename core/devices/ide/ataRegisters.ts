/**
 * Bits and codes of the ATA task-file interface (ATA/ATAPI-6, T13/1410D,
 * chapters 7 and 8) that the IDE channel and its devices share.
 */

/** Status register. */
export const ST_ERR = 0x01; // an error occurred: see the error register
export const ST_DRQ = 0x08; // data request: the device wants to transfer a word
export const ST_DSC = 0x10; // seek complete (obsolete; still set by drives, and expected by old drivers)
export const ST_DF = 0x20; // device fault
export const ST_DRDY = 0x40; // device ready to accept commands
export const ST_BSY = 0x80;

/** Error register. */
export const ER_AMNF = 0x01;
export const ER_ABRT = 0x04; // command aborted: unsupported, bad parameters, or refused
export const ER_MC = 0x20; // media changed
export const ER_IDNF = 0x10; // address outside the device
export const ER_UNC = 0x40; // uncorrectable data error

/** Device control register (written at the control block port, 0x3F6/0x376). */
export const DC_NIEN = 0x02; // INTRQ disabled
export const DC_SRST = 0x04; // software reset of both devices on the channel
export const DC_HOB = 0x80; // reads of the command block return the previous (high-order) bytes

/** Device/head register. */
export const DH_DEV = 0x10; // device 1 (slave) selected
export const DH_LBA = 0x40;

/** Commands this model knows by name. */
export const CMD = {
  NOP: 0x00,
  DEVICE_RESET: 0x08,
  RECALIBRATE: 0x10,
  READ_SECTORS: 0x20,
  READ_SECTORS_NORETRY: 0x21,
  READ_SECTORS_EXT: 0x24,
  READ_DMA_EXT: 0x25,
  READ_MULTIPLE_EXT: 0x29,
  WRITE_SECTORS: 0x30,
  WRITE_SECTORS_NORETRY: 0x31,
  WRITE_SECTORS_EXT: 0x34,
  WRITE_DMA_EXT: 0x35,
  WRITE_MULTIPLE_EXT: 0x39,
  READ_VERIFY: 0x40,
  READ_VERIFY_NORETRY: 0x41,
  READ_VERIFY_EXT: 0x42,
  SEEK: 0x70,
  EXECUTE_DEVICE_DIAGNOSTIC: 0x90,
  INITIALIZE_DEVICE_PARAMETERS: 0x91,
  PACKET: 0xa0,
  IDENTIFY_PACKET_DEVICE: 0xa1,
  READ_MULTIPLE: 0xc4,
  WRITE_MULTIPLE: 0xc5,
  SET_MULTIPLE_MODE: 0xc6,
  READ_DMA: 0xc8,
  READ_DMA_NORETRY: 0xc9,
  WRITE_DMA: 0xca,
  WRITE_DMA_NORETRY: 0xcb,
  STANDBY_IMMEDIATE: 0xe0,
  IDLE_IMMEDIATE: 0xe1,
  STANDBY: 0xe2,
  IDLE: 0xe3,
  CHECK_POWER_MODE: 0xe5,
  FLUSH_CACHE: 0xe7,
  IDENTIFY_DEVICE: 0xec,
  FLUSH_CACHE_EXT: 0xea,
  SET_FEATURES: 0xef,
  STANDBY_IMMEDIATE_OLD: 0x94,
  IDLE_IMMEDIATE_OLD: 0x95,
  STANDBY_OLD: 0x96,
  IDLE_OLD: 0x97,
  CHECK_POWER_MODE_OLD: 0x98,
} as const;

/** SET FEATURES subcommands (features register). */
export const SETF_TRANSFER_MODE = 0x03;
export const SETF_ENABLE_WRITE_CACHE = 0x02;
export const SETF_DISABLE_WRITE_CACHE = 0x82;
export const SETF_ENABLE_READ_LOOKAHEAD = 0xaa;
export const SETF_DISABLE_READ_LOOKAHEAD = 0x55;
export const SETF_DISABLE_REVERTING = 0x66;
export const SETF_ENABLE_REVERTING = 0xcc;

/** Largest DRQ block (sectors) READ/WRITE MULTIPLE may use: IDENTIFY word 47. */
export const MAX_MULTIPLE_SECTORS = 16;
export const SECTOR_BYTES = 512;
