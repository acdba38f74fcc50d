/**
 * A scripted in-memory HostBridge for component tests: every method is a
 * vitest mock with a sensible default, and events can be emitted by hand.
 */
import { vi } from 'vitest';
import { createApp } from 'vue';
import { createPinia, type Pinia } from 'pinia';
import type {
  AccessibleVm,
  CreateDiskRequest,
  CreateDiskResult,
  DiskInspection,
  GuestPreset,
  HostBridge,
  HostKeyEvent,
  InspectedBlock,
  ScreenSnapshot,
  ConsolePort,
  TranslationCacheView,
  VmConfig,
  VmState,
  VmStateEvent,
  VmStats,
} from '../../core/host/api.ts';
import { HOST_KEY, type RendererHost } from '../../renderer/src/host/hostContext.ts';
import { useVmStore } from '../../renderer/src/stores/vmStore.ts';

export const TINY_PRESET: GuestPreset = {
  id: 'tiny-linux',
  label: 'Tiny Linux demo',
  description: 'Bundled kernel and BusyBox initramfs.',
  bundled: true,
  available: true,
  defaults: {
    guestType: 'tiny-linux',
    memoryMiB: 128,
    cpus: 1,
    boot: { kind: 'linux', kernel: '@guests/tiny-linux/bzImage', initrd: '@guests/tiny-linux/initramfs.cpio.gz', cmdline: 'console=ttyS0' },
    bootOrder: ['disk'],
    disks: [],
    serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
    clock: 'realtime',
    acceleration: 'vtx', // as core/host/presets.ts gives new VMs
    nestedPaging: true,
  },
};

export const CUSTOM_PRESET: GuestPreset = {
  id: 'linux-custom',
  label: 'Linux (custom kernel)',
  description: 'Your own bzImage.',
  bundled: false,
  available: true,
  defaults: {
    guestType: 'linux-custom',
    memoryMiB: 256,
    cpus: 1,
    boot: { kind: 'linux', kernel: '', cmdline: 'console=ttyS0' },
    bootOrder: ['disk'],
    disks: [],
    serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
    clock: 'realtime',
    acceleration: 'none',
    nestedPaging: true,
  },
};

export function makeConfig(overrides: Partial<VmConfig> = {}): VmConfig {
  return {
    version: 1,
    id: '6f1c1b9e-8a57-4c4e-9a53-2f0c3d1e7a10',
    name: 'Alpha',
    guestType: 'tiny-linux',
    memoryMiB: 128,
    cpus: 1,
    boot: { kind: 'linux', kernel: '@guests/tiny-linux/bzImage', initrd: '@guests/tiny-linux/initramfs.cpio.gz', cmdline: 'console=ttyS0' },
    bootOrder: ['disk'],
    disks: [],
    serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
    clock: 'realtime',
    acceleration: 'none',
    nestedPaging: true,
    ...overrides,
  };
}

export function makeVm(config: VmConfig, state: VmState = 'poweredOff'): AccessibleVm {
  return { accessible: true, id: config.id, folder: `/lib/${config.id}`, config, status: { state, since: 0 } };
}

export class FakeHost {
  vms: AccessibleVm[] = [];
  presets: GuestPreset[] = [TINY_PRESET, CUSTOM_PRESET];
  private stateListeners = new Set<(e: VmStateEvent) => void>();
  private statsListeners = new Set<(s: VmStats) => void>();
  private screenListeners = new Set<{ vmId: string; l: (s: ScreenSnapshot) => void }>();
  private libraryListeners = new Set<() => void>();

