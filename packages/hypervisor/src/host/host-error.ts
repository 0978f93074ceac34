import { XenError } from '@tachyxx/core';
import { Errno } from '@tachyxx/abi';

/** A host operation the caller asked for that cannot be done (domain creation, ...), with Xen's errno. */
export class HostError extends XenError {
  override readonly name: string = 'HostError';
  constructor(message: string, errno: number = Errno.EINVAL) {
    super(message, errno);
  }
}
