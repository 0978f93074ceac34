// One gdb connection: the remote serial protocol's commands over a DebugTarget.
// Reference: the gdb manual, appendix "GDB Remote Serial Protocol" (packets, stop replies,
// qSupported, vCont, Z packets, qXfer:features:read, no-ack mode).
import { MAX_PACKET, PacketParser, frame, fromHex, latin1Bytes, parseAddr, parseRegHex, regHex, textToHex, toHex } from './packet.js';
import { NUM_REGS, type DebugTarget, type ExitEvent, type StopEvent } from './target.js';
import { TARGET_XML } from './tdesc.js';
import { debugRead, debugWrite } from './walk.js';

/** Retransmissions of one reply after '-' before the stub stops resending it (our choice). */
export const MAX_RETRANSMITS = 8;

const TWO32 = 4294967296;

/** A signed-number address as gdb's unsigned 64-bit hex. */
export function addrHex(a: number): string {
  const hi = Math.floor(a / TWO32);
  const lo = a - hi * TWO32;
  return (hi >>> 0 === 0 ? '' : (hi >>> 0).toString(16)) + (hi >>> 0 === 0 ? lo.toString(16) : lo.toString(16).padStart(8, '0'));
}

export interface SessionOptions {
  /** Bytes to gdb (latin-1 text). */
  send: (data: string) => void;
  /** Close the connection (after D or k). */
  close: () => void;
  /** Log line for the user (stderr). */
  log?: (line: string) => void;
}

interface Bp { sw: boolean; hw: boolean }
interface Wp { addr: number; len: number; kind: 2 | 3 | 4 }

export class GdbSession {
  private readonly parser = new PacketParser();
  private noAck = false;
  private lastSent = '';
  private retransmits = 0;
  /** Thread for g/G/p/P/m/M (Hg) and for c/s (Hc). */
  private gTid = 1;
  private cTid = 1;
  private virt = true;
  private stepIrqs = false;
  private readonly bps = new Map<number, Bp>();
  private wps: Wp[] = [];
  private lastStop: StopEvent;
  private closed = false;
  /** Counters for tests and logs. */
  readonly counts = { packets: 0, badChecksum: 0, oversized: 0, retransmits: 0 };

  constructor(private readonly target: DebugTarget, private readonly o: SessionOptions) {
    this.gTid = this.cTid = target.threads()[0] ?? 1;
    this.lastStop = { tid: this.gTid, signal: 5, kind: 'interrupt' };
    target.listener = {
      onStop: (ev) => this.stopped(ev),
      onExit: (ev) => this.exited(ev),
    };
  }

  /** The connection is open and the target is stopped (or exited): the stop gdb's '?' reports. */
  setInitialStop(ev: StopEvent): void { this.lastStop = ev; this.gTid = this.cTid = ev.tid; }

  /** Bytes from gdb. */
  receive(bytes: Uint8Array): void {
    for (const ev of this.parser.feed(bytes)) {
      if (this.closed) return;
      switch (ev.kind) {
        case 'ack': this.retransmits = 0; break;
        case 'nack':
          if (!this.noAck && this.lastSent !== '' && this.retransmits < MAX_RETRANSMITS) {
            this.retransmits++;
            this.counts.retransmits++;
            this.o.send(this.lastSent);
          }
          break;
        case 'interrupt':
          if (this.target.running) this.target.halt();
          break;
        case 'bad-checksum':
          this.counts.badChecksum++;
          if (!this.noAck) this.o.send('-');
          break;
        case 'oversized':
          this.counts.oversized++;
          if (!this.noAck) this.o.send('+');
          this.reply(`E${(0x16).toString(16)}`); // EINVAL: larger than the PacketSize we advertised
          break;
        case 'packet': {
          this.counts.packets++;
          if (!this.noAck) this.o.send('+');
          const r = this.handle(ev.data);
          if (r !== undefined) this.reply(r);
          break;
        }
      }
    }
  }

  private reply(data: string): void {
    if (this.closed) return;
    const f = frame(data);
    this.lastSent = f;
    this.retransmits = 0;
    this.o.send(f);
  }

  private stopped(ev: StopEvent): void {
    // the target reports 'break' and 'watch' / 'rwatch'; Z1 and Z3 / Z4 refine them
    if (ev.kind === 'break') {
      const pc = this.target.readReg(ev.tid, 32);
      if (pc !== undefined) ev = { ...ev, kind: this.breakpointKind(pc.hi * TWO32 + (pc.lo >>> 0)) };
    } else if (ev.kind === 'watch' && ev.watchAddr !== undefined) {
      ev = { ...ev, watchKind: this.watchKind(ev.watchAddr, 1, ev.watchKind === 'rwatch' ? 0 : 1) };
    }
    this.lastStop = ev;
    this.gTid = this.cTid = ev.tid;
    this.reply(this.stopReply(ev));
  }

