/**
 * Classic libpcap capture files (pcap-savefile(5)): the nanosecond-resolution variant (magic
 * 0xa1b23c4d), version 2.4, LINKTYPE_ETHERNET. Timestamps are simulated time, so a capture of a
 * deterministic run is byte-for-byte the same every time. Written synchronously (one write per
 * record): a capture is complete on disk whenever the host stops.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** pcap magic with nanosecond timestamps (written in host byte order: little-endian here). */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** LINKTYPE_ETHERNET (IEEE 802.3). */
export const LINKTYPE_ETHERNET = 1;
/** tcpdump's default snapshot length (MAXIMUM_SNAPLEN). */
export const PCAP_SNAPLEN = 262144;

export class PcapWriter {
  private fd: number;
  private readonly hdr = new DataView(new ArrayBuffer(16));
  private readonly hdrBytes = new Uint8Array(this.hdr.buffer);
  frames = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    const g = new DataView(new ArrayBuffer(24));
    g.setUint32(0, PCAP_MAGIC_NS, true);
    g.setUint16(4, 2, true);
    g.setUint16(6, 4, true);
    g.setInt32(8, 0, true); // thiszone
    g.setUint32(12, 0, true); // sigfigs
    g.setUint32(16, PCAP_SNAPLEN, true);
    g.setUint32(20, LINKTYPE_ETHERNET, true);
    writeSync(this.fd, new Uint8Array(g.buffer));
  }

  /** Appends one frame seen at simulated time `ns`. */
  write(ns: number, frame: Uint8Array): void {
    if (this.fd < 0) return;
    const t = Math.max(0, Math.floor(ns));
    const incl = Math.min(frame.length, PCAP_SNAPLEN);
    this.hdr.setUint32(0, Math.floor(t / 1e9), true);
    this.hdr.setUint32(4, t % 1e9, true);
    this.hdr.setUint32(8, incl, true);
    this.hdr.setUint32(12, frame.length, true);
    writeSync(this.fd, this.hdrBytes);
    writeSync(this.fd, frame, 0, incl);
    this.frames++;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
