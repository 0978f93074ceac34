// @tachyxx/pv-blk: dom0's blkback (vbd devices over raw image files) and the toolstack helper.
export {
  BlkBackend, VbdStats, BLK_COMPLETE, type BlkCompleteEvent, DEFAULT_BLK_COSTS, SECTOR_SIZE, SECTORS_PER_PAGE,
  type BlkCosts, type BlkBackendOptions, type BlkModel, BLK_MODELS, DEFAULT_QUEUE_DEPTH, MAX_QUEUE_DEPTH,
  MAX_INDIRECT_SEGMENTS, MAX_PERSISTENT_GRANTS, DEFAULT_MAX_QUEUES, MAX_QUEUES,
} from './blkback.js';
export { addVbd, vdevToDevid, diskSpecFromLibxl, type DiskSpec, type LibxlDiskLike } from './toolstack.js';
export { PvBlkComponent, PVBLK_COMPONENT, PVBLK_PLUGINS, pvBlkFile, type PvBlkParams } from './component.js';
