// The runner's composition root lives in @tachyxx/sim (shared with `tachyxx sweep`).
export { registry, hostConfig, hostContainer, DEFAULT_COMPONENTS, type HostOverrides } from '@tachyxx/sim';
