/**
 * A bridge's uplink to the host's network without a native addon: Ethernet frames as UDP
 * datagrams on the loopback, one frame per datagram, to a peer that puts them on a TAP interface.
 * The peer tested here is socat's TUN address (Debian's socat):
 *
 *   socat TUN,tun-type=tap,tun-name=tap0,iff-no-pi,iff-up UDP-DATAGRAM:127.0.0.1:LOCAL,bind=127.0.0.1:PEER
 *
 * (`iff-no-pi`: each read from the TAP is one bare Ethernet frame.) The TAP can then be moved into a
 * network namespace and given an address (`ip link set tap0 netns NS`): the host's own stack
 * (ping, a UDP socket) reaches the domains on the bridge through it. Frames to the host get their
 * checksums filled (the TAP has no offload header to carry a partial one).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { BridgePort, BridgeSet } from './bridge.js';

export interface UplinkConfig {
  readonly bridge: string;
  /** UDP port this end binds on 127.0.0.1. */
  readonly localPort: number;
  /** UDP port of the peer (socat) on 127.0.0.1. */
  readonly peerPort: number;
  /** Port name on the bridge (default `uplink-<bridge>`). */
  readonly name?: string;
}

/** "BRIDGE:LOCAL:PEER[,BRIDGE:LOCAL:PEER...]" (the pv-net `uplink` param). Throws naming the entry. */
export function parseUplinks(s: string): UplinkConfig[] {
  if (!s.trim()) return [];
  return s.split(',').map((e) => {
    const m = /^\s*([A-Za-z0-9_.-]{1,15}):(\d{1,5}):(\d{1,5})\s*$/.exec(e);
    const lp = m ? Number(m[2]) : 0;
    const pp = m ? Number(m[3]) : 0;
    if (!m || lp < 1 || lp > 65535 || pp < 1 || pp > 65535) throw new RangeError(`uplink '${e}': expected BRIDGE:LOCALPORT:PEERPORT (UDP ports on 127.0.0.1)`);
    return { bridge: m[1]!, localPort: lp, peerPort: pp };
  });
}

export class UdpUplink {
  readonly port: BridgePort;
  private sock: Socket | null = null;
  framesIn = 0;
  framesOut = 0;
  /** Called after a frame from the host entered the bridge (the daemon wakes its run loop). */
  onInput: () => void = () => {};

  constructor(bridges: BridgeSet, readonly cfg: UplinkConfig) {
    this.port = bridges.attach(cfg.bridge, cfg.name ?? `uplink-${cfg.bridge}`, (f) => {
      if (!this.sock) return;
      this.framesOut++;
      this.sock.send(f.data, this.cfg.peerPort, '127.0.0.1');
    }, 65535);
    this.port.needsCsum = true;
  }

  /** Binds the local UDP port; frames from the peer go into the bridge. */
  start(): Promise<void> {
    const sock = createSocket('udp4');
    this.sock = sock;
    sock.on('message', (msg, from) => {
      if (from.address !== '127.0.0.1' || from.port !== this.cfg.peerPort || !this.port.attached) return;
      this.framesIn++;
      this.port.send({ data: new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength).slice(), csumBlank: false, validated: false });
      this.onInput();
    });
    sock.on('error', () => {}); // ICMP port unreachable while the peer is not up yet: frames are lost, as on a wire
    return new Promise((res, rej) => {
      sock.once('error', rej);
      sock.bind(this.cfg.localPort, '127.0.0.1', () => { sock.off('error', rej); res(); });
    });
  }

  close(): void {
    this.port.detach();
    this.sock?.close();
    this.sock = null;
  }
}
