// Test rig: a host with the sriov-nic (RAM, MMIO bus, PCIe, a manual clock), dom0's PF driver,
// and `TsVf`, a VF driver in TypeScript doing what the guests' C driver does (config space, BARs,
// rings in RAM, MSI-X), so the device can be tested without a guest.
import { PhysMemory } from '@tachyxx/isa';
import {
  DirectMsiRemapper, ecamAccess, ManualDeviceTimer, PcieHost, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE,
} from '@tachyxx/pcie';
import type { IoTranslator } from '@tachyxx/core';
import {
  CTRL_RXEN, CTRL_TXEN, DESC_SIZE, ICR_MBX, ICR_RXDW, ICR_TXDW, MBX_WORDS, PfDriver, REG, RX_BUF_SIZE, STA_DD, TX_CMD_EOP, TX_CMD_RS,
  VFMB_ACK, VFMB_PFSTS, VFMB_REQ, macFromRegs, nicsOf, type NicVf, type SriovNic,
} from '../src/index.js';

export const RAM_BASE = 0x8000_0000;

/** The pcie package's hand-advanced device clock. */
export const ManualTimer = ManualDeviceTimer;
export type ManualTimer = ManualDeviceTimer;

export function rig(topology = 'sriov-nic', o: { translator?: IoTranslator; numvfs?: number } = {}) {
  const mem = new PhysMemory({ base: RAM_BASE, size: 8 << 20 });
  const timer = new ManualTimer();
  const remapper = new DirectMsiRemapper();
  const pcie = new PcieHost({ mem, topology, timer, remapper: () => remapper, translator: o.translator ? () => o.translator : undefined });
  pcie.enumerate();
  const nic = nicsOf(pcie)[0]!;
  const pf = new PfDriver(pcie, nic, () => timer.now());
  if (o.numvfs !== undefined) expectOk(pf.setNumVfs(o.numvfs));
  const ecam = ecamAccess(pcie.bus, (s) => pcie.channels[s]!.ecamBase);
  return { mem, timer, remapper, pcie, nic, pf, ecam };
}
export type Rig = ReturnType<typeof rig>;

function expectOk(rc: number): void {
  if (rc !== 0) throw new Error(`rc ${rc}`);
}

/** MSI data the TsVf programs: 0x100 * vf + vector (so a test can tell who sent what). */
export const msiData = (vf: number, vec: number) => 0x100 * vf + vec;
export const MSI_ADDR = 0xfee0_0000;

/** A VF driver in TypeScript (what guests/xenlib's C VF driver does, without a guest). */
export class TsVf {
  readonly vf: NicVf;
  readonly bar0: number;
  readonly bar3: number;
  readonly ring: number;
  readonly txRing: number;
  readonly rxRing: number;
  readonly txBufs: number;
  readonly rxBufs: number;
  txTail = 0;
  rxNext = 0;
  readonly received: Uint8Array[] = [];

  /** `area`: where in RAM this driver's rings and buffers live (1 MiB). */
  constructor(readonly r: Rig, readonly k: number, area: number, readonly qlen = 32) {
    this.vf = r.nic.vfs[k - 1]!;
    const bars = this.vf.decodedBars();
    this.bar0 = bars.find((b) => b.bar === 0)!.addr;
    this.bar3 = bars.find((b) => b.bar === 3)!.addr;
    this.ring = area;
    this.txRing = area; this.rxRing = area + 0x1000;
    this.txBufs = area + 0x2000; this.rxBufs = area + 0x2000 + qlen * RX_BUF_SIZE;
  }

  r32(off: number): number { if (!this.r.pcie.bus.read(this.bar0 + off, 4)) throw new Error('no MMIO'); return this.r.pcie.bus.value.lo >>> 0; }
  w32(off: number, v: number): void { this.r.pcie.bus.write(this.bar0 + off, 4, v | 0, 0); }
  get mac(): number { return macFromRegs(this.r32(REG.RAL), this.r32(REG.RAH)); }

  private cfg(off: number, size: number, v?: number): number {
    const bdf = this.vf.rid;
    if (v === undefined) return this.r.ecam.read(0, bdf >> 8, bdf & 0xff, off, size);
    this.r.ecam.write(0, bdf >> 8, bdf & 0xff, off, size, v);
    return 0;
  }

