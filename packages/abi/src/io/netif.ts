/**
 * The PV network protocol (xen/include/public/io/netif.h), arch-neutral: layouts, flags, status
 * codes, xenstore keys, and codecs that copy a slot out of / into a ring page. Slot sizes: TX 12
 * bytes (a netif_tx_request or a netif_extra_info), RX 8 bytes, so 256 entries each in a 4 KiB ring.
 * Responses land in the slot of their request (Linux netfront ignores the rx response id).
 */
import { defineStruct, type StructCodec } from './layout.js';
import { defineRingTypes } from './ring.js';

/** A backend must accept packets of up to this many TX slots without negotiation (old MAX_SKB_FRAGS). */
export const XEN_NETIF_NR_SLOTS_MIN = 18;
/** Largest packet a netif_tx_request's `size` (u16) can describe. */
export const XEN_NETIF_MAX_TX_SIZE = 0xffff;

/** TX flags (netif_tx_request.flags): bit numbers `_NETTXF_*` and masks `NETTXF_*`. */
export const _NETTXF_csum_blank = 0;
export const NETTXF_csum_blank = 1 << _NETTXF_csum_blank;
export const _NETTXF_data_validated = 1;
export const NETTXF_data_validated = 1 << _NETTXF_data_validated;
export const _NETTXF_more_data = 2;
export const NETTXF_more_data = 1 << _NETTXF_more_data;
export const _NETTXF_extra_info = 3;
export const NETTXF_extra_info = 1 << _NETTXF_extra_info;

/** RX flags (netif_rx_response.flags). */
export const _NETRXF_data_validated = 0;
export const NETRXF_data_validated = 1 << _NETRXF_data_validated;
export const _NETRXF_csum_blank = 1;
export const NETRXF_csum_blank = 1 << _NETRXF_csum_blank;
export const _NETRXF_more_data = 2;
export const NETRXF_more_data = 1 << _NETRXF_more_data;
export const _NETRXF_extra_info = 3;
export const NETRXF_extra_info = 1 << _NETRXF_extra_info;
/** Deprecated, kept for compatibility. */
export const _NETRXF_gso_prefix = 4;
export const NETRXF_gso_prefix = 1 << _NETRXF_gso_prefix;

/** netif_extra_info.type. */
export const XEN_NETIF_EXTRA_TYPE_NONE = 0;
export const XEN_NETIF_EXTRA_TYPE_GSO = 1;
export const XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
export const XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
export const XEN_NETIF_EXTRA_TYPE_HASH = 4;
export const XEN_NETIF_EXTRA_TYPE_MAX = 5;
/** netif_extra_info.flags: another extra-info slot follows. */
export const _XEN_NETIF_EXTRA_FLAG_MORE = 0;
export const XEN_NETIF_EXTRA_FLAG_MORE = 1 << _XEN_NETIF_EXTRA_FLAG_MORE;
/** netif_extra_info.u.gso.type. */
export const XEN_NETIF_GSO_TYPE_NONE = 0;
export const XEN_NETIF_GSO_TYPE_TCPV4 = 1;
export const XEN_NETIF_GSO_TYPE_TCPV6 = 2;

/** Response status (netif_tx_response.status; netif_rx_response.status when negative). */
export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** No response: the slot of an auxiliary request (a netif_extra_info). */
export const NETIF_RSP_NULL = 1;

/** Control ring (feature-ctrl-ring): hash types, algorithms, request types, statuses. */
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 0;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 2;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 3;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
export const XEN_NETIF_CTRL_HASH_ALGORITHM_NONE = 0;
export const XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ = 1;
export const XEN_NETIF_CTRL_TYPE_INVALID = 0;
export const XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS = 1;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS = 2;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_KEY = 3;
export const XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE = 4;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE = 5;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING = 6;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM = 7;
export const XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE = 8;
export const XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING = 9;
export const XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING = 10;
export const XEN_NETIF_CTRL_STATUS_SUCCESS = 0;
export const XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED = 1;
export const XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER = 2;
export const XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW = 3;
export const _XEN_NETIF_CTRLF_GREF_readonly = 0;
export const XEN_NETIF_CTRLF_GREF_readonly = 1 << _XEN_NETIF_CTRLF_GREF_readonly;

// ---- layouts -------------------------------------------------------------------------------

