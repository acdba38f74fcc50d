/**
 * Numbers of the virtio 1.2 specification (OASIS, "Virtual I/O Device
 * (VIRTIO) Version 1.2") that the transport, the queues and the devices share.
 * Feature bits are bigints: the feature space is 64 bits wide and only the
 * (rare) negotiation path touches them.
 */

// ---- device status (2.1) ----
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

// ---- reserved feature bits (6) ----
export const F_INDIRECT_DESC = 1n << 28n;
export const F_EVENT_IDX = 1n << 29n;
export const F_VERSION_1 = 1n << 32n;
export const F_ACCESS_PLATFORM = 1n << 33n;

// ---- split virtqueue (2.7) ----
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** avail.flags: the driver asks for no used-buffer notifications (without EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** used.flags: the device asks for no available-buffer notifications (without EVENT_IDX). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;
export const DESCRIPTOR_BYTES = 16;
export const MAX_QUEUE_SIZE = 32768;

// ---- device IDs (5) ----
export const DEVICE_ID_NET = 1;
export const DEVICE_ID_BLOCK = 2;
export const DEVICE_ID_CONSOLE = 3;
export const DEVICE_ID_ENTROPY = 4;
export const DEVICE_ID_BALLOON = 5;
