export { encodeMessage, XsDecoder, splitStrings, oneArg, nulStrings, utf8, fromUtf8, type XsMessage, type DecodeError } from './codec.js';
export { parsePerm, permToString, permFor, PERM_READ, PERM_WRITE, PERM_OWNER, type Perm, type PermBits, type Asker } from './perms.js';
export { XsConnection, type Watch, type ConnectionKind } from './connection.js';
export { type XsNode, nodeSize, isChild } from './node.js';
export {
  Xenstored,
  XsError,
  DEFAULT_QUOTAS,
  XENSTORE_WATCH,
  domainPath,
  type XsQuotas,
  type XenstoredOptions,
  type XenstoreWatchEvent,
  type IntroducedDomain,
  type DomainBinding,
  type XsTreeJson,
  type XsChange,
  type XsChangeLog,
} from './xenstored.js';
export { XenstoreStats } from './stats.js';
export { XsRingConnection, ringPageOf, type RingPage } from './ring.js';
export { introduceRing } from './domain.js';
export { XsSocketServer, XsSocketConnection } from './socket.js';
export { XsLocalConnection, XsClient, connectLocal, type WatchEventData } from './local.js';
export { XsPersistence, PERSIST_FILE_MODE, DEFAULT_COMPACT_BYTES, type XsPersistenceOptions, type SnapshotJson } from './persist.js';
export { createDomainLayout, vmPath, type DomainLayout } from './layout.js';
export { xenstoredPlugin, XENSTORED } from './plugin.js';
export { attachXenstore, type XenstoreAttachment, type AttachXenstoreOptions, type StoreBinding } from './attach.js';
export { XENSTORE_COMPONENT, XENSTORE_PLUGINS } from './plugin.js';
export { XenstoreComponent } from './components.js';
export { XsRingFrontend } from './ring-frontend.js';
