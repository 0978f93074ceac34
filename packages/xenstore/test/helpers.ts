import { Xenstored, connectLocal, type XsClient, type XenstoredOptions, XsError } from '../src/index.js';

export function setup(opts: XenstoredOptions = {}) {
  const xs = new Xenstored(opts);
  const dom0 = connectLocal(xs, 0);
  return { xs, dom0, dom: (id: number) => connectLocal(xs, id) };
}

/** The errno name a client call fails with (or 'OK'). */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (e instanceof XsError) return e.code;
    throw e;
  }
}

export type { XsClient };
