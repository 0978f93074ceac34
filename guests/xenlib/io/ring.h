/* io/ring.h - Xen's shared I/O rings for Tachyxx guests (xen/include/public/io/ring.h, Xen 4.17;
 * MIT licence, Copyright (c) 2004 Tim Deegan and Andrew Warfield). Same names, same formulas:
 * DEFINE_RING_TYPES(name, req_t, rsp_t) declares union name_sring_entry, struct name_sring (a
 * 64-byte header, then ring[]), struct name_front_ring and struct name_back_ring. Indexes are
 * free-running unsigned ints that wrap at 2^32. Mirrors packages/abi/src/io/ring.ts;
 * tools/test/abi-headers.test.ts checks both against Xen's headers.
 *
 *     DEFINE_RING_TYPES(blkif, struct blkif_request, struct blkif_response);
 *     struct blkif_front_ring fr; XEN_FRONT_RING_INIT(&fr, (struct blkif_sring *)page, 4096);
 *     *RING_GET_REQUEST(&fr, fr.req_prod_pvt++) = req;
 *     RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify); if (notify) xen_evtchn_send(port);
 */
#ifndef TACHYXX_XENLIB_IO_RING_H
#define TACHYXX_XENLIB_IO_RING_H
#include <stddef.h>
#include <stdint.h>

/* Barriers (the OS provides them to Xen's header; RISC-V: fence rw,rw / r,r / w,w or stronger). */
#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

typedef unsigned int RING_IDX;

/* Round a 32-bit unsigned constant down to the nearest power of two. */
#define __RD2(_x)  (((_x) & 0x00000002) ? 0x2                  : ((_x) & 0x1))
#define __RD4(_x)  (((_x) & 0x0000000c) ? __RD2((_x)>>2)<<2    : __RD2(_x))
#define __RD8(_x)  (((_x) & 0x000000f0) ? __RD4((_x)>>4)<<4    : __RD4(_x))
#define __RD16(_x) (((_x) & 0x0000ff00) ? __RD8((_x)>>8)<<8    : __RD8(_x))
#define __RD32(_x) (((_x) & 0xffff0000) ? __RD16((_x)>>16)<<16 : __RD16(_x))

/* Entries in a ring of _sz bytes: a compile-time constant, and the same from a ring pointer. */
#define __CONST_RING_SIZE(_s, _sz) \
	(__RD32(((_sz) - offsetof(struct _s##_sring, ring)) / sizeof(((struct _s##_sring *)0)->ring[0])))
#define __RING_SIZE(_s, _sz) \
	(__RD32(((_sz) - (long)(_s)->ring + (long)(_s)) / sizeof((_s)->ring[0])))

#define DEFINE_RING_TYPES(__name, __req_t, __rsp_t)                     \
union __name##_sring_entry {                                            \
	__req_t req;                                                    \
	__rsp_t rsp;                                                    \
};                                                                      \
struct __name##_sring {                                                 \
	RING_IDX req_prod, req_event;                                   \
	RING_IDX rsp_prod, rsp_event;                                   \
	union {                                                         \
		struct { uint8_t smartpoll_active; } netif;             \
		struct { uint8_t msg; } tapif_user;                     \
		uint8_t pvt_pad[4];                                     \
	} pvt;                                                          \
	uint8_t __pad[44];                                              \
	union __name##_sring_entry ring[1]; /* variable-length */       \
};                                                                      \
struct __name##_front_ring {                                            \
	RING_IDX req_prod_pvt;                                          \
	RING_IDX rsp_cons;                                              \
	unsigned int nr_ents;                                           \
	struct __name##_sring *sring;                                   \
};                                                                      \
struct __name##_back_ring {                                             \
	RING_IDX rsp_prod_pvt;                                          \
	RING_IDX req_cons;                                              \
	unsigned int nr_ents;                                           \
	struct __name##_sring *sring;                                   \
};                                                                      \
typedef struct __name##_sring __name##_sring_t;                         \
typedef struct __name##_front_ring __name##_front_ring_t;               \
typedef struct __name##_back_ring __name##_back_ring_t

#define SHARED_RING_INIT(_s) do {                                       \
	(_s)->req_prod  = (_s)->rsp_prod  = 0;                          \
	(_s)->req_event = (_s)->rsp_event = 1;                          \
	(void)__builtin_memset((_s)->pvt.pvt_pad, 0, sizeof((_s)->pvt.pvt_pad)); \
	(void)__builtin_memset((_s)->__pad, 0, sizeof((_s)->__pad));    \
} while (0)

#define FRONT_RING_ATTACH(_r, _s, _i, __size) do {                      \
	(_r)->req_prod_pvt = (_i);                                      \
	(_r)->rsp_cons = (_i);                                          \
	(_r)->nr_ents = __RING_SIZE(_s, __size);                        \
	(_r)->sring = (_s);                                             \
} while (0)
#define FRONT_RING_INIT(_r, _s, __size) FRONT_RING_ATTACH(_r, _s, 0, __size)
#define XEN_FRONT_RING_INIT(r, s, size) do {                            \
	SHARED_RING_INIT(s);                                            \
	FRONT_RING_INIT(r, s, size);                                    \
} while (0)
#define BACK_RING_ATTACH(_r, _s, _i, __size) do {                       \
	(_r)->rsp_prod_pvt = (_i);                                      \
	(_r)->req_cons = (_i);                                          \
	(_r)->nr_ents = __RING_SIZE(_s, __size);                        \
	(_r)->sring = (_s);                                             \
} while (0)
#define BACK_RING_INIT(_r, _s, __size) BACK_RING_ATTACH(_r, _s, 0, __size)

