/**
 * `edu`: the DMA test device, modelled on QEMU's educational device (hw/misc/edu.c): the same
 * ids (1234:11e8 rev 0x10, class 0x00ff00 "unclassified"), the same BAR0 register map and
 * semantics, plus MSI-X (one vector, table and PBA in BAR2) instead of QEMU's MSI, and timing in
 * simulated ns instead of QEMU's thread / 100 ms timer.
 *
 * BAR0 (1 MiB), registers < 0x80 take 4-byte accesses, >= 0x80 take 4 or 8 (others: reads all
 * ones, writes ignored, as QEMU):
 *   0x00 RO  identification 0x010000ed (major 1, minor 0, "ed")
 *   0x04 RW  liveness: reads the bitwise NOT of the last value written
 *   0x08 RW  factorial: a write (ignored while computing) starts n!; reads the result (u32 wrap)
 *   0x20 RW  status: bit 0 computing (RO), bit 7 raise an interrupt when the factorial is done
 *   0x24 RO  interrupt status (0x1 factorial, 0x100 DMA, or what 0x60 raised)
 *   0x60 WO  raise interrupt (ORed into the status)
 *   0x64 WO  acknowledge interrupt (cleared from the status)
 *   0x80 RW  DMA source address, 0x88 destination, 0x90 count (writes ignored while a DMA runs)
 *   0x98 RW  DMA command: bit 0 start/running, bit 1 direction (0 RAM -> device buffer, 1 device
 *            buffer -> RAM), bit 2 raise interrupt 0x100 when done; a write without bit 0 is ignored
 *   0x40000  the 4 KiB DMA buffer (device-side addresses 0x40000..0x40fff in src/dst). Unlike
 *            QEMU, it is also readable/writable through BAR0 (so drivers and tests can check it).
 * Interrupts: each raise sends MSI-X vector 0 when MSI-X is enabled, else asserts INTA#
 * (Status.Interrupt) until the status is acknowledged to 0.
 * Differences from QEMU: a DMA whose device-side range leaves the buffer is refused (QEMU only
 * logs it and overruns its buffer); the DMA mask defaults to 40 bits (QEMU: 28, for x86 guests
 * with RAM at 0; Tachyxx RAM starts at 2 GiB).
 */
import type { MmioHandler, MmioValue } from '@tachyxx/isa';
import { Endpoint } from './function.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_STATUS, PCI_STATUS_INTERRUPT } from './config-space.js';

export const EDU_VENDOR_ID = 0x1234; // PCI_VENDOR_ID_QEMU
export const EDU_DEVICE_ID = 0x11e8;
export const EDU_REVISION = 0x10;
export const EDU_CLASS = 0x00ff00; // PCI_CLASS_OTHERS
export const EDU_ID_VALUE = 0x010000ed;
export const EDU_BAR0_SIZE = 1 << 20;
export const EDU_MSIX_BAR = 2;
export const EDU_MSIX_BAR_SIZE = 4096;
export const EDU_MSIX_PBA_OFFSET = 0x800;
export const EDU_DMA_START = 0x40000;
export const EDU_DMA_SIZE = 4096;
export const EDU_FACT_IRQ = 0x1;
export const EDU_DMA_IRQ = 0x100;
export const EDU_STATUS_COMPUTING = 0x01;
export const EDU_STATUS_IRQFACT = 0x80;
export const EDU_DMA_RUN = 0x1;
export const EDU_DMA_TO_PCI = 0x2;
export const EDU_DMA_IRQ_EN = 0x4;
export const EDU_REG = { id: 0x00, liveness: 0x04, fact: 0x08, status: 0x20, irqStatus: 0x24, irqRaise: 0x60, irqAck: 0x64, dmaSrc: 0x80, dmaDst: 0x88, dmaCount: 0x90, dmaCmd: 0x98 } as const;

/** Simulated time for devices: the host's event queue (core EventQueue via `eventQueueTimer`) or a test clock. */
export interface DeviceTimer {
  now(): number;
  /** Runs `action` `delayNs` from now (integer ns >= 0). */
  after(delayNs: number, action: () => void): void;
  /** CPU cycles (the IOMMU's costs) to ns. */
  cyclesToNs(cycles: number): number;
  /** Runs due events before software looks at a device (PolledTimer); absent for queue-driven timers. */
  poll?(): void;
}

