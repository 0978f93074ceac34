/**
 * The PV console ring page (xen/include/public/io/console.h): `in` carries input to the guest
 * (the console daemon produces, the guest consumes), `out` the guest's output. Indexes are
 * free-running u32; a byte lives at `idx & (sizeof(ring) - 1)`. A daemon must treat
 * `prod - cons > sizeof(ring)` as a broken (or hostile) guest.
 */
import { defineStruct } from './layout.js';

export const XENCONS_IN_SIZE = 1024;
export const XENCONS_OUT_SIZE = 2048;

/** struct xencons_interface { char in[1024]; char out[2048]; XENCONS_RING_IDX in_cons, in_prod, out_cons, out_prod; } */
export const XenconsInterface = defineStruct('xencons_interface', 3088, 4, {
  in: [0, XENCONS_IN_SIZE, XENCONS_IN_SIZE],
  out: [XENCONS_IN_SIZE, XENCONS_OUT_SIZE, XENCONS_OUT_SIZE],
  in_cons: [3072, 4],
  in_prod: [3076, 4],
  out_cons: [3080, 4],
  out_prod: [3084, 4],
});

/** MASK_XENCONS_IDX(idx, ring): `ringSize` is sizeof(ring), XENCONS_IN_SIZE or XENCONS_OUT_SIZE. */
export function MASK_XENCONS_IDX(idx: number, ringSize: number): number {
  return (idx & (ringSize - 1)) >>> 0;
}
