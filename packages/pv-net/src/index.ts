// @tachyxx/pv-net: dom0's netback (vif devices), the software bridges, pcap capture and the toolstack helper.
export {
  NetBackend, VifStats, NetQueueStats, VIF_UP, VIF_DOWN, VIF_FATAL, VIF_CARRIER, readConfig,
  XEN_NETBK_LEGACY_SLOTS_MAX, FATAL_SKB_SLOTS, RX_DRAIN_TIMEOUT_NS, RX_DRAIN_TIMEOUT_NO_NOTIFY_NS, RX_STALL_TIMEOUT_NS,
  RX_QUEUE_MAX_BYTES, TX_CREDIT_MIN_BURST, DEFAULT_MAX_QUEUES,
  type VifEvent, type VifConfig, type NetBackendOptions,
} from './netback.js';
export {
  Bridge, BridgePort, BridgeSet, BridgeStats, BridgePortStats, DEFAULT_NET_COSTS, BRIDGE_AGEING_NS, BRIDGE_BACKLOG, BRIDGE_FDB_MAX, BRIDGE_NAPI_WEIGHT,
  type NetCosts, type PortSink, type BridgeHost, type BridgeSetOptions,
} from './bridge.js';
export { ETH_HLEN, ETH_DATA_LEN, fillL4Checksum, parseMac, formatMac, macAt, isGroupMac, type NetFrame } from './frame.js';
export { PcapWriter, PCAP_MAGIC_NS, PCAP_MAGIC_US, LINKTYPE_ETHERNET, PCAP_SNAPLEN } from './pcap.js';
export { addVif, defaultMac, vifSpecFromLibxl, VIF_SCRIPT, DEFAULT_BRIDGE, type VifSpec, type LibxlNicLike } from './toolstack.js';
export { PvNetComponent, PVNET_COMPONENT, PVNET_PLUGINS, pvNetBridge, type PvNetSettings } from './component.js';
export { UdpUplink, parseUplinks, type UplinkConfig } from './uplink.js';