export interface EduCosts {
  /** Fixed latency of a DMA (descriptor fetch, first completion), ns. */
  dmaSetupNs: number;
  /** Link bandwidth, bytes per ns (4 = PCIe 3.0 x4, about 3.94 GB/s). */
  dmaBytesPerNs: number;
  /** Factorial: fixed + per multiplication, ns. */
  factBaseNs: number;
  factStepNs: number;
}

export const DEFAULT_EDU_COSTS: EduCosts = { dmaSetupNs: 500, dmaBytesPerNs: 4, factBaseNs: 100, factStepNs: 10 };

export interface EduOptions {
  name?: string;
  timer: DeviceTimer;
  costs?: Partial<EduCosts>;
  /** Device-address mask of the DMA engine (QEMU's dma_mask property); bits, default 40. */
  dmaMaskBits?: number;
  /** Extra extended capabilities (edu-ari). */
  ari?: { nextFunction: number };
  acs?: number;
}

export interface EduStats {
  dmas: number;
  dmaBytes: number;
  /** DMAs refused: buffer range, bus master off, translation fault, master abort. */
  dmaErrors: number;
  factorials: number;
  interrupts: number;
}

export class EduDevice extends Endpoint {
  readonly buffer = new Uint8Array(EDU_DMA_SIZE);
  readonly stats: EduStats = { dmas: 0, dmaBytes: 0, dmaErrors: 0, factorials: 0, interrupts: 0 };
  readonly costs: EduCosts;
  private readonly timer: DeviceTimer;
  private readonly dmaMask: number;
  private addr4 = 0;
  private fact = 0;
  private status = 0;
  private irqStatus = 0;
  private dmaSrc = 0;
  private dmaDst = 0;
  private dmaCnt = 0;
  private dmaCmd = 0;
  /** Bumped by reset: completions scheduled before it are dropped. */
  private epoch = 0;
  private readonly regs: MmioHandler;

  constructor(o: EduOptions) {
    super(o.name ?? 'edu', {
      identity: { vendorId: EDU_VENDOR_ID, deviceId: EDU_DEVICE_ID, revision: EDU_REVISION, classCode: EDU_CLASS, subsystemVendorId: 0x1af4, subsystemId: 0x1100 },
      bars: [{ size: EDU_BAR0_SIZE }, null, { size: EDU_MSIX_BAR_SIZE }],
      interruptPin: 1,
      pcie: { flr: true },
      msix: { vectors: 1, tableBar: EDU_MSIX_BAR, tableOffset: 0, pbaBar: EDU_MSIX_BAR, pbaOffset: EDU_MSIX_PBA_OFFSET },
      ari: o.ari,
      acs: o.acs,
    });
    this.timer = o.timer;
    this.costs = { ...DEFAULT_EDU_COSTS, ...o.costs };
    const bits = o.dmaMaskBits ?? 40;
    if (!Number.isInteger(bits) || bits < 12 || bits > 52) throw new RangeError(`edu dmaMaskBits ${bits} not in 12..52`);
    this.dmaMask = 2 ** bits - 1;
    this.seal();
    const self = this;
    this.regs = {
      read(off: number, size: number, out: MmioValue): void { self.read(off, size, out); },
      write(off: number, size: number, lo: number, hi: number): void { self.write(off, size, lo, hi); },
    };
  }

  protected deviceBar(bar: number): MmioHandler {
    if (bar === 0) return this.regs;
    return { read: (_o, size, out) => { out.lo = 0; out.hi = 0; void size; }, write: () => {} }; // the rest of BAR2
  }

  protected override resetDevice(): void {
    this.epoch++;
    this.addr4 = 0; this.fact = 0; this.status = 0; this.irqStatus = 0;
    this.dmaSrc = 0; this.dmaDst = 0; this.dmaCnt = 0; this.dmaCmd = 0;
    this.buffer.fill(0);
  }

  private read(off: number, size: number, out: MmioValue): void {
    out.lo = -1; out.hi = size === 8 ? -1 : 0;
    if (off >= EDU_DMA_START && off < EDU_DMA_START + EDU_DMA_SIZE) { this.bufRead(off - EDU_DMA_START, size, out); return; }
    if (off < 0x80 ? size !== 4 : size !== 4 && size !== 8) return;
    let v: number;
    switch (off) {
      case EDU_REG.id: v = EDU_ID_VALUE; break;
      case EDU_REG.liveness: v = this.addr4; break;
      case EDU_REG.fact: v = this.fact; break;
      case EDU_REG.status: v = this.status; break;
      case EDU_REG.irqStatus: v = this.irqStatus; break;
      case EDU_REG.dmaSrc: v = this.dmaSrc; break;
      case EDU_REG.dmaDst: v = this.dmaDst; break;
      case EDU_REG.dmaCount: v = this.dmaCnt; break;
      case EDU_REG.dmaCmd: v = this.dmaCmd; break;
      default: return; // QEMU: unknown offsets read ~0
    }
    out.lo = (v % 2 ** 32) | 0;
    out.hi = size === 8 ? Math.floor(v / 2 ** 32) | 0 : 0;
  }

