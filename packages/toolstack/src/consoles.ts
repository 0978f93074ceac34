/**
 * xenconsoled's side of the toolstack: each domU's console output (a 64 KiB replay buffer, its
 * log file, attached `xl console` clients) under xenconsoled's rate limit, the host log (dom0's
 * console: `xl dmesg`), log files that rotate, and typed input into a domain's PV console ring.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import type { ConsoleRings } from '@tachyxx/xenbus';
import type { EventBus } from '@tachyxx/core';
import { HOST_LOG } from './assembly.js';
import { ToolstackError } from './protocol.js';
import type { ToolstackOptions } from './toolstack.js';
import { DOM0_NAME, type ConsoleSink, type DomainRecords, type DomRecord, type OpContext } from './records.js';

/** A domain's console replay buffer (bytes; xenstore console/limit). */
export const CONSOLE_BUFFER = 64 * 1024;
/** Lines of the host log kept in memory (xl dmesg). */
export const HOST_LOG_LINES = 10_000;

/**
 * xenconsoled's rate limit (tools/console/daemon/io.c): RATE_LIMIT_ALLOWANCE = 30 ring events
 * per RATE_LIMIT_PERIOD = 200 ms per domain, each event draining at most the 2 KiB output ring
 * (XENCONS_RING_SIZE): 30 x 2048 bytes per 200 ms, about 300 KiB/s. Bytes past the allowance are
 * dropped and counted (xenconsoled stops reading the ring instead; here console_io output has no
 * ring to leave it in), and reported in the host log once per period that dropped any.
 */
export const CONSOLE_RATE_DEFAULT = { bytes: 30 * 2048, periodMs: 200 } as const;
/** Console and host log files rotate past this size (bytes), keeping LOG_KEEP_DEFAULT old copies (NAME.1, NAME.2). */
export const LOG_MAX_BYTES_DEFAULT = 16 << 20;
export const LOG_KEEP_DEFAULT = 2;

/** The toolstack options the consoles use (see ToolstackOptions). */
export type ConsolesOptions = Pick<ToolstackOptions, 'logDir' | 'onLog' | 'consoleRate' | 'logMaxBytes' | 'logKeep' | 'wallNow'>;

