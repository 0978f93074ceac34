/**
 * xen_version (hypercall 17, public/version.h) and the feature bits it reports
 * (public/features.h). Struct sizes are Xen's; the strings Tachyxx answers are the hypervisor's.
 */

/** xen_version sub-commands (`XENVER_*`). */
export const XenVer = {
  version: 0, extraversion: 1, compile_info: 2, capabilities: 3, changeset: 4,
  platform_parameters: 5, get_features: 6, pagesize: 7, guest_handle: 8, commandline: 9, build_id: 10,
} as const;
export type XenVerName = keyof typeof XenVer;

/** sizeof(xen_extraversion_t) = char[16]. */
export const XEN_EXTRAVERSION_LEN = 16;
/** sizeof(xen_capabilities_info_t) = char[1024] (XEN_CAPABILITIES_INFO_LEN). */
export const XEN_CAPABILITIES_INFO_LEN = 1024;
/** sizeof(xen_changeset_info_t) = char[64] (XEN_CHANGESET_INFO_LEN). */
export const XEN_CHANGESET_INFO_LEN = 64;
/** sizeof(xen_commandline_t) = char[1024]. */
export const XEN_COMMANDLINE_LEN = 1024;
/** sizeof(xen_domain_handle_t) = uint8_t[16] (the domain's UUID). */
export const XEN_DOMAIN_HANDLE_LEN = 16;

/** struct xen_compile_info: four NUL-padded strings. */
export const XenCompileInfo = {
  size: 144,
  compiler: { offset: 0, size: 64 },
  compile_by: { offset: 64, size: 16 },
  compile_domain: { offset: 80, size: 32 },
  compile_date: { offset: 112, size: 32 },
} as const;

/** struct xen_platform_parameters { xen_ulong_t virt_start; }. */
export const XenPlatformParameters = { size: 8, virt_start: { offset: 0, size: 8 } } as const;

/** struct xen_feature_info { unsigned int submap_idx; uint32_t submap; }. */
export const XenFeatureInfo = { size: 8, submap_idx: { offset: 0, size: 4 }, submap: { offset: 4, size: 4 } } as const;

/** struct xen_build_id { uint32_t len; unsigned char buf[]; } (header only). */
export const XenBuildId = { size: 4, len: { offset: 0, size: 4 } } as const;

/** Feature bits of submap 0 (`XENFEAT_*`, public/features.h). */
export const XenFeat = {
  writable_page_tables: 0, writable_descriptor_tables: 1, auto_translated_physmap: 2,
  supervisor_mode_kernel: 3, pae_pgdir_above_4gb: 4, mmu_pt_update_preserve_ad: 5, highmem_assist: 6,
  gnttab_map_avail_bits: 7, hvm_callback_vector: 8, hvm_safe_pvclock: 9, hvm_pirqs: 10, dom0: 11,
  grant_map_identity: 12, memory_op_vnode_supported: 13, ARM_SMCCC_supported: 14,
  linux_rsdp_unrestricted: 15, not_direct_mapped: 16, direct_mapped: 17,
} as const;
/** XENFEAT_NR_SUBMAPS: submaps XENVER_get_features answers (index 0 only). */
export const XENFEAT_NR_SUBMAPS = 1;
