/**
 * Electron main process: windows, menu, and the IPC side of the host API.
 * Thin on purpose: all VM logic is the HostService of core/host, the same one
 * `popek serve` exposes over HTTP.
 *
 * Security posture: context isolation, sandboxed renderers without Node, a
 * strict Content-Security-Policy, no remote content (every http(s)/ws(s)
 * request from a renderer is cancelled), no navigation away from the app,
 * no permission grants, and IPC accepted only from the app's own pages.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, session, shell, type IpcMainEvent, type IpcMainInvokeEvent, type MenuItemConstructorOptions, type WebContents } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HOST_API_METHODS, HostError, type FileKind, type MenuCommand, type Unsubscribe } from '../core/host/api.ts';
import { HostService } from '../core/host/hostService.ts';
import { consolePortLabel, isConsolePort, type ConsolePort } from '../core/host/consolePort.ts';
import { VmLibrary } from '../core/host/library.ts';
import { workerThreadRunnerFactory } from '../core/host/machineRunner.ts';
import {
  HOST_EVENT,
  INVOKE_PREFIX,
  MENU_COMMAND,
  OPEN_CONSOLE_WINDOW,
  PICK_FILE,
  SCREEN_DATA,
  SCREEN_SUBSCRIBE,
  SCREEN_UNSUBSCRIBE,
  SERIAL_DATA,
  SERIAL_SUBSCRIBE,
  SERIAL_UNSUBSCRIBE,
  type HostEventMessage,
  type IpcResult,
  type ScreenPicture,
  type ScreenSubscribeRequest,
  type SerialChunk,
  type SerialSubscribeRequest,
} from './ipcChannels.ts';

/** dist/electron, where this bundle, the preload and the machine worker live. */
const bundleDir = __dirname;
/** Worker threads cannot load from inside app.asar; electron-builder unpacks them (asarUnpack). */
const unpackedDir = bundleDir.replace(/([/\\])app\.asar([/\\])/, '$1app.asar.unpacked$2');
const rendererIndex = join(bundleDir, '..', 'renderer', 'index.html');
const rendererUrlPrefix = pathToFileURL(join(bundleDir, '..', 'renderer')).href + '/';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'", // xterm.js themes its terminal through <style> elements
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

const FILE_FILTERS: Record<FileKind, { title: string; filters: Electron.FileFilter[] }> = {
  kernel: { title: 'Choose a Linux kernel (bzImage) or Multiboot kernel', filters: [{ name: 'All files', extensions: ['*'] }] },
  initrd: { title: 'Choose an initrd / initramfs', filters: [{ name: 'Initramfs', extensions: ['gz', 'cpio', 'img', 'xz', 'zst'] }, { name: 'All files', extensions: ['*'] }] },
  disk: { title: 'Choose a disk image', filters: [{ name: 'Disk images (qcow2, raw)', extensions: ['qcow2', 'img', 'raw', 'bin'] }, { name: 'All files', extensions: ['*'] }] },
  rom: { title: 'Choose a firmware ROM image', filters: [{ name: 'ROM images', extensions: ['rom', 'bin'] }, { name: 'All files', extensions: ['*'] }] },
  iso: { title: 'Choose an ISO image', filters: [{ name: 'ISO images', extensions: ['iso'] }, { name: 'All files', extensions: ['*'] }] },
};

function guestsFolder(): string {
  // Packaged: electron-builder copies resources/guests to <resources>/guests (extraResources).
  return app.isPackaged ? join(process.resourcesPath, 'guests') : join(app.getAppPath(), 'resources', 'guests');
}

let host: HostService;
let mainWindow: BrowserWindow | undefined;

function isTrustedSender(event: IpcMainEvent | IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? '';
  return url.startsWith(rendererUrlPrefix);
}

function broadcast(channel: string, message: unknown): void {
  for (const win of BrowserWindow.getAllWindows()) {
    if (!win.webContents.isDestroyed()) win.webContents.send(channel, message);
  }
}

function wrapError(e: unknown): IpcResult {
  if (e instanceof HostError) return { ok: false, error: { code: e.code, message: e.message } };
  return { ok: false, error: { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) } };
}