  private write(off: number, size: number, lo: number, hi: number): void {
    if (off >= EDU_DMA_START && off < EDU_DMA_START + EDU_DMA_SIZE) { this.bufWrite(off - EDU_DMA_START, size, lo, hi); return; }
    if (off < 0x80 ? size !== 4 : size !== 4 && size !== 8) return;
    const val = size === 8 ? (hi >>> 0) * 2 ** 32 + (lo >>> 0) : lo >>> 0;
    switch (off) {
      case EDU_REG.liveness: this.addr4 = ~lo >>> 0; break;
      case EDU_REG.fact: this.startFactorial(lo >>> 0); break;
      case EDU_REG.status:
        this.status = (lo & EDU_STATUS_IRQFACT) !== 0 ? this.status | EDU_STATUS_IRQFACT : this.status & ~EDU_STATUS_IRQFACT;
        break;
      case EDU_REG.irqRaise: this.raise(lo >>> 0); break;
      case EDU_REG.irqAck: this.lower(lo >>> 0); break;
      case EDU_REG.dmaSrc: if ((this.dmaCmd & EDU_DMA_RUN) === 0) this.dmaSrc = val; break;
      case EDU_REG.dmaDst: if ((this.dmaCmd & EDU_DMA_RUN) === 0) this.dmaDst = val; break;
      case EDU_REG.dmaCount: if ((this.dmaCmd & EDU_DMA_RUN) === 0) this.dmaCnt = val; break;
      case EDU_REG.dmaCmd:
        if ((val & EDU_DMA_RUN) === 0 || (this.dmaCmd & EDU_DMA_RUN) !== 0) break;
        this.dmaCmd = val;
        this.startDma();
        break;
      default: break;
    }
  }