/** struct netif_tx_request { grant_ref_t gref; uint16_t offset, flags, id, size; } (first slot: size = whole packet) */
export const NetifTxRequest = defineStruct('netif_tx_request', 12, 4, {
  gref: [0, 4], offset: [4, 2], flags: [6, 2], id: [8, 2], size: [10, 2],
});
/** struct netif_tx_response { uint16_t id; int16_t status; } */
export const NetifTxResponse = defineStruct('netif_tx_response', 4, 2, { id: [0, 2], status: [2, 2] });
/** struct netif_rx_request { uint16_t id; uint16_t pad; grant_ref_t gref; } */
export const NetifRxRequest = defineStruct('netif_rx_request', 8, 4, { id: [0, 2], pad: [2, 2], gref: [4, 4] });
/** struct netif_rx_response { uint16_t id, offset, flags; int16_t status; } (status >= 0: bytes received) */
export const NetifRxResponse = defineStruct('netif_rx_response', 8, 2, { id: [0, 2], offset: [2, 2], flags: [4, 2], status: [6, 2] });
/** struct netif_extra_info: 8 bytes (fits a TX request and an RX response slot). */
export const NetifExtraInfo = defineStruct('netif_extra_info', 8, 2, {
  type: [0, 1], flags: [1, 1], u: [2, 6],
  'u.gso.size': [2, 2], 'u.gso.type': [4, 1], 'u.gso.pad': [5, 1], 'u.gso.features': [6, 2],
  'u.mcast.addr': [2, 6, 6],
  'u.hash.type': [2, 1], 'u.hash.algorithm': [3, 1], 'u.hash.value': [4, 4, 4],
  'u.pad': [2, 6, 3],
});
/** struct xen_netif_ctrl_request { uint16_t id, type; uint32_t data[3]; } */
export const XenNetifCtrlRequest = defineStruct('xen_netif_ctrl_request', 16, 4, { id: [0, 2], type: [2, 2], data: [4, 12, 3] });
/** struct xen_netif_ctrl_response { uint16_t id, type; uint32_t status, data; } */
export const XenNetifCtrlResponse = defineStruct('xen_netif_ctrl_response', 12, 4, { id: [0, 2], type: [2, 2], status: [4, 4], data: [8, 4] });
/** struct xen_netif_gref { grant_ref_t ref; uint16_t flags, status; } (entries of a gref-mapping page) */
export const XenNetifGref = defineStruct('xen_netif_gref', 8, 4, { ref: [0, 4], flags: [4, 2], status: [6, 2] });

// ---- codecs --------------------------------------------------------------------------------

export interface netif_tx_request_t { gref: number; offset: number; flags: number; id: number; size: number }
export interface netif_tx_response_t { id: number; status: number }
export interface netif_rx_request_t { id: number; pad: number; gref: number }
export interface netif_rx_response_t { id: number; offset: number; flags: number; status: number }
export interface netif_extra_info_t {
  type: number;
  flags: number;
  u: {
    gso: { size: number; type: number; pad: number; features: number };
    mcast: { addr: Uint8Array };
    hash: { type: number; algorithm: number; value: Uint8Array };
  };
}
export interface xen_netif_ctrl_request_t { id: number; type: number; data: Uint32Array }
export interface xen_netif_ctrl_response_t { id: number; type: number; status: number; data: number }

export const NetifTxRequestCodec: StructCodec<netif_tx_request_t> = {
  layout: NetifTxRequest,
  create: () => ({ gref: 0, offset: 0, flags: 0, id: 0, size: 0 }),
  read(v, o, out) {
    out.gref = v.getUint32(o, true);
    out.offset = v.getUint16(o + 4, true);
    out.flags = v.getUint16(o + 6, true);
    out.id = v.getUint16(o + 8, true);
    out.size = v.getUint16(o + 10, true);
    return out;
  },
  write(v, o, x) {
    v.setUint32(o, x.gref, true);
    v.setUint16(o + 4, x.offset, true);
    v.setUint16(o + 6, x.flags, true);
    v.setUint16(o + 8, x.id, true);
    v.setUint16(o + 10, x.size, true);
  },
};

export const NetifTxResponseCodec: StructCodec<netif_tx_response_t> = {
  layout: NetifTxResponse,
  create: () => ({ id: 0, status: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o, true);
    out.status = v.getInt16(o + 2, true);
    return out;
  },
  write(v, o, x) {
    v.setUint16(o, x.id, true);
    v.setInt16(o + 2, x.status, true);
  },
};

