/**
 * The one error type the loaders throw for a kernel, initrd or firmware image
 * that cannot be booted. Its message is a single line meant for the user
 * ("not a bzImage: missing HdrS signature"), so drivers print it as is.
 */
export class BootError extends Error {
  override readonly name = 'BootError';
}

/** Formats a byte count as MiB for error messages, rounded up. */
export function mib(bytes: number): number {
  return Math.ceil(bytes / (1024 * 1024));
}