/** An append-only log file that rotates past a size: NAME -> NAME.1 -> ... -> NAME.<keep>. */
export class LogFile {
  private fd: number;
  private size: number;
  constructor(readonly path: string, private readonly maxBytes: number, private readonly keep: number) {
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }
  write(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) {
      if (this.maxBytes > 0 && this.size >= this.maxBytes) this.rotate();
      const n = this.maxBytes > 0 ? Math.min(b.length - off, this.maxBytes - this.size) : b.length - off;
      writeAllFd(this.fd, b.subarray(off, off + n));
      this.size += n;
      off += n;
    }
  }
  private rotate(): void {
    closeSync(this.fd);
    if (this.keep > 0) {
      for (let i = this.keep - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch {
          /* no such copy yet */
        }
      }
      renameSync(this.path, `${this.path}.1`);
      this.fd = openSync(this.path, 'a', 0o600);
    } else this.fd = openSync(this.path, 'w', 0o600);
    this.size = 0;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Writes all of `b` to `fd` (writeSync may write less). */
export function writeAllFd(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

export class Consoles {
  /** The host log in memory (the last HOST_LOG_LINES lines). */
  readonly hostLog: string[] = [];
  private hostLogPending: string[] = [];
  private hostLogFd: LogFile | null = null;
  /** The host's bus, once the host is assembled: host log lines go out on it (HOST_LOG). */
  bus: EventBus | null = null;
  /** Simulated time for the events. */
  now: () => number = () => 0;
  readonly rate: { bytes: number; periodMs: number };
  readonly wallNow: () => number;
  /** The console component's rings (console-input); set once the host is assembled. */
  rings: ConsoleRings | null = null;

  constructor(private readonly records: DomainRecords, private readonly o: ConsolesOptions) {
    this.rate = o.consoleRate ?? CONSOLE_RATE_DEFAULT;
    this.wallNow = o.wallNow ?? (() => performance.now());
    if (!(Number.isSafeInteger(this.rate.bytes) && this.rate.bytes >= 0 && Number.isSafeInteger(this.rate.periodMs) && this.rate.periodMs > 0)) {
      throw new ToolstackError('EINVAL', `consoleRate: bytes must be an integer >= 0 and periodMs an integer > 0, got ${JSON.stringify(this.rate)}`);
    }
  }

  /** Creates the log directory and opens hypervisor.log (when there is a logDir). */
  openHostLog(): void {
    if (!this.o.logDir) return;
    mkdirSync(this.o.logDir, { recursive: true, mode: 0o700 });
    this.hostLogFd = this.openLog('hypervisor.log');
  }

  /** A domain's console log file (guest-<name>.log), or null without a logDir. */
  openGuestLog(name: string): LogFile | null {
    return this.o.logDir ? this.openLog(`guest-${name}.log`) : null;
  }

  private openLog(name: string): LogFile {
    return new LogFile(join(this.o.logDir!, name), this.o.logMaxBytes ?? LOG_MAX_BYTES_DEFAULT, this.o.logKeep ?? LOG_KEEP_DEFAULT);
  }

  /** A fresh rate-limit state for a new domain. */
  newRate(): DomRecord['rate'] {
    return { periodEnd: this.wallNow() + this.rate.periodMs, used: 0, dropped: 0, droppedTotal: 0 };
  }

  log(line: string): void {
    this.hostLog.push(line);
    if (this.hostLog.length > HOST_LOG_LINES) this.hostLog.splice(0, this.hostLog.length - HOST_LOG_LINES);
    if (this.hostLogFd !== null) this.hostLogPending.push(line);
    this.o.onLog?.(line);
    if (this.bus?.hasSubscribers(HOST_LOG)) this.bus.publish(HOST_LOG, { time: this.now(), line });
  }

  /** Console output of domain `d` (console_io and the console rings). */
  output(d: Domain<Vcpu>, bytes: Uint8Array): void {
    const r = this.records.get(d.domid);
    if (!r || r.d !== d) return;
    let take = bytes.length;
    if (this.rate.bytes > 0) {
      const rt = r.rate;
      const now = this.wallNow();
      if (now >= rt.periodEnd) this.endRatePeriod(r, now);
      take = Math.max(0, Math.min(take, this.rate.bytes - rt.used));
      rt.used += take;
      rt.dropped += bytes.length - take;
      if (take === 0) return;
    }
    const b = Buffer.from(bytes.subarray(0, take));
    r.firstConsoleWall ??= performance.now();
    r.console.push(b);
    r.consoleBytes += b.length;
    while (r.consoleBytes > CONSOLE_BUFFER && r.console.length > 1) r.consoleBytes -= r.console.shift()!.length;
    if (r.logFd !== null) r.pendingLog.push(b);
    for (const s of r.sinks) s.data(b);
  }

  /** Closes a console rate period: reports what it dropped (one host-log line), starts the next. */
  private endRatePeriod(r: DomRecord, now: number): void {
    const rt = r.rate;
    if (rt.dropped > 0) {
      rt.droppedTotal += rt.dropped;
      this.log(`(d0) xenconsoled: domain ${r.d.domid} '${r.name}': console output over the rate limit (${this.rate.bytes} bytes per ${this.rate.periodMs} ms): ${rt.dropped} bytes dropped (${rt.droppedTotal} in all)`);
    }
    rt.used = 0;
    rt.dropped = 0;
    rt.periodEnd = now + this.rate.periodMs;
  }

  /** Console bytes of a domain dropped by the rate limit so far (reported ones and the current period's). */
  dropped(domid: number): number {
    const r = this.records.get(domid);
    return r ? r.rate.droppedTotal + r.rate.dropped : 0;
  }

  /** Writes pending console and host-log output to the log files (once per run slice). */
  flush(): void {
    const now = this.wallNow();
    for (const r of this.records.values()) {
      if (r.rate.dropped > 0 && now >= r.rate.periodEnd) this.endRatePeriod(r, now);
      if (r.logFd !== null && r.pendingLog.length) {
        r.logFd.write(Buffer.concat(r.pendingLog));
        r.pendingLog.length = 0;
      }
    }
    if (this.hostLogFd !== null && this.hostLogPending.length) {
      this.hostLogFd.write(Buffer.from(this.hostLogPending.join('\n') + '\n'));
      this.hostLogPending = [];
    }
  }

  /** Ends a domain's console clients (but `keep`) and closes its log file. */
  release(r: DomRecord, reason: string, keep: readonly ConsoleSink[] = []): void {
    for (const s of [...r.sinks]) if (!keep.includes(s)) s.end(reason);
    r.sinks.clear();
    r.logFd?.close();
    r.logFd = null;
  }

  /** Ends every console client and closes every log file (after a last flush). */
  close(): void {
    this.flush();
    for (const r of this.records.values()) this.release(r, 'host-shutdown');
    this.hostLogFd?.close();
    this.hostLogFd = null;
  }

  /** Streams the host log (dom0's console) to request `id`, the kept lines first when `replay`. */
  attachHostLog(ctx: OpContext, id: number | string, replay: boolean): unknown {
    if (replay) for (const l of this.hostLog) ctx.send(id, { event: 'console', data: Buffer.from(l + '\n').toString('base64') });
    if (!this.bus) throw new ToolstackError('EIO', 'the host log is not streaming yet (no host)');
    const sub = this.bus.on(HOST_LOG).subscribe(({ line }) => {
      if (!ctx.send(id, { event: 'console', data: Buffer.from(line + '\n').toString('base64') })) sub.unsubscribe();
    });
    ctx.addStream(id, () => sub.unsubscribe());
    return { domid: 0, name: DOM0_NAME, stream: id };
  }

  /** Streams domain `r`'s console to request `id`, the replay buffer first when `replay`. */
  attach(r: DomRecord, ctx: OpContext, id: number | string, replay: boolean): unknown {
    const sink: ConsoleSink = {
      data: (b) => {
        if (!ctx.send(id, { event: 'console', data: b.toString('base64') })) r.sinks.delete(sink);
      },
      end: (reason, extra) => {
        ctx.send(id, { event: 'end', reason, ...extra });
        ctx.endStream(id);
      },
    };
    // Sent after the ok reply (the server flushes the reply before stream events of this id).
    queueMicrotask(() => {
      if (replay) for (const b of r.console) sink.data(b);
      r.sinks.add(sink);
    });
    ctx.addStream(id, () => r.sinks.delete(sink));
    return { domid: r.d.domid, name: r.name, stream: id };
  }

  /** Typed bytes into domain `domid`'s PV console ring (xenconsoled's input side): bytes accepted, or < 0. */
  input(domid: number, bytes: Uint8Array): number {
    return this.rings!.input(domid, bytes);
  }
}