#define RING_SIZE(_r) ((_r)->nr_ents)
#define RING_FREE_REQUESTS(_r) (RING_SIZE(_r) - ((_r)->req_prod_pvt - (_r)->rsp_cons))
#define RING_FULL(_r) (RING_FREE_REQUESTS(_r) == 0)
#define XEN_RING_NR_UNCONSUMED_RESPONSES(_r) ((_r)->sring->rsp_prod - (_r)->rsp_cons)
#define XEN_RING_NR_UNCONSUMED_REQUESTS(_r) ({                          \
	unsigned int req = (_r)->sring->req_prod - (_r)->req_cons;      \
	unsigned int rsp = RING_SIZE(_r) - ((_r)->req_cons - (_r)->rsp_prod_pvt); \
	req < rsp ? req : rsp;                                          \
})
#define RING_HAS_UNCONSUMED_RESPONSES(_r) XEN_RING_NR_UNCONSUMED_RESPONSES(_r)
#define RING_HAS_UNCONSUMED_REQUESTS(_r)  XEN_RING_NR_UNCONSUMED_REQUESTS(_r)

#define RING_GET_REQUEST(_r, _idx)  (&((_r)->sring->ring[((_idx) & (RING_SIZE(_r) - 1))].req))
#define RING_GET_RESPONSE(_r, _idx) (&((_r)->sring->ring[((_idx) & (RING_SIZE(_r) - 1))].rsp))
/* Copy out of the shared page before looking at a request/response (no double fetch). */
#define RING_COPY_(type, r, idx, dest) do {                             \
	*(dest) = *(volatile __typeof__(dest))RING_GET_##type(r, idx);  \
} while (0)
#define RING_COPY_REQUEST(r, idx, req)  RING_COPY_(REQUEST, r, idx, req)
#define RING_COPY_RESPONSE(r, idx, rsp) RING_COPY_(RESPONSE, r, idx, rsp)

#define RING_REQUEST_CONS_OVERFLOW(_r, _cons) (((_cons) - (_r)->rsp_prod_pvt) >= RING_SIZE(_r))
#define RING_REQUEST_PROD_OVERFLOW(_r, _prod) (((_prod) - (_r)->rsp_prod_pvt) > RING_SIZE(_r))
#define RING_RESPONSE_PROD_OVERFLOW(_r, _prod) (((_prod) - (_r)->rsp_cons) > RING_SIZE(_r))

#define RING_PUSH_REQUESTS(_r) do {                                     \
	xen_wmb(); /* back sees requests /before/ updated producer index */ \
	(_r)->sring->req_prod = (_r)->req_prod_pvt;                     \
} while (0)
#define RING_PUSH_RESPONSES(_r) do {                                    \
	xen_wmb(); /* front sees resps /before/ updated producer index */ \
	(_r)->sring->rsp_prod = (_r)->rsp_prod_pvt;                     \
} while (0)

/* Notify the peer iff its event index lies in (old, new]. */
#define RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(_r, _notify) do {           \
	RING_IDX __old = (_r)->sring->req_prod;                         \
	RING_IDX __new = (_r)->req_prod_pvt;                            \
	xen_wmb();                                                      \
	(_r)->sring->req_prod = __new;                                  \
	xen_mb();                                                       \
	(_notify) = ((RING_IDX)(__new - (_r)->sring->req_event) <       \
		     (RING_IDX)(__new - __old));                        \
} while (0)
#define RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(_r, _notify) do {          \
	RING_IDX __old = (_r)->sring->rsp_prod;                         \
	RING_IDX __new = (_r)->rsp_prod_pvt;                            \
	xen_wmb();                                                      \
	(_r)->sring->rsp_prod = __new;                                  \
	xen_mb();                                                       \
	(_notify) = ((RING_IDX)(__new - (_r)->sring->rsp_event) <       \
		     (RING_IDX)(__new - __old));                        \
} while (0)

/* No work left? Ask to be notified of the next one, then look once more (closes the race). */
#define RING_FINAL_CHECK_FOR_REQUESTS(_r, _work_to_do) do {             \
	(_work_to_do) = RING_HAS_UNCONSUMED_REQUESTS(_r);               \
	if (_work_to_do) break;                                         \
	(_r)->sring->req_event = (_r)->req_cons + 1;                    \
	xen_mb();                                                       \
	(_work_to_do) = RING_HAS_UNCONSUMED_REQUESTS(_r);               \
} while (0)
#define RING_FINAL_CHECK_FOR_RESPONSES(_r, _work_to_do) do {            \
	(_work_to_do) = RING_HAS_UNCONSUMED_RESPONSES(_r);              \
	if (_work_to_do) break;                                         \
	(_r)->sring->rsp_event = (_r)->rsp_cons + 1;                    \
	xen_mb();                                                       \
	(_work_to_do) = RING_HAS_UNCONSUMED_RESPONSES(_r);              \
} while (0)

#ifndef XEN_PAGE_SHIFT
#define XEN_PAGE_SHIFT 12
#endif
#define XEN_FLEX_RING_SIZE(order) (1UL << ((order) + XEN_PAGE_SHIFT - 1))

#endif
