/**
 * qemu-img / qemu-io (Debian's qemu-utils) as the test-only oracle for qcow2
 * files. A missing tool throws, so the tests that need it fail instead of
 * skipping (CI installs qemu-utils, see .ci/run).
 */
import { spawnSync } from 'node:child_process';

export interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
}

function run(tool: string, args: string[]): ToolResult {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`${tool} is required for this test (apt-get install qemu-utils): ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs qemu-img; a non-zero status throws unless allowed. */
export function qemuImg(args: string[], allowStatus: number[] = [0]): ToolResult {
  const r = run('qemu-img', args);
  if (!allowStatus.includes(r.status)) throw new Error(`qemu-img ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r;
}

/** Runs qemu-io commands (-c) on an image; throws on failure. */
export function qemuIo(image: string, format: string, commands: string[]): string {
  const r = run('qemu-io', ['-f', format, ...commands.flatMap((c) => ['-c', c]), image]);
  if (r.status !== 0 || /error|fail/i.test(r.stdout + r.stderr)) throw new Error(`qemu-io ${commands.join('; ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `qemu-img check --output=json`: the counts of corruptions and leaks (exit 0 clean, 3 leaks only, 2 corruption). */
export function qemuCheck(image: string): { status: number; corruptions: number; leaks: number; checkErrors: number } {
  const r = qemuImg(['check', '--output=json', image], [0, 2, 3]);
  const json = JSON.parse(r.stdout) as { corruptions?: number; leaks?: number; 'check-errors'?: number };
  return { status: r.status, corruptions: json.corruptions ?? 0, leaks: json.leaks ?? 0, checkErrors: json['check-errors'] ?? 0 };
}

export function qemuInfo(image: string): { 'virtual-size': number; format: string; 'backing-filename'?: string; 'backing-filename-format'?: string; 'format-specific'?: { data?: { compat?: string } } } {
  return JSON.parse(qemuImg(['info', '--output=json', image]).stdout);
}
