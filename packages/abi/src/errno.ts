/** Xen errno values (xen/include/public/errno.h). Hypercalls return them negated. */
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18,
  ENODEV: 19, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOSPC: 28, EROFS: 30, EMLINK: 31,
  EDOM: 33, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39,
  ENODATA: 61, ETIME: 62, EBADMSG: 74, EOVERFLOW: 75, EILSEQ: 84, ERESTART: 85, ENOTSOCK: 88,
  EMSGSIZE: 90, EOPNOTSUPP: 95, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENOBUFS: 105, EISCONN: 106,
  ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111,
  // Xen's aliases (public/errno.h): same numbers as EAGAIN and EDEADLK.
  EWOULDBLOCK: 11, EDEADLOCK: 35,
} as const;
export type ErrnoName = keyof typeof Errno;

const names = new Map<number, ErrnoName>();
// The first name of a number wins: EAGAIN, not its alias EWOULDBLOCK.
for (const [k, v] of Object.entries(Errno)) if (!names.has(v)) names.set(v, k as ErrnoName);
/** `ENOSYS` for 38 (or -38); `E<n>` for values Xen does not name. */
export function errnoName(n: number): string {
  return names.get(Math.abs(n)) ?? `E${Math.abs(n)}`;
}