  readonly api = {
    getHostInfo: vi.fn(async () => ({ mode: 'server' as const, version: '0.1.0', libraryFolder: '/lib', guestsFolder: '/guests' })),
    listPresets: vi.fn(async () => this.presets),
    listVms: vi.fn(async () => this.vms),
    getVm: vi.fn(async (id: string) => this.vms.find((v) => v.id === id)!),
    validateVm: vi.fn(async (_draft: unknown, _forId?: string) => [] as { field: string; message: string }[]),
    createVm: vi.fn(async (request: { config: VmConfig | Omit<VmConfig, 'id' | 'version'> }) => {
      const vm = makeVm({ ...(request.config as Omit<VmConfig, 'id' | 'version'>), version: 1, id: '11111111-2222-4333-8444-555555555555' });
      return { ok: true as const, vm };
    }),
    updateVm: vi.fn(async (id: string, draft: Omit<VmConfig, 'id' | 'version'>) => {
      const vm = makeVm({ ...draft, version: 1, id });
      return { ok: true as const, vm };
    }),
    inspectDisk: vi.fn(async (_vmId: string | undefined, _path: string) => ({ ok: false as const, message: 'not scripted' }) as DiskInspection),
    createDisk: vi.fn(async (request: CreateDiskRequest) => ({ ok: true as const, disk: { path: request.path, format: request.format, sizeMiB: request.sizeMiB } }) as CreateDiskResult),
    removeVm: vi.fn(async (_id: string) => {}),
    startVm: vi.fn(async (_id: string) => ({ state: 'running' as const, since: 1 })),
    pauseVm: vi.fn(async (_id: string) => ({ state: 'paused' as const, since: 1 })),
    resumeVm: vi.fn(async (_id: string) => ({ state: 'running' as const, since: 1 })),
    resetVm: vi.fn(async (_id: string) => ({ state: 'running' as const, since: 1 })),
    powerOffVm: vi.fn(async (_id: string) => ({ state: 'poweredOff' as const, since: 1 })),
    acpiShutdownVm: vi.fn(async (_id: string) => ({ state: 'running' as const, since: 1 })),
    getStats: vi.fn(async (_id: string) => null),
    getTranslationCache: vi.fn(async (_id: string): Promise<TranslationCacheView | null> => null),
    inspectTranslatedBlock: vi.fn(async (_id: string, _blockId: number): Promise<InspectedBlock | null> => null),
    sendSerialInput: vi.fn(async (_id: string, _port: ConsolePort, _data: Uint8Array) => {}),
    subscribeSerial: vi.fn((_vmId: string, _port: ConsolePort, _listener: (d: Uint8Array) => void) => () => {}),
    sendKeys: vi.fn(async (_id: string, _events: HostKeyEvent[]) => {}),
    setBalloonTarget: vi.fn(async (_id: string, _targetMiB: number) => {}),
    subscribeScreen: vi.fn((vmId: string, l: (s: ScreenSnapshot) => void) => {
      const entry = { vmId, l };
      this.screenListeners.add(entry);
      return () => void this.screenListeners.delete(entry);
    }),
    onStateChange: (l: (e: VmStateEvent) => void) => {
      this.stateListeners.add(l);
      return () => this.stateListeners.delete(l);
    },
    onStats: (l: (s: VmStats) => void) => {
      this.statsListeners.add(l);
      return () => this.statsListeners.delete(l);
    },
    onLibraryChange: (l: () => void) => {
      this.libraryListeners.add(l);
      return () => this.libraryListeners.delete(l);
    },
  };

  readonly rendererHost: RendererHost = {
    api: this.api as unknown as HostBridge,
    desktop: null,
    openConsoleWindow: vi.fn(async () => {}),
    onConnectionChange: () => () => {},
  };

  emitState(event: VmStateEvent): void {
    for (const l of this.stateListeners) l(event);
  }

  emitScreen(vmId: string, screen: ScreenSnapshot): void {
    for (const e of this.screenListeners) if (e.vmId === vmId) e.l(screen);
  }

  emitStats(stats: VmStats): void {
    for (const l of this.statsListeners) l(stats);
  }
}

/**
 * A Pinia whose VM store is already loaded from `host` (presets, VMs), ready
 * to be passed to `mount` with `mountOptions(...)`.
 */
export async function loadedPinia(host: FakeHost): Promise<Pinia> {
  const pinia = createPinia();
  await loadStore(host, pinia);
  return pinia;
}

/** Loads the VM store on `pinia` from `host` (what the app does at start). */
export async function loadStore(host: FakeHost, pinia: Pinia): Promise<void> {
  const app = createApp({});
  app.provide(HOST_KEY, host.rendererHost);
  app.use(pinia);
  await app.runWithContext(async () => {
    await useVmStore().init();
  });
}

export function mountOptions(host: FakeHost, pinia: Pinia) {
  return {
    attachTo: document.body,
    global: { plugins: [pinia], provide: { [HOST_KEY as symbol]: host.rendererHost } },
  };
}

/** Lets pending promises and Vue's render queue settle. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}
