/** `popek run --jit on|off`: the switch for the block compiler (core/cpu/jit). */
import { describe, expect, it } from 'vitest';
import { parseRunArgs, RUN_USAGE, UsageError } from '../../core/cli/runArgs.ts';
import { JIT_DEFAULTS } from '../../core/cpu/jit/jit.ts';

describe('popek run --jit', () => {
  it('leaves the CPU default when absent, and reads on and off in both option forms', () => {
    expect(parseRunArgs(['--kernel', 'k']).jit).toBeUndefined();
    expect(parseRunArgs(['--kernel', 'k', '--jit', 'on']).jit).toBe(true);
    expect(parseRunArgs(['--kernel', 'k', '--jit=off']).jit).toBe(false);
  });

  it('refuses anything else with a one-line usage error', () => {
    expect(() => parseRunArgs(['--kernel', 'k', '--jit', 'yes'])).toThrow(new UsageError("bad --jit value 'yes': expected on or off"));
    expect(() => parseRunArgs(['--kernel', 'k', '--jit'])).toThrow(UsageError);
  });

  it('names the switch and its default in the usage text', () => {
    expect(RUN_USAGE).toContain(`--jit on|off         compile hot guest code to JavaScript (default ${JIT_DEFAULTS.enabled ? 'on' : 'off'}; off interprets everything)`);
  });
});
