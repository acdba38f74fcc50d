/**
 * Errors the block backends throw. Each names the image file so that a
 * message reaching the user (CLI, Settings page, start failure) says which
 * disk is at fault.
 */

/** A request reaches outside the virtual disk (offset + length > sizeBytes, or negative). */
export class BlockRangeError extends RangeError {
  override readonly name = 'BlockRangeError';
}

/** A write or discard on a disk opened read-only. */
export class BlockReadOnlyError extends Error {
  override readonly name = 'BlockReadOnlyError';
}

/**
 * The file is not a usable image: not a qcow2 and not a plausible raw image,
 * a qcow2 using a feature this backend does not implement, or a qcow2 whose
 * metadata is inconsistent (tables past the end of the file, loops, absurd
 * sizes). Never a crash or a hang: every such case ends here.
 */
export class BlockFormatError extends Error {
  override readonly name = 'BlockFormatError';
}
