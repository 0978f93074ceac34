/* io/echo.h - Tachyxx's xenbus self-test device (not a Xen protocol): the frontend puts requests
 * on a one-page ring, the backend answers each. Mirrors packages/xenbus/src/echo.ts.
 *   ECHO_OP_ECHO: value = ~request.value, status 0; any other op: status -EINVAL (-22). */
#ifndef TACHYXX_XENLIB_IO_ECHO_H
#define TACHYXX_XENLIB_IO_ECHO_H
#include <stdint.h>
#include "ring.h"

#define ECHO_OP_ECHO 0

struct echo_request {
	uint64_t id;
	uint32_t op;
	uint32_t value;
};

struct echo_response {
	uint64_t id;
	int32_t status;
	uint32_t value;
};

DEFINE_RING_TYPES(echo, struct echo_request, struct echo_response);

#endif
