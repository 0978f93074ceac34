// The xl.cfg parser and libxl's domain config live in @tachyxx/xlcfg (re-exported as before).
export * from '@tachyxx/xlcfg';
export { main, XL_COMMANDS } from './main.js';