function registerIpc(): void {
  for (const method of HOST_API_METHODS) {
    ipcMain.handle(INVOKE_PREFIX + method, async (event, ...args: unknown[]): Promise<IpcResult> => {
      if (!isTrustedSender(event)) return { ok: false, error: { code: 'UNSUPPORTED', message: 'not allowed from this page' } };
      try {
        const fn = host[method] as (...a: unknown[]) => Promise<unknown>;
        return { ok: true, value: await fn.apply(host, args) };
      } catch (e) {
        return wrapError(e);
      }
    });
  }

  ipcMain.handle(PICK_FILE, async (event, kind: unknown): Promise<IpcResult> => {
    if (!isTrustedSender(event)) return { ok: false, error: { code: 'UNSUPPORTED', message: 'not allowed from this page' } };
    if (typeof kind !== 'string' || !(kind in FILE_FILTERS)) return { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'unknown file kind' } };
    const spec = FILE_FILTERS[kind as FileKind];
    const owner = BrowserWindow.fromWebContents(event.sender) ?? undefined;
    const options: Electron.OpenDialogOptions = { title: spec.title, filters: spec.filters, properties: ['openFile'] };
    const result = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
    return { ok: true, value: result.canceled || result.filePaths.length === 0 ? null : result.filePaths[0] };
  });

  ipcMain.handle(OPEN_CONSOLE_WINDOW, async (event, vmId: unknown, port: unknown): Promise<IpcResult> => {
    if (!isTrustedSender(event)) return { ok: false, error: { code: 'UNSUPPORTED', message: 'not allowed from this page' } };
    if (typeof vmId !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(vmId) || !isConsolePort(port)) {
      return { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'bad VM id or console port' } };
    }
    openConsoleWindow(vmId, port);
    return { ok: true, value: undefined };
  });

  // Serial and screen subscriptions per renderer, dropped when the renderer goes away (the preload numbers both from one counter).
  servePerRendererSubscriptions(SERIAL_SUBSCRIBE, SERIAL_UNSUBSCRIBE, (request: SerialSubscribeRequest, contents) =>
    host.subscribeSerial(request.vmId, request.port, (data) => {
      if (!contents.isDestroyed()) contents.send(SERIAL_DATA, { subscription: request.subscription, data } satisfies SerialChunk);
    }),
  );
  servePerRendererSubscriptions(SCREEN_SUBSCRIBE, SCREEN_UNSUBSCRIBE, (request: ScreenSubscribeRequest, contents) =>
    host.subscribeScreen(request.vmId, (screen) => {
      if (!contents.isDestroyed()) contents.send(SCREEN_DATA, { subscription: request.subscription, screen } satisfies ScreenPicture);
    }),
  );

  host.onStateChange((event) => broadcast(HOST_EVENT, { type: 'state', event } satisfies HostEventMessage));
  host.onStats((stats) => broadcast(HOST_EVENT, { type: 'stats', stats } satisfies HostEventMessage));
  host.onLibraryChange(() => broadcast(HOST_EVENT, { type: 'library' } satisfies HostEventMessage));
}

/**
 * A subscribe/unsubscribe channel pair whose subscriptions belong to the
 * renderer that made them: at most 64 each, all dropped when that renderer
 * goes away. `open` throws on a malformed VM id or port: nothing is subscribed.
 */
function servePerRendererSubscriptions<R extends { subscription: number }>(
  subscribeChannel: string,
  unsubscribeChannel: string,
  open: (request: R, contents: WebContents) => Unsubscribe,
): void {
  const byRenderer = new Map<number, Map<number, Unsubscribe>>();
  ipcMain.on(subscribeChannel, (event, request: R) => {
    if (!isTrustedSender(event) || request === null || typeof request !== 'object' || !Number.isSafeInteger(request.subscription)) return;
    const contents = event.sender;
    let mine = byRenderer.get(contents.id);
    if (!mine) {
      const created = new Map<number, Unsubscribe>();
      byRenderer.set(contents.id, created);
      contents.once('destroyed', () => {
        for (const u of created.values()) u();
        byRenderer.delete(contents.id);
      });
      mine = created;
    }
    if (mine.has(request.subscription) || mine.size >= 64) return;
    try {
      mine.set(request.subscription, open(request, contents));
    } catch {
      // malformed id or port: nothing to subscribe to
    }
  });
  ipcMain.on(unsubscribeChannel, (event, subscription: unknown) => {
    if (!isTrustedSender(event) || typeof subscription !== 'number') return;
    const mine = byRenderer.get(event.sender.id);
    mine?.get(subscription)?.();
    mine?.delete(subscription);
  });
}

