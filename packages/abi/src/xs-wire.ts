/**
 * The xenstore wire protocol and the domain ring page (xen/include/public/io/xs_wire.h), as data.
 * Messages are a 16-byte little-endian header {type, req_id, tx_id, len} followed by `len` bytes
 * (at most XENSTORE_PAYLOAD_MAX), generally NUL-terminated strings. Errors travel as an XS_ERROR
 * message whose payload is the errno *name* ("ENOENT\0").
 */

/** enum xsd_sockmsg_type. Value 20 (XS_RESTRICT) was removed and is never reused. */
export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
} as const;
export type XsTypeName = keyof typeof XsType;
/** XS_TYPE_COUNT in Xen 4.17 (newer Xen adds GET/SET_FEATURE 23/24, GET/SET_QUOTA 25/26). */
export const XS_TYPE_COUNT = 23;
/** Guaranteed to remain an invalid type. */
export const XS_INVALID = 0xffff;

const typeNames = new Map<number, XsTypeName>(Object.entries(XsType).map(([k, v]) => [v, k as XsTypeName]));
/** 'WRITE' for 11; undefined for numbers that are not message types. */
export function xsTypeName(type: number): XsTypeName | undefined {
  return typeNames.get(type);
}

/** xsd_errors[], in Xen's order: the only errno names xenstored puts on the wire (others become EINVAL). */
export const XSD_ERRORS = [
  'EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO', 'ENOTEMPTY',
  'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM',
] as const;
export type XsdError = (typeof XSD_ERRORS)[number];

/** struct xsd_sockmsg: 4 x u32, little-endian on every Xen platform we model. */
export const XSD_SOCKMSG = { size: 16, type: 0, req_id: 4, tx_id: 8, len: 12 } as const;

/** Write modes of the old XS_WRITE flag argument (kept for completeness). */
export const XS_WRITE_NONE = 'NONE';
export const XS_WRITE_CREATE = 'CREATE';
export const XS_WRITE_CREATE_EXCL = 'CREATE|EXCL';

/** enum xs_watch_type: field order of an XS_WATCH_EVENT payload. */
export const XS_WATCH_PATH = 0;
export const XS_WATCH_TOKEN = 1;

/** Payload limit; violating it is a protocol error (the connection is dropped). */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** Path limits; violating them just gets an error back. */
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;

/** struct xenstore_domain_interface: one page shared between a guest and xenstored. */
export const XENSTORE_RING_SIZE = 1024;
export const XENSTORE_DOMAIN_INTERFACE = {
  req: 0, // char req[XENSTORE_RING_SIZE]: requests to xenstored
  rsp: 1024, // char rsp[XENSTORE_RING_SIZE]: replies and watch events
  req_cons: 2048,
  req_prod: 2052,
  rsp_cons: 2056,
  rsp_prod: 2060,
  server_features: 2064,
  connection: 2068,
  error: 2072,
  size: 2076,
} as const;
/** MASK_XENSTORE_IDX */
export function maskXenstoreIdx(idx: number): number {
  return idx & (XENSTORE_RING_SIZE - 1);
}

export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_COMM = 1;
export const XENSTORE_ERROR_RINGIDX = 2;
export const XENSTORE_ERROR_PROTO = 3;

/** Permission letters of the string form ("r5", "n0"): XS_PERM_NONE/READ/WRITE/BOTH. */
export const XS_PERM = { NONE: 0, READ: 1, WRITE: 2, BOTH: 3 } as const;
export const XS_PERM_LETTERS = { n: 0, r: 1, w: 2, b: 3 } as const;

/** DOMID_SELF as IS_DOMAIN_INTRODUCED understands it (xen.h). */
export const XS_DOMID_SELF = 0x7ff0;