  private exited(ev: ExitEvent): void {
    this.o.log?.(`gdbstub: ${ev.message}`);
    this.reply(`W${(ev.code & 0xff).toString(16).padStart(2, '0')}`);
  }

  private stopReply(ev: StopEvent): string {
    let s = `T${ev.signal.toString(16).padStart(2, '0')}thread:${ev.tid.toString(16)};`;
    if (ev.kind === 'break') s += 'swbreak:;';
    else if (ev.kind === 'hwbreak') s += 'hwbreak:;';
    else if (ev.kind === 'watch' && ev.watchAddr !== undefined) s += `${ev.watchKind ?? 'watch'}:${addrHex(ev.watchAddr)};`;
    return s;
  }

  /** Classify a breakpoint hit for the stop reply. */
  breakpointKind(pc: number): 'break' | 'hwbreak' {
    const b = this.bps.get(pc);
    return b !== undefined && !b.sw && b.hw ? 'hwbreak' : 'break';
  }

  /** The watchpoint kind gdb set over `addr` for an access of `kind` (0 read, 1 write). */
  watchKind(addr: number, size: number, kind: 0 | 1): 'watch' | 'rwatch' | 'awatch' {
    for (const w of this.wps) {
      if (addr < w.addr + w.len && w.addr < addr + size) {
        if (w.kind === 4) return 'awatch';
        if (w.kind === 3 && kind === 0) return 'rwatch';
        if (w.kind === 2 && kind === 1) return 'watch';
      }
    }
    return kind === 0 ? 'rwatch' : 'watch';
  }

  private validTid(tid: number): boolean { return this.target.threads().includes(tid); }

  /** Parse a thread id of H/T/vCont: hex, or -1 (all) / 0 (any). */
  private parseTid(s: string): number | undefined {
    if (s === '-1') return -1;
    if (!/^[0-9a-fA-F]{1,8}$/.test(s)) return undefined;
    const t = parseInt(s, 16);
    return t === 0 ? this.target.threads()[0] : t;
  }

