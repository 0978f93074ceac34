// @tachyxx/gdbstub: debug any guest at any privilege level with a real gdb (issue 16).
export { PacketParser, MAX_PACKET, checksum, escape, frame, toHex, fromHex, parseAddr, regHex, parseRegHex, type PacketEvent } from './packet.js';
export { GdbSession, MAX_RETRANSMITS, addrHex, type SessionOptions } from './session.js';
export { TARGET_XML, PL2_FEATURE } from './tdesc.js';
export { REG, NUM_REGS, type DebugTarget, type StopEvent, type ExitEvent, type StopKind, type StopListener } from './target.js';
export { SliceTarget, SLICE_INSNS, MAX_IDLE_STEPS } from './slice-target.js';
export { BareTarget, type BareTargetOptions } from './bare-target.js';
export { DomainTarget, type DomainTargetOptions } from './domain-target.js';
export { GdbServer, parseGdbAddress, type GdbAddress, type GdbServerOptions } from './server.js';
export { debugRead, debugWrite, debugOffset, stage1, stage2, type TranslationRegs } from './walk.js';