export const NetifRxRequestCodec: StructCodec<netif_rx_request_t> = {
  layout: NetifRxRequest,
  create: () => ({ id: 0, pad: 0, gref: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o, true);
    out.pad = v.getUint16(o + 2, true);
    out.gref = v.getUint32(o + 4, true);
    return out;
  },
  write(v, o, x) {
    v.setUint16(o, x.id, true);
    v.setUint16(o + 2, x.pad, true);
    v.setUint32(o + 4, x.gref, true);
  },
};

export const NetifRxResponseCodec: StructCodec<netif_rx_response_t> = {
  layout: NetifRxResponse,
  create: () => ({ id: 0, offset: 0, flags: 0, status: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o, true);
    out.offset = v.getUint16(o + 2, true);
    out.flags = v.getUint16(o + 4, true);
    out.status = v.getInt16(o + 6, true);
    return out;
  },
  write(v, o, x) {
    v.setUint16(o, x.id, true);
    v.setUint16(o + 2, x.offset, true);
    v.setUint16(o + 4, x.flags, true);
    v.setInt16(o + 6, x.status, true);
  },
};

/**
 * netif_extra_info: `read` decodes every union member (they overlay the same 6 bytes; use the one
 * `type` names); `write` writes the member `type` selects (GSO -> u.gso, MCAST_ADD/DEL -> u.mcast,
 * HASH -> u.hash) and zeroes the 6 bytes for any other type.
 */
export const NetifExtraInfoCodec: StructCodec<netif_extra_info_t> = {
  layout: NetifExtraInfo,
  create: () => ({
    type: 0, flags: 0,
    u: { gso: { size: 0, type: 0, pad: 0, features: 0 }, mcast: { addr: new Uint8Array(6) }, hash: { type: 0, algorithm: 0, value: new Uint8Array(4) } },
  }),
  read(v, o, out) {
    out.type = v.getUint8(o);
    out.flags = v.getUint8(o + 1);
    const { gso, mcast, hash } = out.u;
    gso.size = v.getUint16(o + 2, true);
    gso.type = v.getUint8(o + 4);
    gso.pad = v.getUint8(o + 5);
    gso.features = v.getUint16(o + 6, true);
    for (let i = 0; i < 6; i++) mcast.addr[i] = v.getUint8(o + 2 + i);
    hash.type = v.getUint8(o + 2);
    hash.algorithm = v.getUint8(o + 3);
    for (let i = 0; i < 4; i++) hash.value[i] = v.getUint8(o + 4 + i);
    return out;
  },
  write(v, o, x) {
    v.setUint8(o, x.type);
    v.setUint8(o + 1, x.flags);
    const { gso, mcast, hash } = x.u;
    switch (x.type) {
      case XEN_NETIF_EXTRA_TYPE_GSO:
        v.setUint16(o + 2, gso.size, true);
        v.setUint8(o + 4, gso.type);
        v.setUint8(o + 5, gso.pad);
        v.setUint16(o + 6, gso.features, true);
        break;
      case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
      case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
        for (let i = 0; i < 6; i++) v.setUint8(o + 2 + i, mcast.addr[i] ?? 0);
        break;
      case XEN_NETIF_EXTRA_TYPE_HASH:
        v.setUint8(o + 2, hash.type);
        v.setUint8(o + 3, hash.algorithm);
        for (let i = 0; i < 4; i++) v.setUint8(o + 4 + i, hash.value[i] ?? 0);
        break;
      default:
        for (let i = 2; i < 8; i++) v.setUint8(o + i, 0);
    }
  },
};

export const XenNetifCtrlRequestCodec: StructCodec<xen_netif_ctrl_request_t> = {
  layout: XenNetifCtrlRequest,
  create: () => ({ id: 0, type: 0, data: new Uint32Array(3) }),
  read(v, o, out) {
    out.id = v.getUint16(o, true);
    out.type = v.getUint16(o + 2, true);
    for (let i = 0; i < 3; i++) out.data[i] = v.getUint32(o + 4 + 4 * i, true);
    return out;
  },
  write(v, o, x) {
    v.setUint16(o, x.id, true);
    v.setUint16(o + 2, x.type, true);
    for (let i = 0; i < 3; i++) v.setUint32(o + 4 + 4 * i, x.data[i] ?? 0, true);
  },
};