  /** Handle one packet; returns the reply, or undefined when it comes later (c, s, vCont) or never (k). */
  handle(p: string): string | undefined {
    const t = this.target;
    const c = p.charAt(0);
    switch (c) {
      case '?': return this.stopReply(this.lastStop);
      case 'g': {
        let s = '';
        for (let n = 0; n < NUM_REGS; n++) {
          const r = t.readReg(this.gTid, n);
          s += r === undefined ? 'xxxxxxxxxxxxxxxx' : regHex(r.lo, r.hi);
        }
        return s;
      }
      case 'G': {
        const hex = p.slice(1);
        if (hex.length !== NUM_REGS * 16) return 'E16';
        for (let n = 0; n < NUM_REGS; n++) {
          const chunk = hex.substr(n * 16, 16);
          if (chunk.startsWith('x')) continue;
          const v = parseRegHex(chunk);
          if (v === undefined) return 'E16';
          t.writeReg(this.gTid, n, v.lo, v.hi);
        }
        return 'OK';
      }
      case 'p': {
        const n = parseInt(p.slice(1), 16);
        if (!/^[0-9a-fA-F]+$/.test(p.slice(1))) return 'E16';
        const r = t.readReg(this.gTid, n);
        return r === undefined ? 'E00' : regHex(r.lo, r.hi);
      }
      case 'P': {
        const m = /^P([0-9a-fA-F]+)=([0-9a-fA-F]{16})$/.exec(p);
        if (!m) return 'E16';
        const v = parseRegHex(m[2]!)!;
        return t.writeReg(this.gTid, parseInt(m[1]!, 16), v.lo, v.hi) ? 'OK' : 'E00';
      }
      case 'm': {
        const m = /^m([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(p);
        if (!m) return 'E16';
        const addr = parseAddr(m[1]!)!;
        const len = Math.min(parseInt(m[2]!, 16), (MAX_PACKET - 4) >> 1);
        const bytes = debugRead(t.memory, t.translation(this.gTid), addr, len, this.virt);
        return bytes.length === 0 && len > 0 ? 'E0e' : toHex(bytes); // EFAULT
      }
      case 'M': {
        const m = /^M([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8}):([0-9a-fA-F]*)$/.exec(p);
        if (!m) return 'E16';
        const data = fromHex(m[3]!);
        if (data === undefined || data.length !== parseInt(m[2]!, 16)) return 'E16';
        return debugWrite(t.memory, t.translation(this.gTid), parseAddr(m[1]!)!, data, this.virt) ? 'OK' : 'E0e';
      }
      case 'X': {
        const i = p.indexOf(':');
        const m = /^X([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(i < 0 ? p : p.slice(0, i));
        if (!m || i < 0) return 'E16';
        const data = latin1Bytes(p.slice(i + 1));
        if (data.length !== parseInt(m[2]!, 16)) return 'E16';
        if (data.length === 0) return 'OK'; // a probe for X support
        return debugWrite(t.memory, t.translation(this.gTid), parseAddr(m[1]!)!, data, this.virt) ? 'OK' : 'E0e';
      }
      case 'c': case 's': case 'C': case 'S': {
        // c [addr] / s [addr] / C sig[;addr] / S sig[;addr]; a signal cannot be delivered to a CPU: ignored
        const rest = p.slice(1);
        const addrText = c === 'c' || c === 's' ? rest : rest.split(';')[1] ?? '';
        if (addrText !== '') {
          const a = parseAddr(addrText);
          if (a === undefined) return 'E16';
          t.writeReg(this.cTid, 32, a | 0, Math.floor(a / TWO32) | 0);
        }
        return this.resume(c === 's' || c === 'S' ? this.cTid : undefined);
      }
      case 'H': {
        const tid = this.parseTid(p.slice(2));
        if (tid === undefined || (tid !== -1 && !this.validTid(tid))) return 'E16';
        const v = tid === -1 ? t.threads()[0]! : tid;
        if (p.charAt(1) === 'g') this.gTid = v;
        else this.cTid = v;
        return 'OK';
      }
      case 'T': {
        const tid = this.parseTid(p.slice(1));
        return tid !== undefined && this.validTid(tid) ? 'OK' : 'E16';
      }
      case 'Z': case 'z': return this.breakWatch(c === 'Z', p.slice(1));
      case 'k':
        this.closed = true;
        t.kill();
        this.o.close();
        return undefined;
      case 'D':
        this.detach();
        return undefined;
      case 'q': case 'Q': return this.query(p);
      case 'v': return this.vPacket(p);
      default: return '';
    }
  }

  private resume(stepTid: number | undefined): string | undefined {
    const t = this.target;
    if (t.exited) return 'W00';
    t.resume(stepTid, this.stepIrqs);
    return undefined;
  }

  private detach(): void {
    // reply first: the guest then runs on by itself
    this.reply('OK');
    this.bps.clear();
    this.wps = [];
    this.closed = true;
    this.target.detach();
    this.o.close();
  }

  private breakWatch(insert: boolean, args: string): string {
    const m = /^([0-4]),([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})(;.*)?$/.exec(args);
    if (!m) return 'E16';
    const type = Number(m[1]);
    const addr = parseAddr(m[2]!)!;
    const kind = parseInt(m[3]!, 16);
    if (type <= 1) {
      const b = this.bps.get(addr) ?? { sw: false, hw: false };
      if (type === 0) b.sw = insert; else b.hw = insert;
      if (b.sw || b.hw) this.bps.set(addr, b); else this.bps.delete(addr);
      this.target.setBreakpoints([...this.bps.keys()]);
      return 'OK';
    }
    if (kind <= 0) return 'E16';
    const wkind = type as 2 | 3 | 4;
    if (insert) {
      if (!this.wps.some((w) => w.addr === addr && w.len === kind && w.kind === wkind)) this.wps.push({ addr, len: kind, kind: wkind });
    } else this.wps = this.wps.filter((w) => !(w.addr === addr && w.len === kind && w.kind === wkind));
    this.target.setWatchpoints(this.wps.map((w) => ({ addr: w.addr, len: w.len, read: w.kind !== 2, write: w.kind !== 3 })));
    return 'OK';
  }

  private query(p: string): string | undefined {
    const t = this.target;
    if (p.startsWith('qSupported')) {
      return `PacketSize=${MAX_PACKET.toString(16)};qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+;hwbreak+`;
    }
    if (p === 'QStartNoAckMode') {
      // the OK is still acknowledged by gdb; from the next packet on nobody acks
      this.reply('OK');
      this.noAck = true;
      return undefined;
    }
    if (p.startsWith('qXfer:features:read:')) {
      const m = /^qXfer:features:read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p);
      if (!m) return 'E16';
      if (m[1] !== 'target.xml') return 'E00';
      const off = parseInt(m[2]!, 16), len = parseInt(m[3]!, 16);
      const chunk = TARGET_XML.slice(off, off + Math.min(len, MAX_PACKET - 16));
      return (off + chunk.length >= TARGET_XML.length ? 'l' : 'm') + chunk;
    }
    if (p === 'qC') return `QC${this.cTid.toString(16)}`;
    if (p.startsWith('qAttached')) return '1';
    if (p === 'qOffsets') return 'Text=0;Data=0;Bss=0';
    if (p === 'qfThreadInfo') return 'm' + t.threads().map((x) => x.toString(16)).join(',');
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qThreadExtraInfo,')) {
      const tid = this.parseTid(p.slice('qThreadExtraInfo,'.length));
      return tid !== undefined && this.validTid(tid) ? textToHex(t.threadInfo(tid)) : 'E16';
    }
    if (p.startsWith('qRcmd,')) {
      const cmd = fromHex(p.slice(6));
      if (cmd === undefined) return 'E16';
      return this.monitor(new TextDecoder().decode(cmd).trim());
    }
    return '';
  }

  private monitor(cmd: string): string {
    const out = (text: string) => this.reply('O' + textToHex(text));
    const [word, arg] = cmd.split(/\s+/);
    switch (word) {
      case 'phys': this.virt = false; out('memory access: guest-physical (stage 2 only)\n'); return 'OK';
      case 'virt': this.virt = true; out('memory access: guest-virtual (stage 1 and stage 2 of the selected vCPU)\n'); return 'OK';
      case 'step-irq':
        if (arg === 'on') this.stepIrqs = true;
        else if (arg === 'off') this.stepIrqs = false;
        else { out('usage: monitor step-irq on|off\n'); return 'OK'; }
        out(`interrupts while stepping: ${this.stepIrqs ? 'taken (a step may stop at a handler entry)' : 'masked (QEMU default)'}\n`);
        return 'OK';
      case 'catch-traps':
        if (arg === 'on' || arg === 'exceptions') this.target.catchTraps = 'exceptions';
        else if (arg === 'all') this.target.catchTraps = 'all';
        else if (arg === 'off') this.target.catchTraps = 'off';
        else { out('usage: monitor catch-traps on|all|off\n'); return 'OK'; }
        out(`stop at the PL2 handler entry of: ${this.target.catchTraps === 'off' ? 'nothing' : this.target.catchTraps === 'all' ? 'every exception and interrupt' : 'every exception (ecall, faults)'}\n`);
        return 'OK';
      case 'info': {
        let s = `memory access: ${this.virt ? 'virt' : 'phys'}; interrupts while stepping: ${this.stepIrqs ? 'on' : 'off'}; catch-traps: ${this.target.catchTraps}\n`;
        for (const tid of this.target.threads()) s += `thread ${tid}: ${this.target.threadInfo(tid)}\n`;
        s += `breakpoints: ${this.bps.size}, watchpoints: ${this.wps.length}\n`;
        out(s);
        return 'OK';
      }
      case 'help': case undefined: case '':
        out('monitor commands:\n  virt            memory access through the vCPU\'s stage 1 and stage 2 (default)\n' +
          '  phys            memory access by guest-physical address (stage 2 only)\n' +
          '  step-irq on|off take pending interrupts while stepping (default off)\n' +
          '  catch-traps on|all|off  stop at the PL2 handler entry of every exception (on) or trap (all):\n' +
          '                  stepi over an ecall then stops in the kernel\'s handler (default off)\n' +
          '  info            vCPUs, memory mode, breakpoints\n');
        return 'OK';
      default:
        out(`unknown monitor command '${cmd}' (try: monitor help)\n`);
        return 'OK';
    }
  }

  private vPacket(p: string): string | undefined {
    if (p === 'vCont?') return 'vCont;c;C;s;S;t';
    if (p === 'vMustReplyEmpty') return '';
    if (p.startsWith('vKill')) {
      this.reply('OK');
      this.closed = true;
      this.target.kill();
      this.o.close();
      return undefined;
    }
    if (p.startsWith('vCont;')) {
      let step: number | undefined;
      let any = false;
      for (const a of p.slice(6).split(';')) {
        const [act, tidText] = a.split(':');
        const tid = tidText === undefined ? undefined : this.parseTid(tidText);
        if (tidText !== undefined && (tid === undefined || (tid !== -1 && !this.validTid(tid)))) return 'E16';
        const k = act!.charAt(0);
        if (k === 's' || k === 'S') {
          if (step === undefined) step = tid === undefined || tid === -1 ? this.cTid : tid;
          any = true;
        } else if (k === 'c' || k === 'C') any = true;
        else if (k !== 't') return 'E16';
      }
      if (!any) { // only 't' (stop) actions: everything is already stopped
        return this.stopReply({ ...this.lastStop, signal: 0, kind: 'interrupt' });
      }
      return this.resume(step);
    }
    return '';
  }

  /** Stop replies built by a target need the session's breakpoint / watchpoint kinds. */
  get isClosed(): boolean { return this.closed; }
}
