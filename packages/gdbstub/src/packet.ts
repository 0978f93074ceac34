// gdb remote serial protocol framing (gdb manual, "Overview" of Remote Protocol):
//   $<data>#<2 hex digits checksum>   a packet; the checksum is the sum of the data bytes mod 256
//   +  /  -                           acknowledge / request a retransmission (until QStartNoAckMode)
//   0x03                              an interrupt request (Ctrl-C) outside a packet
// Data escapes: '}' followed by (byte ^ 0x20) for '#', '$', '}' and '*' (and in binary data).
// Run-length encoding ('*') is only for responses (gdb never sends it); we do not send it either.

/** Largest packet data we accept (advertised as qSupported PacketSize=4000; our choice, a stub picks its own). */
export const MAX_PACKET = 0x4000;

export type PacketEvent =
  | { kind: 'packet'; data: string }
  /** A packet whose checksum did not match: answer '-' (in ack mode) so gdb sends it again. */
  | { kind: 'bad-checksum'; data: string }
  /** A packet longer than MAX_PACKET: its bytes were dropped. */
  | { kind: 'oversized'; length: number }
  | { kind: 'ack' }
  | { kind: 'nack' }
  | { kind: 'interrupt' };

const enum St { Idle, Data, Escape, Sum1, Sum2 }

/**
 * An incremental packet parser: feed() it bytes as they arrive; it returns the events completed
 * by them. Bytes outside a packet other than '+', '-', 0x03 and '$' are ignored (as gdbserver
 * does). Never throws; holds at most MAX_PACKET bytes of data.
 */
export class PacketParser {
  private st = St.Idle;
  private buf: number[] = [];
  private sum = 0;
  private sumText = '';
  private length = 0;

  feed(bytes: Uint8Array): PacketEvent[] {
    const out: PacketEvent[] = [];
    for (const b of bytes) {
      switch (this.st) {
        case St.Idle:
          if (b === 0x24) { this.st = St.Data; this.buf = []; this.sum = 0; this.length = 0; }
          else if (b === 0x2b) out.push({ kind: 'ack' });
          else if (b === 0x2d) out.push({ kind: 'nack' });
          else if (b === 0x03) out.push({ kind: 'interrupt' });
          break;
        case St.Data:
        case St.Escape:
          if (b === 0x23) { this.st = St.Sum1; this.sumText = ''; break; }
          if (b === 0x24) { // a new packet starts: the previous one was cut short (gdb resync)
            this.buf = []; this.sum = 0; this.length = 0; this.st = St.Data; break;
          }
          this.sum = (this.sum + b) & 0xff;
          this.length++;
          if (this.st === St.Escape) { this.push(b ^ 0x20); this.st = St.Data; }
          else if (b === 0x7d) this.st = St.Escape;
          else this.push(b);
          break;
        case St.Sum1:
          this.sumText = String.fromCharCode(b);
          this.st = St.Sum2;
          break;
        case St.Sum2: {
          this.sumText += String.fromCharCode(b);
          this.st = St.Idle;
          if (this.length > MAX_PACKET) { out.push({ kind: 'oversized', length: this.length }); break; }
          const data = String.fromCharCode(...this.buf);
          const want = /^[0-9a-fA-F]{2}$/.test(this.sumText) ? parseInt(this.sumText, 16) : -1;
          out.push(want === this.sum ? { kind: 'packet', data } : { kind: 'bad-checksum', data });
          this.buf = [];
          break;
        }
      }
    }
    return out;
  }

  private push(b: number): void {
    if (this.buf.length <= MAX_PACKET) this.buf.push(b);
  }
}

/** Sum of the bytes of `data` (latin-1) mod 256. */
export function checksum(data: string): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s = (s + data.charCodeAt(i)) & 0xff;
  return s;
}

/** Escape '#', '$', '}' and '*' (the reply side never uses run-length encoding). */
export function escape(data: string): string {
  return data.replace(/[#$}*]/g, (c) => '}' + String.fromCharCode(c.charCodeAt(0) ^ 0x20));
}

/** Frame `data` (latin-1 text, escaped here) as a packet: $data#cs. */
export function frame(data: string): string {
  const e = escape(data);
  return `$${e}#${checksum(e).toString(16).padStart(2, '0')}`;
}

/** Hex of the bytes, two lower-case digits each. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a hex string; undefined when it is not whole hex bytes. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

/** Text as hex (for qRcmd output and qThreadExtraInfo). */
export function textToHex(text: string): string {
  return toHex(new TextEncoder().encode(text));
}

/** Latin-1 string (binary packet data after unescaping) to bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * A 64-bit address in hex (gdb sends unsigned 64-bit) as the CPU's signed-number form: the
 * value with bit 63 sign-extended, exact for canonical 48-bit addresses. Undefined for bad hex
 * or more than 16 digits.
 */
export function parseAddr(hex: string): number | undefined {
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) return undefined;
  const h = hex.padStart(16, '0');
  const hi = parseInt(h.slice(0, 8), 16) | 0, lo = parseInt(h.slice(8), 16) >>> 0;
  return hi * 4294967296 + lo;
}

/** Little-endian hex of a 64-bit value given as int32 halves (the 'g' / 'p' register format). */
export function regHex(lo: number, hi: number): string {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setInt32(0, lo | 0, true);
  v.setInt32(4, hi | 0, true);
  return toHex(b);
}

/** Halves of a little-endian 16-hex-digit register value; undefined when malformed. */
export function parseRegHex(hex: string): { lo: number; hi: number } | undefined {
  const b = fromHex(hex);
  if (b === undefined || b.length !== 8) return undefined;
  const v = new DataView(b.buffer);
  return { lo: v.getInt32(0, true), hi: v.getInt32(4, true) };
}