export const XenNetifCtrlResponseCodec: StructCodec<xen_netif_ctrl_response_t> = {
  layout: XenNetifCtrlResponse,
  create: () => ({ id: 0, type: 0, status: 0, data: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o, true);
    out.type = v.getUint16(o + 2, true);
    out.status = v.getUint32(o + 4, true);
    out.data = v.getUint32(o + 8, true);
    return out;
  },
  write(v, o, x) {
    v.setUint16(o, x.id, true);
    v.setUint16(o + 2, x.type, true);
    v.setUint32(o + 4, x.status, true);
    v.setUint32(o + 8, x.data, true);
  },
};

// ---- rings ---------------------------------------------------------------------------------

/** DEFINE_RING_TYPES(netif_tx, struct netif_tx_request, struct netif_tx_response): 12-byte slots. */
export const NetifTxRing = defineRingTypes('netif_tx', NetifTxRequestCodec, NetifTxResponseCodec);
/** DEFINE_RING_TYPES(netif_rx, struct netif_rx_request, struct netif_rx_response): 8-byte slots. */
export const NetifRxRing = defineRingTypes('netif_rx', NetifRxRequestCodec, NetifRxResponseCodec);
/** DEFINE_RING_TYPES(xen_netif_ctrl, ...): 16-byte slots. */
export const XenNetifCtrlRing = defineRingTypes('xen_netif_ctrl', XenNetifCtrlRequestCodec, XenNetifCtrlResponseCodec);
/** Linux's NET_TX_RING_SIZE / NET_RX_RING_SIZE: `__CONST_RING_SIZE(xen_netif_tx|rx, XEN_PAGE_SIZE)`. */
export const NET_TX_RING_SIZE = NetifTxRing.ringSize4k;
export const NET_RX_RING_SIZE = NetifRxRing.ringSize4k;

// ---- xenstore keys -------------------------------------------------------------------------

/** Keys a netback writes in its directory (/local/domain/B/backend/vif/D/N), as Linux netback_probe does. */
export const NetbackKeys = {
  featureSg: 'feature-sg',
  featureGsoTcpv4: 'feature-gso-tcpv4',
  featureGsoTcpv6: 'feature-gso-tcpv6',
  featureIpv6CsumOffload: 'feature-ipv6-csum-offload',
  featureRxCopy: 'feature-rx-copy',
  featureRxFlip: 'feature-rx-flip',
  featureMulticastControl: 'feature-multicast-control',
  featureDynamicMulticastControl: 'feature-dynamic-multicast-control',
  featureSplitEventChannels: 'feature-split-event-channels',
  multiQueueMaxQueues: 'multi-queue-max-queues',
  featureCtrlRing: 'feature-ctrl-ring',
  /** "0"/"1": link state (absent = up). */
  carrier: 'carrier',
  /** libxl's vif keys. */
  mac: 'mac',
  bridge: 'bridge',
  handle: 'handle',
  vifname: 'vifname',
  rate: 'rate',
  mtu: 'mtu',
} as const;

/** Keys a netfront writes in its directory (/local/domain/D/device/vif/N, or queue-N/ for the ring keys). */
export const NetfrontKeys = {
  txRingRef: 'tx-ring-ref',
  rxRingRef: 'rx-ring-ref',
  eventChannel: 'event-channel',
  eventChannelTx: 'event-channel-tx',
  eventChannelRx: 'event-channel-rx',
  requestRxCopy: 'request-rx-copy',
  featureRxNotify: 'feature-rx-notify',
  featureSg: 'feature-sg',
  featureGsoTcpv4: 'feature-gso-tcpv4',
  featureGsoTcpv6: 'feature-gso-tcpv6',
  featureNoCsumOffload: 'feature-no-csum-offload',
  featureIpv6CsumOffload: 'feature-ipv6-csum-offload',
  requestMulticastControl: 'request-multicast-control',
  multiQueueNumQueues: 'multi-queue-num-queues',
  ctrlRingRef: 'ctrl-ring-ref',
  eventChannelCtrl: 'event-channel-ctrl',
  /** Set by the toolstack: MTU in octets (absent = 1500), MAC address, "0" = untrusted backend. */
  mtu: 'mtu',
  mac: 'mac',
  trusted: 'trusted',
  handle: 'handle',
} as const;
