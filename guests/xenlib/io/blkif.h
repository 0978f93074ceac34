/* io/blkif.h - the PV block protocol (xen/include/public/io/blkif.h, Xen 4.17), 64-bit layout:
 * blkif_request is 112 bytes (seg[] at 24), 32 per 4 KiB ring. Mirrors
 * packages/abi/src/io/blkif.ts (xenstore key names are there). */
#ifndef TACHYXX_XENLIB_IO_BLKIF_H
#define TACHYXX_XENLIB_IO_BLKIF_H
#include "ring.h"

typedef uint32_t grant_ref_t;
#ifndef blkif_vdev_t
#define blkif_vdev_t uint16_t
#endif
#define blkif_sector_t uint64_t

#define BLKIF_OP_READ            0
#define BLKIF_OP_WRITE           1
#define BLKIF_OP_WRITE_BARRIER   2
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_RESERVED_1      4
#define BLKIF_OP_DISCARD         5
#define BLKIF_OP_INDIRECT        6

#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8

struct blkif_request_segment {
	grant_ref_t gref;                /* reference to I/O buffer frame */
	uint8_t first_sect, last_sect;   /* inclusive, in sectors */
};

struct blkif_request {
	uint8_t operation;               /* BLKIF_OP_* */
	uint8_t nr_segments;
	blkif_vdev_t handle;
	uint64_t id;                     /* echoed in the response */
	blkif_sector_t sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
typedef struct blkif_request blkif_request_t;

struct blkif_request_discard {
	uint8_t operation;               /* BLKIF_OP_DISCARD */
	uint8_t flag;                    /* BLKIF_DISCARD_SECURE or zero */
#define BLKIF_DISCARD_SECURE (1 << 0)
	blkif_vdev_t handle;
	uint64_t id;
	blkif_sector_t sector_number;
	uint64_t nr_sectors;
};
typedef struct blkif_request_discard blkif_request_discard_t;

struct blkif_request_indirect {
	uint8_t operation;               /* BLKIF_OP_INDIRECT */
	uint8_t indirect_op;             /* BLKIF_OP_READ / WRITE */
	uint16_t nr_segments;
	uint64_t id;
	blkif_sector_t sector_number;
	blkif_vdev_t handle;
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};
typedef struct blkif_request_indirect blkif_request_indirect_t;

struct blkif_response {
	uint64_t id;
	uint8_t operation;
	int16_t status;                  /* BLKIF_RSP_* */
};
typedef struct blkif_response blkif_response_t;

#define BLKIF_RSP_EOPNOTSUPP -2
#define BLKIF_RSP_ERROR      -1
#define BLKIF_RSP_OKAY        0

DEFINE_RING_TYPES(blkif, struct blkif_request, struct blkif_response);

#define VDISK_CDROM     0x1
#define VDISK_REMOVABLE 0x2
#define VDISK_READONLY  0x4

/* Linux's names: segments per indirect page (512), requests per one-page ring (32). */
#define SEGS_PER_INDIRECT_FRAME (4096 / sizeof(struct blkif_request_segment))
#define XEN_BLKIF_REQS_PER_PAGE __CONST_RING_SIZE(blkif, 4096)

#endif
