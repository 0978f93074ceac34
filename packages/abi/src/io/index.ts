/** Xen's public/io/ protocols: also exported flat from the package root, and as the `io` namespace. */
export * from './layout.js';
export * from './ring.js';
export * from './xenbus.js';
export * from './netif.js';
export * from './blkif.js';
export * from './console.js';