  private bufRead(o: number, size: number, out: MmioValue): void {
    if (o + size > EDU_DMA_SIZE || o % size !== 0) return;
    const b = this.buffer;
    let lo = 0;
    for (let k = Math.min(size, 4) - 1; k >= 0; k--) lo = (lo << 8) | b[o + k]!;
    out.lo = lo | 0;
    if (size === 8) out.hi = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) | 0;
    else if (size < 4) out.lo = lo >>> 0;
  }

  private bufWrite(o: number, size: number, lo: number, hi: number): void {
    if (o + size > EDU_DMA_SIZE || o % size !== 0) return;
    for (let k = 0; k < size; k++) this.buffer[o + k] = k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4));
  }

  // ---- factorial ----

  private startFactorial(n: number): void {
    if ((this.status & EDU_STATUS_COMPUTING) !== 0) return;
    this.fact = n;
    this.status |= EDU_STATUS_COMPUTING;
    const epoch = this.epoch;
    const steps = Math.min(n, 1_000_000);
    this.timer.after(this.costs.factBaseNs + steps * this.costs.factStepNs, () => {
      if (epoch !== this.epoch) return;
      let r = 1;
      for (let v = this.fact; v > 0; v--) r = Math.imul(r, v) >>> 0;
      this.fact = r;
      this.stats.factorials++;
      this.status &= ~EDU_STATUS_COMPUTING;
      if ((this.status & EDU_STATUS_IRQFACT) !== 0) this.raise(EDU_FACT_IRQ);
    });
  }

  // ---- DMA ----

  private startDma(): void {
    const epoch = this.epoch;
    const cnt = this.dmaCnt;
    const transferNs = Math.ceil(this.costs.dmaSetupNs + Math.min(cnt, EDU_DMA_SIZE) / this.costs.dmaBytesPerNs);
    this.timer.after(transferNs, () => {
      if (epoch !== this.epoch) return;
      const cycles = this.transfer();
      const finish = () => {
        if (epoch !== this.epoch) return;
        this.dmaCmd &= ~EDU_DMA_RUN;
        if ((this.dmaCmd & EDU_DMA_IRQ_EN) !== 0) this.raise(EDU_DMA_IRQ);
      };
      // The IOMMU's translation time (IOTLB misses, walks) delays the completion.
      if (cycles > 0) this.timer.after(Math.max(1, Math.ceil(this.timer.cyclesToNs(cycles))), finish);
      else finish();
    });
  }

  /** Moves the data; returns the translation cycles. */
  private transfer(): number {
    const toPci = (this.dmaCmd & EDU_DMA_TO_PCI) !== 0;
    const devAddr = toPci ? this.dmaSrc : this.dmaDst;
    const busAddr = toPci ? this.dmaDst : this.dmaSrc;
    const cnt = this.dmaCnt;
    // QEMU edu_check_range: the device-side range must stay inside the buffer.
    if (cnt > EDU_DMA_SIZE || devAddr < EDU_DMA_START || devAddr + cnt > EDU_DMA_START + EDU_DMA_SIZE) {
      this.stats.dmaErrors++;
      return 0;
    }
    const iova = busAddr % (this.dmaMask + 1); // edu_clamp_addr: addr & dma_mask
    const at = devAddr - EDU_DMA_START;
    const r = toPci ? this.dmaWrite(iova, this.buffer, at, cnt) : this.dmaRead(iova, this.buffer, at, cnt);
    if (r.ok) { this.stats.dmas++; this.stats.dmaBytes += cnt; } else this.stats.dmaErrors++;
    return r.cycles;
  }

  // ---- interrupts (edu_raise_irq / edu_lower_irq) ----

  private raise(val: number): void {
    this.irqStatus = (this.irqStatus | val) >>> 0;
    if (this.irqStatus === 0) return;
    this.stats.interrupts++;
    if (this.msix !== null && this.msix.enabled) this.signal(0);
    else this.setIntx(true);
  }

  private lower(val: number): void {
    this.irqStatus = (this.irqStatus & ~val) >>> 0;
    if (this.irqStatus === 0 && (this.msix === null || !this.msix.enabled)) this.setIntx(false);
  }

  private setIntx(on: boolean): void {
    const st = this.cs.get16(PCI_STATUS);
    const disabled = (this.cs.get16(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) !== 0;
    this.cs.set16(PCI_STATUS, on && !disabled ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
  }

  /** INTA# asserted (Status.Interrupt). */
  get intxAsserted(): boolean {
    return (this.cs.get16(PCI_STATUS) & PCI_STATUS_INTERRUPT) !== 0;
  }
}

/** A DeviceTimer over core's EventQueue (the host's simulated time). */
export function eventQueueTimer(q: { clock: { now: number; cyclesToNs(c: number, r?: 'floor' | 'ceil'): number }; at(time: number, name: string, action: (now: number) => void): unknown }): DeviceTimer {
  return {
    now: () => q.clock.now,
    after: (d, action) => { q.at(q.clock.now + Math.max(0, Math.ceil(d)), 'pcie-device', () => action()); },
    cyclesToNs: (c) => q.clock.cyclesToNs(c, 'ceil'),
  };
}

/**
 * A DeviceTimer for a machine without an event queue (the bare machine): `now` is the CPU's
 * simulated time, and due device events run when software next touches PCIe (an ECAM or BAR
 * access calls `poll`). A driver that polls a device register sees exactly the state the device
 * has at that simulated time; nothing runs between two PCIe accesses (so a driver that only
 * watches RAM for a DMA result must also read a device register, as real drivers read a status).
 */
export class PolledTimer implements DeviceTimer {
  private readonly q: { at: number; seq: number; action: () => void }[] = [];
  private seq = 0;
  private firing = -1;
  constructor(private readonly clock: () => number, private readonly nsPerCycle: number) {}
  now(): number { return Math.max(this.firing, this.clock()); }
  cyclesToNs(c: number): number { return c * this.nsPerCycle; }
  after(d: number, action: () => void): void {
    this.q.push({ at: this.now() + Math.max(0, d), seq: this.seq++, action });
    this.q.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
  /** Runs every event due at the current simulated time (including ones they schedule). */
  poll(): void {
    const t = this.clock();
    while (this.q.length > 0 && this.q[0]!.at <= t) {
      const e = this.q.shift()!;
      this.firing = e.at;
      try { e.action(); } finally { this.firing = -1; }
    }
  }
  get pending(): number { return this.q.length; }
}
