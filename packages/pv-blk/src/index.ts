// @tachyxx/pv-blk: dom0's blkback (vbd devices over raw image files) and the toolstack helper.
export {
  BlkBackend, VbdStats, BLK_COMPLETE, type BlkCompleteEvent, DEFAULT_BLK_COSTS, SECTOR_SIZE, SECTORS_PER_PAGE,
  type BlkCosts, type BlkBackendOptions,
} from './blkback.js';
export { addVbd, vdevToDevid, diskSpecFromLibxl, type DiskSpec, type LibxlDiskLike } from './toolstack.js';
export { PvBlkComponent, PVBLK_COMPONENT, PVBLK_PLUGINS, pvBlkFile } from './component.js';