function secureSession(): void {
  const ses = session.defaultSession;
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // No remote content: the UI is local files only.
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_details, callback) => callback({ cancel: true }));
  // The console's Paste button reads the clipboard; that is the only permission our own pages get.
  const ownPageMayReadClipboard = (permission: string, url: string): boolean =>
    (permission === 'clipboard-read' || permission === 'clipboard-sanitized-write') && url.startsWith(rendererUrlPrefix);
  ses.setPermissionRequestHandler((contents, permission, callback) => callback(ownPageMayReadClipboard(permission, contents.getURL())));
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    ownPageMayReadClipboard(permission, details.requestingUrl ?? requestingOrigin));
}

function createWindow(hash = '', options: { width: number; height: number; title: string } = { width: 1200, height: 780, title: 'Popek VM Manager' }): BrowserWindow {
  const win = new BrowserWindow({
    width: options.width,
    height: options.height,
    minWidth: 640,
    minHeight: 420,
    title: options.title,
    show: false,
    webPreferences: {
      preload: join(bundleDir, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  // Links to the outside open in the system browser; nothing else opens windows.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(rendererUrlPrefix)) event.preventDefault();
  });
  void win.loadFile(rendererIndex, hash ? { hash } : undefined);
  return win;
}

function openConsoleWindow(vmId: string, port: ConsolePort): void {
  createWindow(`/console/${encodeURIComponent(vmId)}/${port}`, { width: 900, height: 600, title: `Popek console ${consolePortLabel(port)}` });
}

function sendMenuCommand(command: MenuCommand): void {
  const target = BrowserWindow.getFocusedWindow() ?? mainWindow;
  if (target && !target.webContents.isDestroyed()) target.webContents.send(MENU_COMMAND, command);
}

function buildMenu(): Menu {
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'New VM…', accelerator: 'CmdOrCtrl+N', click: () => sendMenuCommand('newVm') },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { label: 'Edit', submenu: [{ role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    {
      label: 'Machine',
      submenu: [
        { label: 'Start', accelerator: 'CmdOrCtrl+R', click: () => sendMenuCommand('start') },
        { label: 'Pause / Resume', accelerator: 'CmdOrCtrl+P', click: () => sendMenuCommand('pause') },
        { label: 'Reset', accelerator: 'CmdOrCtrl+T', click: () => sendMenuCommand('reset') },
        { label: 'Power Off', accelerator: 'CmdOrCtrl+H', click: () => sendMenuCommand('powerOff') },
      ],
    },
    { label: 'View', submenu: [{ role: 'toggleDevTools' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }] },
    { label: 'Help', submenu: [{ label: 'About Popek', click: () => sendMenuCommand('about') }] },
  ];
  return Menu.buildFromTemplate(template);
}

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.enableSandbox();
  await app.whenReady();

  const library = new VmLibrary(join(app.getPath('userData'), 'machines'), guestsFolder());
  await library.ensureFolder();
  host = new HostService({
    library,
    mode: 'electron',
    version: app.getVersion(),
    runnerFactory: workerThreadRunnerFactory(pathToFileURL(join(unpackedDir, 'machineWorker.mjs'))),
    machineModuleUrl: pathToFileURL(join(unpackedDir, 'machine.mjs')).href,
  });

  secureSession();
  registerIpc();
  Menu.setApplicationMenu(buildMenu());
  mainWindow = createWindow();
  mainWindow.on('closed', () => (mainWindow = undefined));

  app.on('activate', () => {
    if (!mainWindow) mainWindow = createWindow();
  });
  app.on('window-all-closed', () => app.quit());

  // Power off running VMs before quitting (their workers would die with the process anyway,
  // but this closes serial files and TCP listeners cleanly).
  let shuttingDown = false;
  app.on('before-quit', (event) => {
    if (shuttingDown) return;
    event.preventDefault();
    shuttingDown = true;
    void host.shutdown().finally(() => app.quit());
  });
}

void start();
