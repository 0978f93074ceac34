// The runner's composition root lives in @tachyxx/sim (shared with `tachyxx sweep`).
export { registry, hostContainer, type HostOverrides } from '@tachyxx/sim';
