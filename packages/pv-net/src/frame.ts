/**
 * Ethernet frames as they cross the bridge, and the L4 checksum fill of a `csum_blank` packet
 * (NETTXF_csum_blank: Linux's CHECKSUM_PARTIAL, completed by skb_checksum_help before a device
 * that cannot offload it). The checksum is recomputed from scratch over the pseudo-header and the
 * L4 segment (skb_checksum_setup with recalculate_partial_csum), so a guest's partial sum is not
 * trusted.
 */

/** Ethernet header length (ETH_HLEN). */
export const ETH_HLEN = 14;
/** Default MTU of a vif and a bridge port (ETH_DATA_LEN). */
export const ETH_DATA_LEN = 1500;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** One frame in flight: its bytes and the checksum state netif carries with it. */
export interface NetFrame {
  readonly data: Uint8Array;
  /** NETTXF_csum_blank: the L4 checksum still has to be computed. */
  csumBlank: boolean;
  /** NETTXF_data_validated or a checksum filled here: the receiver need not verify it. */
  validated: boolean;
}

/** The 6-byte MAC at `off` as a number (48 bits fit a double exactly). */
export function macAt(b: Uint8Array, off: number): number {
  return ((b[off]! * 0x10000 + b[off + 1]! * 0x100 + b[off + 2]!) * 0x1000000) + (b[off + 3]! * 0x10000 + b[off + 4]! * 0x100 + b[off + 5]!);
}

/** True for a group (multicast or broadcast) address: the I/G bit of the first octet. */
export function isGroupMac(b: Uint8Array, off: number): boolean {
  return (b[off]! & 1) !== 0;
}

/** "aa:bb:cc:dd:ee:ff" -> 6 bytes; throws on anything else. */
export function parseMac(s: string): Uint8Array {
  const m = /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/.exec(s);
  if (!m) throw new RangeError(`'${s}' is not a MAC address (six hex octets separated by ':')`);
  return Uint8Array.from(s.split(':').map((x) => parseInt(x, 16)));
}

export function formatMac(b: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[off + i]!.toString(16).padStart(2, '0');
  return s;
}

function sum16(b: Uint8Array, from: number, to: number, acc: number): number {
  let i = from;
  for (; i + 1 < to; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (i < to) acc += b[i]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/**
 * Fills the TCP or UDP checksum of an IPv4/IPv6 frame in place (IPv6 without extension headers;
 * one 802.1Q tag allowed). Returns false when the frame is not one whose checksum can be set up
 * (Linux's "Can't setup checksum": the packet is dropped).
 */
export function fillL4Checksum(f: Uint8Array): boolean {
  let off = 12;
  if (f.length < ETH_HLEN) return false;
  let type = (f[off]! << 8) | f[off + 1]!;
  if (type === ETH_P_8021Q) {
    if (f.length < ETH_HLEN + 4) return false;
    off += 4;
    type = (f[off]! << 8) | f[off + 1]!;
  }
  const l3 = off + 2;
  let proto: number;
  let l4: number;
  let l4len: number;
  let acc = 0;
  if (type === ETH_P_IP) {
    if (f.length < l3 + 20 || (f[l3]! >> 4) !== 4) return false;
    const ihl = (f[l3]! & 15) * 4;
    const total = (f[l3 + 2]! << 8) | f[l3 + 3]!;
    const fragOff = ((f[l3 + 6]! & 0x1f) << 8) | f[l3 + 7]!;
    if (ihl < 20 || total < ihl || l3 + total > f.length || fragOff !== 0 || (f[l3 + 6]! & 0x20) !== 0) return false;
    proto = f[l3 + 9]!;
    l4 = l3 + ihl;
    l4len = total - ihl;
    acc = sum16(f, l3 + 12, l3 + 20, 0); // source and destination address
  } else if (type === ETH_P_IPV6) {
    if (f.length < l3 + 40 || (f[l3]! >> 4) !== 6) return false;
    proto = f[l3 + 6]!;
    l4 = l3 + 40;
    l4len = (f[l3 + 4]! << 8) | f[l3 + 5]!;
    if (l4 + l4len > f.length) return false;
    acc = sum16(f, l3 + 8, l3 + 40, 0);
  } else return false;
  let field: number;
  if (proto === IPPROTO_UDP) { if (l4len < 8) return false; field = l4 + 6; }
  else if (proto === IPPROTO_TCP) { if (l4len < 20) return false; field = l4 + 16; }
  else return false;
  acc += proto + l4len;
  f[field] = 0;
  f[field + 1] = 0;
  acc = sum16(f, l4, l4 + l4len, acc);
  let c = (~fold(acc)) & 0xffff;
  if (c === 0 && proto === IPPROTO_UDP) c = 0xffff; // RFC 768: a computed 0 is sent as all ones
  f[field] = c >> 8;
  f[field + 1] = c & 0xff;
  return true;
}
