// @tachyxx/evtchn: Xen event channels (2-level and FIFO ABIs) for the Tachyxx hypervisor.
export {
  EventChannels, installEventChannels, virqType, DEFAULT_EVTCHN_CONFIG, DOM0, EVTCHN_SEND, NR_PIRQS_DOMU, NR_PIRQS_DOM0,
  type EvtchnConfig, type EvtchnVariant, type EvtchnSendEvent, type PortStatus,
} from './event-channels.js';
export { ChannelState, EVTCHNS_PER_BUCKET, type ChannelStateName, type EventHandler } from './channel.js';
export { EvtchnStats, EvtchnCounters, LATENCY_BOUNDS } from './stats.js';
export { EVTCHN_CONFIG, EVTCHN_COMPONENT, EvtchnComponent, EVTCHN_PLUGINS, evtchn2l, evtchnFifo, installEventChannelsFrom } from './plugin.js';
