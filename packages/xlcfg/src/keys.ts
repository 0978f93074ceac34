/**
 * Every top-level key xl's parse_config_data reads (tools/xl/xl_parse.c, Xen master), plus the
 * ones it builds from a prefix (device_model_args_pv/_hvm). Used to tell "valid xl.cfg that
 * Tachyxx ignores" from "a key xl does not know" (a typo, or an xm-era key).
 */
export const KNOWN_XL_KEYS: ReadonlySet<string> = new Set([
  'acpi', 'acpi_firmware', 'acpi_laptop_slate', 'acpi_s3', 'acpi_s4', 'altp2m', 'altp2m_count',
  'altp2mhvm', 'apic', 'arm_sci', 'bios', 'bios_path_override', 'boot', 'bootloader',
  'bootloader_args', 'bootloader_restrict', 'bootloader_user', 'builder', 'cap', 'channel',
  'cmdline', 'cpu_weight', 'cpuid', 'cpupool', 'cpus', 'cpus_soft', 'device_model',
  'device_model_args', 'device_model_args_hvm', 'device_model_args_pv', 'device_model_override',
  'device_model_stubdomain_override', 'device_model_stubdomain_seclabel', 'device_model_user',
  'device_model_version', 'device_tree', 'disk', 'display', 'dm_restrict', 'driver_domain',
  'dtdev', 'e820_host', 'extra', 'extratime', 'firmware', 'firmware_override', 'gfx_passthru',
  'gic_version', 'hap', 'hdtype', 'hpet', 'hvm_pirq', 'init_seclabel', 'iomem', 'ioports', 'irqs',
  'kernel', 'keymap', 'latency', 'llc_colors', 'localtime', 'max_event_channels',
  'max_grant_frames', 'max_grant_version', 'max_maptrack_frames', 'maxmem', 'maxvcpus', 'mca_caps',
  'memory', 'mmio_hole', 'ms_vm_genid', 'msr_relaxed', 'name', 'nestedhvm', 'nographic',
  'nomigrate', 'nr_spis', 'nx', 'on_crash', 'on_poweroff', 'on_reboot', 'on_soft_reset',
  'on_watchdog', 'oos', 'opengl', 'p9', 'pae', 'passthrough', 'pci', 'pci_msitranslate',
  'pci_permissive', 'pci_power_mgmt', 'pci_seize', 'period', 'pool', 'pvcalls', 'pvshim',
  'pvshim_cmdline', 'pvshim_extra', 'pvshim_path', 'ramdisk', 'rdm', 'rdm_mem_boundary', 'root',
  'rtc_timeoffset', 'sdl', 'seclabel', 'serial', 'shadow_memory', 'slice', 'smbios',
  'smbios_firmware', 'soundhw', 'spice', 'spice_clipboard_sharing', 'spice_image_compression',
  'spice_streaming_video', 'spiceagent_mouse', 'spicedisable_ticketing', 'spicehost',
  'spicepasswd', 'spiceport', 'spicetls_port', 'spiceusbredirection', 'spicevdagent', 'stdvga',
  'stubdomain_cmdline', 'stubdomain_kernel', 'stubdomain_memory', 'stubdomain_ramdisk', 'sve',
  'tee', 'timer_mode', 'trap_unmapped_accesses', 'tsc_mode', 'type', 'usb', 'usbctrl', 'usbdev',
  'usbdevice', 'usbversion', 'uuid', 'vcpus', 'vdispl', 'vendor_device', 'vfb', 'vga', 'videoram',
  'vif', 'vif2', 'viridian', 'virtio', 'vkb', 'vkb_device', 'vmtrace_buf_kb', 'vnc', 'vncdisplay',
  'vnclisten', 'vncpasswd', 'vncunused', 'vncviewer', 'vnuma', 'vpmu', 'vpt_align', 'vsnd', 'vtpm',
  'vuart', 'xauthority', 'xen_platform_pci', 'xen_platform_pci_bar_uc',
  'xend_suspend_evtchn_compat', 'xenstore_feature_mask', 'xenstore_quota',
]);

/** The known key a misspelt one most likely meant (edit distance <= 2, the closest first), if any. */
export function closestXlKey(key: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of KNOWN_XL_KEYS) {
    if (Math.abs(k.length - key.length) >= bestD) continue;
    const d = editDistance(key, k, bestD);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]!);
    }
    if (rowMin >= limit) return limit;
    prev = cur;
  }
  return Math.min(prev[b.length]!, limit);
}
