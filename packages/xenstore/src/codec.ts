/**
 * The xs_wire codec: encoding of `struct xsd_sockmsg` + payload, and a streaming decoder that
 * accepts partial reads without buffering more than one message (16 + at most 4096 bytes).
 */
import { XENSTORE_PAYLOAD_MAX, XSD_SOCKMSG } from '@tachyxx/abi';

export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  /** Exactly `len` bytes. */
  payload: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}
export function fromUtf8(b: Uint8Array): string {
  return dec.decode(b);
}

/** Header + payload as one buffer. The caller keeps payloads within XENSTORE_PAYLOAD_MAX. */
export function encodeMessage(type: number, reqId: number, txId: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(XSD_SOCKMSG.size + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(XSD_SOCKMSG.type, type >>> 0, true);
  v.setUint32(XSD_SOCKMSG.req_id, reqId >>> 0, true);
  v.setUint32(XSD_SOCKMSG.tx_id, txId >>> 0, true);
  v.setUint32(XSD_SOCKMSG.len, payload.length, true);
  out.set(payload, XSD_SOCKMSG.size);
  return out;
}

/** NUL-terminated strings, concatenated: ["a", "b"] -> "a\0b\0". */
export function nulStrings(...parts: string[]): Uint8Array {
  return utf8(parts.map((p) => `${p}\0`).join(''));
}

/**
 * The NUL-terminated strings at the start of `payload` (C get_strings): every complete string, in
 * order; bytes after the last NUL are ignored. `count` is the number of NULs.
 */
export function splitStrings(payload: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      out.push(fromUtf8(payload.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

/** C onearg(): the payload must be exactly one string with its NUL at the very end. */
export function oneArg(payload: Uint8Array): string | undefined {
  if (payload.length === 0 || payload.indexOf(0) !== payload.length - 1) return undefined;
  return fromUtf8(payload.subarray(0, payload.length - 1));
}

export type DecodeError = { kind: 'too-long'; len: number };

/**
 * Streaming decoder for one byte stream (a socket or a ring). `push(chunk)` calls `onMessage` for
 * each complete message; a header whose len exceeds XENSTORE_PAYLOAD_MAX is a protocol error:
 * `push` returns it and the decoder is dead from then on (xenstored drops such a connection).
 */
export class XsDecoder {
  private readonly hdr = new Uint8Array(XSD_SOCKMSG.size);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private hdrUsed = 0;
  private body: Uint8Array | undefined;
  private bodyUsed = 0;
  private type = 0;
  private reqId = 0;
  private txId = 0;
  private dead: DecodeError | undefined;

  constructor(private readonly onMessage: (m: XsMessage) => void) {}

  /** Bytes of a message received so far (header included); 0 between messages. */
  get partialBytes(): number {
    return this.hdrUsed + this.bodyUsed;
  }

  /** Bytes needed to complete the header or the message in progress (never 0). */
  get bytesWanted(): number {
    return this.body === undefined ? XSD_SOCKMSG.size - this.hdrUsed : this.body.length - this.bodyUsed;
  }

  get error(): DecodeError | undefined {
    return this.dead;
  }

  /** Consumes all of `chunk`. Stops at the first protocol error and returns it. */
  push(chunk: Uint8Array): DecodeError | undefined {
    if (this.dead) return this.dead;
    let off = 0;
    while (off < chunk.length) {
      if (this.body === undefined) {
        const n = Math.min(XSD_SOCKMSG.size - this.hdrUsed, chunk.length - off);
        this.hdr.set(chunk.subarray(off, off + n), this.hdrUsed);
        this.hdrUsed += n;
        off += n;
        if (this.hdrUsed < XSD_SOCKMSG.size) break;
        const len = this.hdrView.getUint32(XSD_SOCKMSG.len, true);
        if (len > XENSTORE_PAYLOAD_MAX) {
          this.dead = { kind: 'too-long', len };
          return this.dead;
        }
        this.type = this.hdrView.getUint32(XSD_SOCKMSG.type, true);
        this.reqId = this.hdrView.getUint32(XSD_SOCKMSG.req_id, true);
        this.txId = this.hdrView.getUint32(XSD_SOCKMSG.tx_id, true);
        this.body = new Uint8Array(len);
        this.bodyUsed = 0;
      }
      const body = this.body;
      const n = Math.min(body.length - this.bodyUsed, chunk.length - off);
      body.set(chunk.subarray(off, off + n), this.bodyUsed);
      this.bodyUsed += n;
      off += n;
      if (this.bodyUsed === body.length) {
        this.body = undefined;
        this.hdrUsed = 0;
        this.bodyUsed = 0;
        this.onMessage({ type: this.type, reqId: this.reqId, txId: this.txId, payload: body });
        if (this.dead) return this.dead;
      }
    }
    return undefined;
  }

  /** Stops decoding (e.g. the connection was dropped while messages were being handled). */
  kill(err: DecodeError = { kind: 'too-long', len: 0 }): void {
    this.dead = err;
  }
}
