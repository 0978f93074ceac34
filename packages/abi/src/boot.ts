/**
 * Boot ABI v1 (docs/abi.md): one image runs bare under PL0 firmware or as a Xen-style domain.
 */
export const BOOT_ABI_VERSION = 1;
/** Guest-physical base of RAM. */
export const GUEST_RAM_BASE = 0x8000_0000;
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** `start_info` magic for Tachyxx guests (Xen writes "xen-<ver>-<arch>"). */
export const START_INFO_MAGIC = 'xen-3.0-tachyxx';
export const MAX_GUEST_CMDLINE = 1024;

/**
 * Layout of Xen's `struct start_info` (public/xen.h) on a 64-bit guest. Offsets in bytes;
 * `console.domU` is the union member used by domUs.
 */
export const StartInfo = {
  size: 1152 + 16,
  magic: { offset: 0, size: 32 },
  nr_pages: { offset: 32, size: 8 },
  shared_info: { offset: 40, size: 8 },
  flags: { offset: 48, size: 4 },
  store_mfn: { offset: 56, size: 8 },
  store_evtchn: { offset: 64, size: 4 },
  console_mfn: { offset: 72, size: 8 },
  console_evtchn: { offset: 80, size: 4 },
  pt_base: { offset: 88, size: 8 },
  nr_pt_frames: { offset: 96, size: 8 },
  mfn_list: { offset: 104, size: 8 },
  mod_start: { offset: 112, size: 8 },
  mod_len: { offset: 120, size: 8 },
  cmd_line: { offset: 128, size: MAX_GUEST_CMDLINE },
  first_p2m_pfn: { offset: 1152, size: 8 },
  nr_p2m_frames: { offset: 1160, size: 8 },
} as const;

/** start_info.flags (public/xen.h SIF_*). */
export const SIF_PRIVILEGED = 1 << 0;
export const SIF_INITDOMAIN = 1 << 1;
