// @tachyxx/grant: grant tables v1 (grant_table_op, hypercall 20) and the dom0 backend API.
export {
  GrantTables, MAPTRACK_PER_PAGE, INITIAL_NR_GRANT_FRAMES,
  type GrantTablesOptions, type GrantHostLike, type GrantStats, type CopySide, type CopyOp, type ForeignMapping, type ReadonlyBytes,
} from './grant-tables.js';
export { GNTTAB_GUEST_BASE_GFN, GNTTAB_GUEST_FRAMES } from './layout.js';
export { VchanPeer, runWithPeer, vchanHash, vchanMessage, fnv1a, VCHAN_LAYOUT, VCHAN_FNV_INIT, type VchanPeerOptions, type VchanResult, type VchanStoreClient, type VchanEventChannels, type VchanDirection } from './vchan.js';
export { GRANT_COMPONENT, GRANT_PLUGINS, GrantComponent, grantV1, type GrantConfig } from './plugin.js';
