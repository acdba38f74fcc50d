/**
 * Runs `popek serve` as a child process for browser tests: starts it on a
 * free port with a given library folder, reads the URL (with its token) it
 * prints, and stops it with SIGTERM as a user's Ctrl+C would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface PopekServer {
  url: string;
  origin: string;
  token: string;
  process: ChildProcess;
  /** Everything the server printed so far (for failure messages). */
  output(): string;
  stop(): Promise<number | null>;
}

const URL_PATTERN = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_\-.~%]+/;

export async function startPopekServer(library: string, timeoutMs = 120_000): Promise<PopekServer> {
  const child = spawn(process.execPath, ['bin/popek.mjs', 'serve', '--port', '0', '--library', library], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let log = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (log += chunk));
  child.stderr!.on('data', (chunk: string) => (log += chunk));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`popek serve printed no URL within ${timeoutMs} ms. Output:\n${log}`));
    }, timeoutMs);
    const onData = () => {
      const match = URL_PATTERN.exec(log);
      if (match) {
        cleanup();
        resolve(match[0]);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`popek serve exited (code ${code}) before printing its URL. Output:\n${log}`));
    };
    function cleanup() {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', onExit);
    onData();
  });

  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token')!,
    process: child,
    output: () => log,
    stop: () =>
      new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', (code) => {
          clearTimeout(killTimer);
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Calls the host API directly (to check what the UI did, not to drive it). */
export async function callApi(server: PopekServer, method: string, args: unknown[] = []): Promise<unknown> {
  const response = await fetch(`${server.origin}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ args }),
  });
  const body = (await response.json()) as { value?: unknown; error?: { message: string } };
  if (!response.ok) throw new Error(`${method}: HTTP ${response.status} ${body.error?.message ?? ''}`);
  return body.value;
}
