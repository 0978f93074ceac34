/* io/console.h - the PV console ring page (xen/include/public/io/console.h). Mirrors
 * packages/abi/src/io/console.ts; guests/xenlib/console.h is the driver. */
#ifndef TACHYXX_XENLIB_IO_CONSOLE_H
#define TACHYXX_XENLIB_IO_CONSOLE_H
#include <stdint.h>

typedef uint32_t XENCONS_RING_IDX;
#define MASK_XENCONS_IDX(idx, ring) ((idx) & (sizeof(ring) - 1))
struct xencons_interface {
	char in[1024];
	char out[2048];
	XENCONS_RING_IDX in_cons, in_prod;
	XENCONS_RING_IDX out_cons, out_prod;
};

#endif
