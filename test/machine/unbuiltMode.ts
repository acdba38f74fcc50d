import { ACCELERATION_INFO } from '../../core/machine/acceleration.ts';

/**
 * Every acceleration mode is built now: tests of how the app, the host and
 * the library refuse a mode this build cannot run mark 'bt' unbuilt for the
 * length of one test.
 */
export async function withUnbuiltBt(test: () => Promise<void>): Promise<void> {
  const info = ACCELERATION_INFO.bt as { built: boolean; notBuiltReason?: string };
  info.built = false;
  info.notBuiltReason = 'not yet built: (marked unbuilt by this test)';
  try {
    await test();
  } finally {
    info.built = true;
    delete info.notBuiltReason;
  }
}
