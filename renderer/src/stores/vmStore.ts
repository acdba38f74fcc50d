/**
 * The VM library as the UI sees it: every VM with its state, the presets, the
 * selection, and the lifecycle/config actions. Kept current by the host's
 * state and library events; the host remains the source of truth.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type {
  AccessibleVm,
  ConfigResult,
  CreateVmRequest,
  GuestPreset,
  HostInfo,
  VmConfigDraft,
  VmEntry,
  VmStateEvent,
  VmStatus,
} from '../../../core/host/api.ts';
import { useHost } from '../host/hostContext.ts';

export type LifecycleAction = 'start' | 'pause' | 'resume' | 'reset' | 'powerOff' | 'acpiShutdown';

export const useVmStore = defineStore('vms', () => {
  const host = useHost();

  const vms = ref<VmEntry[]>([]);
  const presets = ref<GuestPreset[]>([]);
  const hostInfo = ref<HostInfo | null>(null);
  const selectedId = ref<string | null>(null);
  const loaded = ref(false);
  /** Last failed action, shown in a dismissible banner. */
  const error = ref<string | null>(null);
  /** VM ids with a lifecycle request in flight (their buttons wait for it). */
  const busy = ref<Set<string>>(new Set());

  const selected = computed<VmEntry | null>(() => vms.value.find((vm) => vm.id === selectedId.value) ?? null);

  function presetLabel(id: string): string {
    return presets.value.find((p) => p.id === id)?.label ?? id;
  }

  function sortByName(list: VmEntry[]): VmEntry[] {
    const nameOf = (vm: VmEntry) => (vm.accessible ? vm.config.name : vm.id);
    return [...list].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  }

  async function refresh(): Promise<void> {
    try {
      vms.value = sortByName(await host.api.listVms());
      loaded.value = true;
      if (selectedId.value && !vms.value.some((vm) => vm.id === selectedId.value)) selectedId.value = null;
      if (!selectedId.value && vms.value.length > 0) selectedId.value = vms.value[0]!.id;
    } catch (e) {
      error.value = messageOf(e);
    }
  }

  async function init(): Promise<void> {
    host.api.onStateChange(applyStateEvent);
    host.api.onLibraryChange(() => void refresh());
    const [info, presetList] = await Promise.all([
      host.api.getHostInfo().catch(() => null),
      host.api.listPresets().catch((e: unknown) => {
        error.value = messageOf(e);
        return [] as GuestPreset[];
      }),
    ]);
    hostInfo.value = info;
    presets.value = presetList;
    await refresh();
  }

  function applyStateEvent(event: VmStateEvent): void {
    setStatus(event.vmId, event.status);
  }

  function setStatus(vmId: string, status: VmStatus): void {
    const vm = vms.value.find((v) => v.id === vmId);
    if (vm) vm.status = status;
  }

  function select(id: string | null): void {
    selectedId.value = id;
  }

  async function runLifecycle(action: LifecycleAction, vmId: string): Promise<boolean> {
    const call = {
      start: host.api.startVm,
      pause: host.api.pauseVm,
      resume: host.api.resumeVm,
      reset: host.api.resetVm,
      powerOff: host.api.powerOffVm,
      acpiShutdown: host.api.acpiShutdownVm,
    }[action];
    busy.value.add(vmId);
    try {
      const status = await call.call(host.api, vmId);
      setStatus(vmId, status);
      return true;
    } catch (e) {
      error.value = messageOf(e);
      return false;
    } finally {
      busy.value.delete(vmId);
    }
  }

  async function createVm(request: CreateVmRequest): Promise<ConfigResult> {
    const result = await host.api.createVm(request);
    if (result.ok) {
      upsert(result.vm);
      selectedId.value = result.vm.id;
    }
    return result;
  }

  async function updateVm(id: string, draft: VmConfigDraft): Promise<ConfigResult> {
    const result = await host.api.updateVm(id, draft);
    if (result.ok) upsert(result.vm);
    return result;
  }

  async function removeVm(id: string): Promise<boolean> {
    try {
      await host.api.removeVm(id);
      vms.value = vms.value.filter((vm) => vm.id !== id);
      if (selectedId.value === id) selectedId.value = vms.value[0]?.id ?? null;
      return true;
    } catch (e) {
      error.value = messageOf(e);
      return false;
    }
  }

  function upsert(vm: AccessibleVm): void {
    const others = vms.value.filter((v) => v.id !== vm.id);
    vms.value = sortByName([...others, vm]);
  }

  function nameTaken(name: string, exceptId?: string): boolean {
    const wanted = name.trim().toLowerCase();
    return vms.value.some((vm) => vm.accessible && vm.id !== exceptId && vm.config.name.trim().toLowerCase() === wanted);
  }

  return {
    vms, presets, hostInfo, selectedId, selected, loaded, error, busy,
    init, refresh, select, runLifecycle, createVm, updateVm, removeVm, nameTaken, presetLabel, setStatus,
  };
});

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
