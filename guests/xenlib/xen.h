/* xen.h - header-only helpers for the Xen hypercalls beyond console_io/sched_op (guests/lib
 * covers those): memory_op, vcpu_op, set_timer_op, shared_info/vcpu_info/vcpu_time_info, CSRs.
 * Layouts mirror packages/abi/src/{memory,vcpu}.ts. Programs add "-Iguests/xenlib" to their
 * guest.json cflags (no .c files here, so the build does not take this directory for a program). */
#ifndef TACHYXX_XENLIB_H
#define TACHYXX_XENLIB_H
#include "tachyxx.h"

#define __HYPERVISOR_memory_op    12
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_vcpu_op      24

#define SCHEDOP_poll 3

/* errno (public/errno.h) */
#define XEN_EPERM   1
#define XEN_ENOENT  2
#define XEN_ESRCH   3
#define XEN_EFAULT 14
#define XEN_EEXIST 17
#define XEN_EINVAL 22
#define XEN_ETIME  62

/* memory_op */
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_maximum_ram_page     2
#define XENMEM_current_reservation  3
#define XENMEM_maximum_reservation  4
#define XENMEM_populate_physmap     6
#define XENMEM_maximum_gpfn        14
#define DOMID_SELF    0x7ff0
#define DOMID_INVALID 0x7ff4

struct xen_memory_reservation {
	uint64_t extent_start; /* guest handle: xen_pfn_t[] */
	uint64_t nr_extents;
	uint32_t extent_order;
	uint32_t mem_flags;
	uint16_t domid;
};
_Static_assert(sizeof(struct xen_memory_reservation) == 32, "xen_memory_reservation layout");
_Static_assert(__builtin_offsetof(struct xen_memory_reservation, domid) == 24, "xen_memory_reservation layout");

/* vcpu_op */
#define VCPUOP_initialise             0
#define VCPUOP_up                     1
#define VCPUOP_down                   2
#define VCPUOP_is_up                  3
#define VCPUOP_get_runstate_info      4
#define VCPUOP_set_periodic_timer     6
#define VCPUOP_stop_periodic_timer    7
#define VCPUOP_set_singleshot_timer   8
#define VCPUOP_stop_singleshot_timer  9
#define VCPU_SSHOTTMR_future 1

struct vcpu_guest_context { /* Tachyxx arch layout (packages/abi/src/vcpu.ts VcpuGuestContext) */
	uint64_t pc, sp, a0, a1, satp, flags;
};
_Static_assert(sizeof(struct vcpu_guest_context) == 48, "vcpu_guest_context layout");

struct vcpu_runstate_info {
	uint32_t state;
	uint64_t state_entry_time;
	uint64_t time[4];
};
_Static_assert(sizeof(struct vcpu_runstate_info) == 48, "vcpu_runstate_info layout");

struct vcpu_set_singleshot_timer {
	uint64_t timeout_abs_ns;
	uint32_t flags;
};
_Static_assert(sizeof(struct vcpu_set_singleshot_timer) == 16, "vcpu_set_singleshot_timer layout");

struct vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
};
_Static_assert(sizeof(struct vcpu_time_info) == 32, "vcpu_time_info layout");

struct vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	struct vcpu_time_info time;
};
_Static_assert(sizeof(struct vcpu_info) == 48, "vcpu_info layout");

struct shared_info {
	struct vcpu_info vcpu_info[32];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version, wc_sec, wc_nsec, wc_sec_hi;
};
_Static_assert(__builtin_offsetof(struct shared_info, wc_version) == 32 * 48 + 1024, "shared_info layout");

static inline long HYPERVISOR_memory_op(unsigned long cmd, void *arg)
{
	return hypercall6(__HYPERVISOR_memory_op, (long)cmd, (long)arg, 0, 0, 0, 0);
}
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned long vcpuid, void *arg)
{
	return hypercall6(__HYPERVISOR_vcpu_op, cmd, (long)vcpuid, (long)arg, 0, 0, 0);
}
static inline long HYPERVISOR_set_timer_op(uint64_t timeout_ns)
{
	return hypercall6(__HYPERVISOR_set_timer_op, (long)timeout_ns, 0, 0, 0, 0, 0);
}

/* CSRs (docs/isa.md 2.2) */
#define CSR_SSTATUS  0x100
#define CSR_SIE      0x104
#define CSR_SIP      0x144
#define CSR_STIMECMP 0x14d
#define CSR_TIME     0xc01
#define SIE_STIE (1ul << 5)
#define SIE_SEIE (1ul << 9)
#define csr_read(csr) ({ uint64_t __v; __asm__ volatile("csrr %0, %1" : "=r"(__v) : "i"(csr) : "memory"); __v; })
#define csr_write(csr, v) __asm__ volatile("csrw %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")

static inline uint64_t read_time(void) { return csr_read(CSR_TIME); }

/* Guest RAM as boot ABI v1 describes it. */
#define GUEST_RAM_BASE 0x80000000ul
static inline uint64_t ram_bytes(void) { return boot_start_info ? boot_start_info->nr_pages << 12 : 0; }
static inline uint64_t ram_end(void) { return GUEST_RAM_BASE + ram_bytes(); }

/* The shared-info page (0 bare). */
static inline volatile struct shared_info *shared_info(void)
{
	return boot_start_info ? (volatile struct shared_info *)(uintptr_t)boot_start_info->shared_info : 0;
}

static inline const char *yesno(int b) { return b ? "yes" : "no"; }

#endif
