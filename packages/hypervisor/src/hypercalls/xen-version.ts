// xen_version (hypercall 17) as Xen 4.17's do_xen_version (xen/common/kernel.c) with the dummy
// XSM policy (xsm_xen_version): version, platform_parameters and get_features answer everyone;
// extraversion, compile_info, capabilities, changeset, pagesize and guest_handle too (XSM_HOOK);
// commandline and build_id only the control domain (XSM_PRIV) - a domU gets "<denied>" for the
// command line and -EPERM for the build id, exactly as Xen. Unknown sub-ops: -ENOSYS.
import {
  Errno, PAGE_SIZE, XenBuildId, XenCompileInfo, XenFeat, XenFeatureInfo, XenPlatformParameters, XenVer,
  XEN_CAPABILITIES_INFO_LEN, XEN_CHANGESET_INFO_LEN, XEN_COMMANDLINE_LEN, XEN_DOMAIN_HANDLE_LEN, XEN_EXTRAVERSION_LEN,
} from '@tachyxx/abi';
import type { Domain } from '../domain/domain.js';

/** The Xen release whose guest ABI Tachyxx follows: 4.17. XENVER_version = major << 16 | minor. */
export const XEN_MAJOR_VERSION = 4;
export const XEN_MINOR_VERSION = 17;
export const XENVER_VERSION_VALUE = (XEN_MAJOR_VERSION << 16) | XEN_MINOR_VERSION;
/** XENVER_extraversion (Xen: e.g. ".5"). */
export const XEN_EXTRAVERSION = '-tachyxx';
/** XENVER_capabilities: the guest type Tachyxx runs (start_info's magic says the same). */
export const XEN_CAPABILITIES = 'xen-3.0-tachyxx';
/** XENVER_changeset: Xen's answer when built without version-control information. */
export const XEN_CHANGESET = 'unavailable';
/** XENVER_compile_info: fixed, so runs stay deterministic. */
export const XEN_COMPILE_INFO = { compiler: 'tsc (TypeScript) for Node.js', compile_by: 'tachyxx', compile_domain: '', compile_date: '' } as const;
/** xen_deny(): what a denied string sub-op copies out. */
export const XEN_DENY = '<denied>';

export interface XenVersionContext {
  /** The host's command line (XENVER_commandline for the control domain); '' when it has none. */
  readonly commandline: string;
}

const enc = new TextEncoder();
/** A NUL-padded char[len] holding `s` (truncated to len - 1, as safe_strcpy). */
function cstr(s: string, len: number, into = new Uint8Array(len), at = 0): Uint8Array {
  const b = enc.encode(s);
  into.set(b.subarray(0, len - 1), at);
  return into;
}

/** The domain handle (xen_domain_handle_t): the UUID's 16 bytes, in the order the string gives them. */
function domainHandle(d: Domain<unknown>): Uint8Array {
  const hexs = d.uuid.replace(/-/g, '');
  const out = new Uint8Array(XEN_DOMAIN_HANDLE_LEN);
  for (let i = 0; i < XEN_DOMAIN_HANDLE_LEN && 2 * i + 2 <= hexs.length; i++) out[i] = parseInt(hexs.slice(2 * i, 2 * i + 2), 16) || 0;
  return out;
}

/** XENVER_get_features submap 0 for `d` (kernel.c): only the bits that hold on Tachyxx. */
export function featureSubmap0(d: Domain<unknown>): number {
  // XENFEAT_memory_op_vnode_supported: Xen sets it everywhere (XENMEMF_vnode is understood by
  // memory_op here too). No ARM_SMCCC (no SMC), no x86 bits.
  let m = 1 << XenFeat.memory_op_vnode_supported;
  if (d.translated) m |= (1 << XenFeat.writable_page_tables) | (1 << XenFeat.auto_translated_physmap);
  if (d.privileged) m |= 1 << XenFeat.dom0;
  m |= d.translated ? 1 << XenFeat.not_direct_mapped : 1 << XenFeat.direct_mapped;
  return m >>> 0;
}

/** do_xen_version(cmd, arg) for the calling domain. XENVER_version is answered by the caller's fast path too. */
/** Copies `b` to the guest at `arg`: 0, or -EFAULT (copy_to_guest failed). */
function out(d: Domain<unknown>, arg: number, b: Uint8Array): number {
  return d.access.write(arg, b) < 0 ? -Errno.EFAULT : 0;
}

export function xenVersion(ctx: XenVersionContext, d: Domain<unknown>, cmd: number, arg: number): number {
  // XENVER_version first, before anything else is looked up (the null hypercall; no allocation)
  if (cmd === XenVer.version) return XENVER_VERSION_VALUE;
  const deny = !d.privileged;
  const acc = d.access;
  switch (cmd) {
    case XenVer.extraversion:
      return out(d, arg, cstr(XEN_EXTRAVERSION, XEN_EXTRAVERSION_LEN));
    case XenVer.compile_info: {
      const b = new Uint8Array(XenCompileInfo.size);
      for (const k of ['compiler', 'compile_by', 'compile_domain', 'compile_date'] as const) {
        cstr(XEN_COMPILE_INFO[k], XenCompileInfo[k].size, b, XenCompileInfo[k].offset);
      }
      return out(d, arg, b);
    }
    case XenVer.capabilities:
      return out(d, arg, cstr(XEN_CAPABILITIES, XEN_CAPABILITIES_INFO_LEN));
    case XenVer.changeset:
      return out(d, arg, cstr(XEN_CHANGESET, XEN_CHANGESET_INFO_LEN));
    case XenVer.platform_parameters: {
      // virt_start: where the hypervisor's virtual range starts in the guest's address space.
      // Tachyxx's PL1 has none there, so no address is the hypervisor's: all ones (docs/abi.md).
      const b = new Uint8Array(XenPlatformParameters.size).fill(0xff);
      return out(d, arg, b);
    }
    case XenVer.get_features: {
      const idx = acc.readU32(arg + XenFeatureInfo.submap_idx.offset);
      if (idx < 0 || !acc.checkRange(arg, XenFeatureInfo.size, true)) return -Errno.EFAULT;
      if (idx !== 0) return -Errno.EINVAL;
      return acc.writeU32(arg + XenFeatureInfo.submap.offset, featureSubmap0(d)) < 0 ? -Errno.EFAULT : 0;
    }
    case XenVer.pagesize:
      return arg !== 0 ? -Errno.EINVAL : PAGE_SIZE;
    case XenVer.guest_handle:
      return out(d, arg, domainHandle(d));
    case XenVer.commandline:
      // Xen copies ARRAY_SIZE(saved_cmdline) bytes, or strlen("<denied>") + 1 when denied.
      return out(d, arg, deny ? cstr(XEN_DENY, XEN_DENY.length + 1) : cstr(ctx.commandline, XEN_COMMANDLINE_LEN));
    case XenVer.build_id: {
      if (deny) return -Errno.EPERM;
      if (arg !== 0) {
        const len = acc.readU32(arg + XenBuildId.len.offset);
        if (len < 0) return -Errno.EFAULT;
        if (len === 0) return -Errno.EINVAL;
      }
      // xen_build_id(): Tachyxx is built without a build id -> -ENODATA, as Xen without one.
      return -Errno.ENODATA;
    }
    default:
      return -Errno.ENOSYS;
  }
}
