/**
 * Acceleration modes: how a VM's guest runs on the emulated processor. One
 * list, read by the config schema, the CLI, the host (which refuses to start a
 * mode this build cannot run) and the app (radio buttons, Details line), so
 * every place tells the same story about what is built and what is not.
 *
 * Plain data with no Node or DOM imports: the renderer imports it too.
 */

/** Every mode the config schema accepts; the ones not built yet are reserved for the issues that bring them. */
export const ACCELERATIONS = ['none', 'vtx', 'svm', 'bt', 'trap'] as const;
export type Acceleration = (typeof ACCELERATIONS)[number];

export interface AccelerationInfo {
  id: Acceleration;
  /** Short name for buttons and the Details line. */
  label: string;
  /** One line: what the mode does. */
  explanation: string;
  /** Whether this build can run a VM in this mode. */
  built: boolean;
  /** Why it cannot run yet (only when not built): names the issue that brings it. */
  notBuiltReason?: string;
}

/**
 * Whether the TypeScript hypervisor's VT-x mode boots guests in this build:
 * true since the Tiny Linux guest test boots to its shell under the
 * hypervisor (test/hypervisor/vtxTinyLinux.test.ts). Setting it false again
 * makes every surface (CLI, app, host) refuse and grey out 'vtx'.
 */
export const VTX_BUILT = true;

/**
 * Whether the hypervisor's AMD-V mode boots guests in this build: true since
 * the Tiny Linux guest test boots to its shell under it
 * (test/hypervisor/svmTinyLinux.test.ts).
 */
export const SVM_BUILT = true;

export const ACCELERATION_INFO: Readonly<Record<Acceleration, AccelerationInfo>> = {
  none: {
    id: 'none',
    label: 'None (emulated PC)',
    explanation: 'The guest runs directly on the emulated PC with no hypervisor: the reference the other modes are compared with.',
    built: true,
  },
  vtx: {
    id: 'vtx',
    label: 'Intel VT-x',
    explanation: "Popek's hypervisor runs the guest through the emulated processor's VMX extension, with EPT nested paging.",
    built: VTX_BUILT,
    ...(VTX_BUILT ? {} : { notBuiltReason: 'not yet built: the VT-x hypervisor (issue 8) does not boot guests yet' }),
  },
  svm: {
    id: 'svm',
    label: 'AMD-V (SVM)',
    explanation: "Popek's hypervisor runs the guest on an emulated AMD processor through its SVM extension, with nested paging (NPT).",
    built: SVM_BUILT,
    ...(SVM_BUILT ? {} : { notBuiltReason: 'not yet built: the AMD-V hypervisor (issue 9) does not boot guests yet' }),
  },
  bt: {
    id: 'bt',
    label: 'Binary translation',
    explanation: 'No hardware assist: the guest kernel runs deprivileged and its sensitive instructions are translated.',
    built: true,
  },
  trap: {
    id: 'trap',
    label: 'Trap-and-emulate only',
    explanation: 'The deprivileged guest kernel with translation off, to show where trap-and-emulate fails on x86.',
    built: true,
  },
};

/**
 * The mode a new VM and `popek run` get: Popek's hypervisor on VT-x with
 * EPT, as on any desktop since 2010. It boots Tiny Linux and Debian's kernel
 * (test/hypervisor, test/machine/debianKernel.test.ts) with the same virtio
 * devices as the bare PC (test/hypervisor/vtxVirtio.test.ts). Its cost shows
 * in `npm run bench`: the shell loop about as fast as the bare PC, process
 * creation slower (page-table and I/O exits). 'none' stays available for
 * comparison and firmware work.
 */
export const DEFAULT_ACCELERATION: Acceleration = 'vtx';

/**
 * Largest guest RAM under VT-x (and AMD-V, whose VMCB, permission maps and
 * nested tables take no more): machine memory (at most 1792 MiB on this
 * machine) also holds what the hypervisor keeps for the VM (its root-mode
 * tables, the VMCS, I/O bitmaps, the EPT tables) and a firmware image of up
 * to 16 MiB; 32 MiB covers them.
 */
export const VTX_MEMORY_MIB_MAX = 1760;

/**
 * Why a firmware-booting VM needs nested paging: on shadow page tables
 * (core/hypervisor/shadow) the hypervisor runs a guest from its protected-mode
 * kernel entry; firmware starts in real mode, which VT-x runs only as an
 * unrestricted guest (EPT) and AMD-V only with nested paging.
 */
export const SHADOW_PAGING_NEEDS_KERNEL = 'without nested paging the hypervisor runs only a kernel (Linux boot): firmware starts in real mode, which needs nested paging';

/**
 * The one sentence shown when a VM cannot run in its configured mode, or
 * undefined when it can. `bootsKernel`: the VM boots a kernel directly (not firmware).
 */
export function accelerationProblem(acceleration: Acceleration, nestedPaging: boolean, bootsKernel = true): string | undefined {
  const info = ACCELERATION_INFO[acceleration];
  if (!info.built) return `Acceleration ${info.label} is ${info.notBuiltReason}`;
  if ((acceleration === 'vtx' || acceleration === 'svm') && !nestedPaging && !bootsKernel) return `${info.label} ${SHADOW_PAGING_NEEDS_KERNEL}`;
  return undefined;
}

/**
 * Why the board's local APIC and I/O APIC cannot go with `acceleration`, or
 * undefined when they can: the software monitor does not emulate the local
 * APIC's registers (they are MMIO) and hides it from CPUID, so its guests
 * keep the 8259 — a board with APICs there would promise what it cannot do.
 */
export function apicProblem(acceleration: Acceleration): string | undefined {
  if (acceleration !== 'trap' && acceleration !== 'bt') return undefined;
  return `The I/O APIC cannot be used with ${ACCELERATION_INFO[acceleration].label}: the software monitor does not emulate the local APIC, and its guests keep the 8259 PIC`;
}

/** The Details line: the mode the VM really runs in. */
export function describeAcceleration(acceleration: Acceleration, nestedPaging: boolean): string {
  const info = ACCELERATION_INFO[acceleration];
  if (acceleration === 'vtx' || acceleration === 'svm') return `${info.label} (nested paging ${nestedPaging ? 'on' : 'off'})`;
  return info.label;
}

/** The Details line, saying so when this build cannot start the VM in its mode. */
export function accelerationDetail(acceleration: Acceleration, nestedPaging: boolean, bootsKernel = true): string {
  const mode = describeAcceleration(acceleration, nestedPaging);
  const info = ACCELERATION_INFO[acceleration];
  if (!info.built) return `${mode}: cannot start, ${info.notBuiltReason}`;
  if (accelerationProblem(acceleration, nestedPaging, bootsKernel) !== undefined) {
    return `${mode}: cannot start, ${SHADOW_PAGING_NEEDS_KERNEL}`;
  }
  return mode;
}