  /** Bus master, MSI-X (3 vectors unmasked), rings, RX buffers posted, TX/RX enabled, interrupts on. */
  up(): this {
    this.cfg(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    for (let v = 0; v < 3; v++) {
      const e = this.bar3 + 16 * v;
      const b = this.r.pcie.bus;
      b.write(e, 4, MSI_ADDR, 0); b.write(e + 4, 4, 0, 0); b.write(e + 8, 4, msiData(this.k, v), 0); b.write(e + 12, 4, 0, 0);
    }
    this.cfg(this.vf.msix!.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
    this.w32(REG.TDBAL, this.txRing % 2 ** 32); this.w32(REG.TDBAH, Math.floor(this.txRing / 2 ** 32)); this.w32(REG.TDLEN, this.qlen);
    this.w32(REG.RDBAL, this.rxRing % 2 ** 32); this.w32(REG.RDBAH, Math.floor(this.rxRing / 2 ** 32)); this.w32(REG.RDLEN, this.qlen);
    for (let i = 0; i < this.qlen; i++) this.writeDesc(this.rxRing, i, this.rxBufs + i * RX_BUF_SIZE, 0, 0);
    this.w32(REG.RDT, this.qlen - 1); // one slot kept empty: head == tail means empty
    this.w32(REG.IMS, ICR_TXDW | ICR_RXDW | ICR_MBX);
    this.w32(REG.CTRL, CTRL_TXEN | CTRL_RXEN);
    return this;
  }

  writeDesc(ring: number, i: number, addr: number, len: number, cmd: number): void {
    const m = this.r.mem, off = ring - RAM_BASE + i * DESC_SIZE;
    m.view.setUint32(off, addr % 2 ** 32, true); m.view.setUint32(off + 4, Math.floor(addr / 2 ** 32), true);
    m.view.setUint16(off + 8, len, true); m.u8[off + 10] = cmd; m.u8[off + 11] = 0; m.view.setUint32(off + 12, 0, true);
  }

  /** Queues a frame (copied into this driver's TX buffer i) and rings the doorbell. */
  send(frame: Uint8Array, addr?: number): void {
    const i = this.txTail;
    const buf = addr ?? this.txBufs + i * RX_BUF_SIZE;
    if (addr === undefined) this.r.mem.u8.set(frame, buf - RAM_BASE);
    this.writeDesc(this.txRing, i, buf, frame.length, TX_CMD_EOP | TX_CMD_RS);
    this.txTail = (i + 1) % this.qlen;
    this.w32(REG.TDT, this.txTail);
  }

  txDone(i: number): number { return this.r.mem.u8[this.txRing - RAM_BASE + i * DESC_SIZE + 12]!; }

  /** Takes every completed RX descriptor, reposts its buffer. */
  poll(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const m = this.r.mem;
    for (;;) {
      const off = this.rxRing - RAM_BASE + this.rxNext * DESC_SIZE;
      if ((m.u8[off + 12]! & STA_DD) === 0) break;
      const len = m.view.getUint16(off + 8, true);
      const buf = this.rxBufs + this.rxNext * RX_BUF_SIZE;
      out.push(m.u8.slice(buf - RAM_BASE, buf - RAM_BASE + len));
      this.writeDesc(this.rxRing, this.rxNext, buf, 0, 0);
      this.w32(REG.RDT, this.rxNext);
      this.rxNext = (this.rxNext + 1) % this.qlen;
    }
    this.received.push(...out);
    return out;
  }

  /** Mailbox request; returns the PF's reply words after the clock runs. */
  ask(words: number[]): number[] {
    for (let i = 0; i < MBX_WORDS; i++) this.w32(REG.VFMBMEM + 4 * i, words[i] ?? 0);
    this.w32(REG.VFMAILBOX, VFMB_REQ);
    this.r.timer.run(1000);
    if ((this.r32(REG.VFMAILBOX) & VFMB_PFSTS) === 0) return [];
    const reply: number[] = [];
    for (let i = 0; i < MBX_WORDS; i++) reply.push(this.r32(REG.VFMBMEM + 4 * i));
    this.w32(REG.VFMAILBOX, VFMB_ACK);
    return reply;
  }
}

/** An Ethernet frame dst <- src, ethertype 0x88b5 (local experimental), `n` payload bytes with a sequence number. */
export function frame(dst: number, src: number, seq: number, n = 46): Uint8Array {
  const f = new Uint8Array(14 + n);
  for (let i = 0; i < 6; i++) { f[i] = Math.floor(dst / 2 ** (8 * (5 - i))) % 256; f[6 + i] = Math.floor(src / 2 ** (8 * (5 - i))) % 256; }
  f[12] = 0x88; f[13] = 0xb5;
  new DataView(f.buffer).setUint32(14, seq, false);
  for (let i = 18; i < f.length; i++) f[i] = (seq + i) & 0xff;
  return f;
}
export const BROADCAST = 0xffffffffffff;

export { nicsOf, type SriovNic };
