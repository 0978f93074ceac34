/* start_info.h - Xen's struct start_info (public/xen.h), 64-bit guest layout, as passed in a1 by
 * boot ABI v1. Mirrors packages/abi/src/boot.ts. */
#ifndef TACHYXX_START_INFO_H
#define TACHYXX_START_INFO_H
#include <stdint.h>

#define START_INFO_MAGIC "xen-3.0-tachyxx"
#define MAX_GUEST_CMDLINE 1024
#define SIF_PRIVILEGED (1u << 0)
#define SIF_INITDOMAIN (1u << 1)

struct start_info {
	char magic[32];            /*   0 */
	uint64_t nr_pages;         /*  32 */
	uint64_t shared_info;      /*  40 */
	uint32_t flags;            /*  48 */
	uint64_t store_mfn;        /*  56 */
	uint32_t store_evtchn;     /*  64 */
	uint64_t console_mfn;      /*  72 */
	uint32_t console_evtchn;   /*  80 */
	uint64_t pt_base;          /*  88 */
	uint64_t nr_pt_frames;     /*  96 */
	uint64_t mfn_list;         /* 104 */
	uint64_t mod_start;        /* 112 */
	uint64_t mod_len;          /* 120 */
	char cmd_line[MAX_GUEST_CMDLINE]; /* 128 */
	uint64_t first_p2m_pfn;    /* 1152 */
	uint64_t nr_p2m_frames;    /* 1160 */
};

_Static_assert(__builtin_offsetof(struct start_info, nr_pages) == 32, "start_info layout");
_Static_assert(__builtin_offsetof(struct start_info, flags) == 48, "start_info layout");
_Static_assert(__builtin_offsetof(struct start_info, console_evtchn) == 80, "start_info layout");
_Static_assert(__builtin_offsetof(struct start_info, cmd_line) == 128, "start_info layout");
_Static_assert(__builtin_offsetof(struct start_info, nr_p2m_frames) == 1160, "start_info layout");
_Static_assert(sizeof(struct start_info) == 1168, "start_info layout");

#endif
