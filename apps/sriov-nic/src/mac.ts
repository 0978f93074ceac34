/**
 * MAC addresses as 48-bit numbers in wire order (first octet most significant), and the
 * RAL/RAH register pair (RAL = octets 0-3 little-endian, RAH bits 15:0 = octets 4-5, as the
 * 82576's Receive Address registers).
 */
export function macOctet(mac: number, i: number): number {
  return Math.floor(mac / 2 ** (8 * (5 - i))) % 256;
}
export function macToRal(mac: number): number {
  return (macOctet(mac, 0) | (macOctet(mac, 1) << 8) | (macOctet(mac, 2) << 16) | (macOctet(mac, 3) << 24)) >>> 0;
}
export function macToRah(mac: number): number {
  return macOctet(mac, 4) | (macOctet(mac, 5) << 8);
}
export function macFromRegs(ral: number, rah: number): number {
  const o = [ral & 0xff, (ral >>> 8) & 0xff, (ral >>> 16) & 0xff, (ral >>> 24) & 0xff, rah & 0xff, (rah >>> 8) & 0xff];
  return o.reduce((m, b) => m * 256 + b, 0);
}
/** "aa:bb:cc:dd:ee:ff" <-> number. */
export function macString(mac: number): string {
  return [0, 1, 2, 3, 4, 5].map((i) => macOctet(mac, i).toString(16).padStart(2, '0')).join(':');
}
export function parseMacString(s: string): number | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s)) return null;
  return s.split(':').reduce((m, h) => m * 256 + parseInt(h, 16), 0);
}
