// Xen's struct start_info as boot ABI v1 hands it to a guest (docs/abi.md), encoded once for
// every platform that boots images: the bare PL0 firmware and the hypervisor's domain builder.
import { START_INFO_MAGIC, StartInfo } from '@tachyxx/abi';

export interface StartInfoFields {
  nrPages: number;
  /** Guest-physical address of the shared-info page (0: none, as in bare mode). */
  sharedInfo?: number;
  flags?: number;
  storeMfn?: number;
  storeEvtchn?: number;
  consoleMfn?: number;
  consoleEvtchn?: number;
  cmdline?: string;
}

const TWO32 = 4294967296;
function setU64(dv: DataView, off: number, n: number): void {
  dv.setUint32(off, n >>> 0, true);
  dv.setUint32(off + 4, Math.floor(n / TWO32) >>> 0, true);
}

/** The bytes of a start_info (StartInfo.size long); the command line is cut to 1023 bytes. */
export function encodeStartInfo(f: StartInfoFields): Uint8Array {
  const si = new Uint8Array(StartInfo.size);
  const dv = new DataView(si.buffer);
  const enc = new TextEncoder();
  si.set(enc.encode(START_INFO_MAGIC), StartInfo.magic.offset);
  setU64(dv, StartInfo.nr_pages.offset, f.nrPages);
  setU64(dv, StartInfo.shared_info.offset, f.sharedInfo ?? 0);
  dv.setUint32(StartInfo.flags.offset, f.flags ?? 0, true);
  setU64(dv, StartInfo.store_mfn.offset, f.storeMfn ?? 0);
  dv.setUint32(StartInfo.store_evtchn.offset, f.storeEvtchn ?? 0, true);
  setU64(dv, StartInfo.console_mfn.offset, f.consoleMfn ?? 0);
  dv.setUint32(StartInfo.console_evtchn.offset, f.consoleEvtchn ?? 0, true);
  si.set(enc.encode(f.cmdline ?? '').subarray(0, StartInfo.cmd_line.size - 1), StartInfo.cmd_line.offset);
  return si;
}
