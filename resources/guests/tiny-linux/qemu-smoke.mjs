#!/usr/bin/env node
// Boots a kernel + initramfs under QEMU (a reference oracle for the bundled
// guest, never a runtime dependency of Popek) with the serial port on
// stdin/stdout pipes, waits for the POPEK-READY line, runs a few commands at
// the "# " prompt, powers off, and prints the whole serial transcript.
//
// Usage: node qemu-smoke.mjs [--kernel F] [--initrd F] [--cpu pentium3]
//          [--append "console=ttyS0"] [--timeout 120] [--memory 128]
//          [--qemu-args "-device virtio-blk-pci,drive=..."]   (split on spaces)
//          [--run "uname -a;;ls /"]   (commands, ";;"-separated, run before
//                                      the final "poweroff -f")
//          [--poweroff "poweroff -f"] (the command that must power off)
// Exit status 0 only if every step happened and QEMU exited by itself after
// "poweroff -f" (ACPI S5; -no-reboot makes a reset an exit too, so the
// transcript is checked for the kernel's "reboot: Power down" line).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const opts = {
  kernel: join(here, 'bzImage'),
  initrd: join(here, 'initramfs.cpio.gz'),
  cpu: 'pentium3',
  append: 'console=ttyS0',
  memory: '128',
  timeout: '120',
  'qemu-args': '',
  run: 'uname -a;;ls /;;cat /proc/cpuinfo',
  poweroff: 'poweroff -f',
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '');
  if (!(key in opts) || argv[i + 1] === undefined) {
    console.error(`unknown or incomplete option ${argv[i]}`);
    process.exit(2);
  }
  opts[key] = argv[i + 1];
}

// The prompt is "# "; busybox's line editor then sends ESC[6n (a cursor
// position query) when no input is pending, so accept that after it.
const PROMPT_AT_END = /(^|\n)# (\x1b\[6n)?$/;
const commands = opts.run.split(';;').filter((c) => c.length > 0);
const qemuArgs = [
  '-cpu', opts.cpu, '-m', opts.memory, '-no-reboot',
  '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
  '-kernel', opts.kernel, '-initrd', opts.initrd, '-append', opts.append,
  ...opts['qemu-args'].split(' ').filter((a) => a.length > 0),
];
console.error(`$ qemu-system-i386 ${qemuArgs.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}`);

const started = process.hrtime.bigint();
const secondsSinceStart = () => Number(process.hrtime.bigint() - started) / 1e9;
const qemu = spawn('qemu-system-i386', qemuArgs, { stdio: ['pipe', 'pipe', 'inherit'] });

let transcript = '';
let waiter = null; // { test, resolve }
qemu.stdout.on('data', (chunk) => {
  const text = chunk.toString('latin1');
  transcript += text;
  process.stdout.write(text);
  if (waiter && waiter.test(transcript)) {
    const w = waiter;
    waiter = null;
    w.resolve();
  }
});
const exited = new Promise((resolve) => qemu.on('exit', (code, signal) => resolve({ code, signal })));

function waitFor(description, test, seconds) {
  return new Promise((resolve, reject) => {
    if (test(transcript)) return resolve();
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${description}`)), seconds * 1000);
    waiter = { test, resolve: () => { clearTimeout(timer); resolve(); } };
  });
}

// A line of command output may itself start with "# " and a chunk may end
// right there, so the prompt only counts once the guest has then been quiet
// for a moment.
function waitForPrompt(description, mark, seconds) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + seconds * 1000;
    let seenLength = -1;
    let quietSince = Date.now();
    const poll = setInterval(() => {
      if (transcript.length !== seenLength) {
        seenLength = transcript.length;
        quietSince = Date.now();
      } else if (Date.now() - quietSince >= 300 && PROMPT_AT_END.test(transcript.slice(mark))) {
        clearInterval(poll);
        resolve();
      }
      if (Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error(`timeout waiting for ${description}`));
      }
    }, 50);
  });
}

const timeout = Number(opts.timeout);
let failed = null;
const report = [];
try {
  await waitFor('POPEK-READY', (t) => /(^|\n)POPEK-READY\r?\n/.test(t), timeout);
  report.push(`ready line after ${secondsSinceStart().toFixed(2)} s`);
  let mark = transcript.length;
  try {
    await waitForPrompt('first prompt', mark, 15);
  } catch {
    // A late kernel message may have landed after the prompt: ask again.
    mark = transcript.length;
    qemu.stdin.write('\n');
    await waitForPrompt('first prompt (after an empty line)', mark, 30);
  }
  for (const cmd of commands) {
    mark = transcript.length;
    qemu.stdin.write(`${cmd}\n`);
    await waitForPrompt(`prompt after "${cmd}"`, mark, 60);
  }
  qemu.stdin.write(`${opts.poweroff}\n`);
  const result = await Promise.race([
    exited,
    new Promise((resolve) => setTimeout(() => resolve(null), 30000)),
  ]);
  if (result === null) throw new Error('QEMU did not exit after poweroff -f');
  if (!/reboot: Power down/.test(transcript)) throw new Error('no "reboot: Power down" in the transcript');
  report.push(`powered off after ${secondsSinceStart().toFixed(2)} s (qemu exit code ${result.code})`);
} catch (err) {
  failed = err;
  qemu.kill('SIGKILL');
}
console.error(`\n--- ${failed ? `FAIL: ${failed.message}` : 'PASS'}; ${report.join('; ')}`);
process.exit(failed ? 1 : 0);
