// A guest image (ELF file) that Tachyxx refuses to load: core's one ImageError (file, reason,
// exit status 2), re-exported so loaders and their callers name it from here too.
export { ImageError } from '@tachyxx/core/errors';
