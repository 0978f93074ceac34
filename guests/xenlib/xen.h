/* xen.h - header-only helpers for the Xen hypercalls beyond console_io/sched_op (guests/lib
 * covers those): memory_op, vcpu_op, set_timer_op, shared_info/vcpu_info/vcpu_time_info, CSRs.
 * Layouts mirror packages/abi/src/{memory,vcpu}.ts. Programs add "-Iguests/xenlib" to their
 * guest.json cflags (no .c files here, so the build does not take this directory for a program). */
#ifndef TACHYXX_XENLIB_H
#define TACHYXX_XENLIB_H
#include "tachyxx.h"

#define __HYPERVISOR_memory_op    12
#define __HYPERVISOR_multicall    13
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_xen_version  17
#define __HYPERVISOR_vcpu_op      24
#define __HYPERVISOR_hvm_op       34

#define SCHEDOP_poll 3
#define SCHEDOP_watchdog 6

/* errno (public/errno.h) */
#define XEN_EPERM   1
#define XEN_ENOENT  2
#define XEN_ESRCH   3
#define XEN_EFAULT 14
#define XEN_EEXIST 17
#define XEN_ENXIO   6
#define XEN_EINVAL 22
#define XEN_ENOSPC 28
#define XEN_ETIME  62

/* memory_op */
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_maximum_ram_page     2
#define XENMEM_current_reservation  3
#define XENMEM_maximum_reservation  4
#define XENMEM_populate_physmap     6
#define XENMEM_add_to_physmap       7
#define XENMEM_maximum_gpfn        14
#define XENMEM_remove_from_physmap 15
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
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

struct xen_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};
struct xen_remove_from_physmap {
	uint16_t domid;
	uint64_t gpfn;
};

/* xen_version (public/version.h) */
#define XENVER_version      0
#define XENVER_extraversion 1
#define XENVER_compile_info 2
#define XENVER_capabilities 3
#define XENVER_changeset    4
#define XENVER_platform_parameters 5
#define XENVER_get_features 6
#define XENVER_pagesize     7
#define XENVER_guest_handle 8
#define XENVER_commandline  9
#define XENVER_build_id    10
struct xen_feature_info { uint32_t submap_idx; uint32_t submap; };
#define XENFEAT_auto_translated_physmap    2
#define XENFEAT_dom0                      11
#define XENFEAT_not_direct_mapped         16

/* hvm_op (public/hvm/hvm_op.h, params.h): how an Arm guest finds xenstore and its console */
#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVM_PARAM_CALLBACK_IRQ   0
#define HVM_PARAM_STORE_PFN      1
#define HVM_PARAM_STORE_EVTCHN   2
#define HVM_PARAM_CONSOLE_PFN   17
#define HVM_PARAM_CONSOLE_EVTCHN 18
struct xen_hvm_param { uint16_t domid; uint16_t pad; uint32_t index; uint64_t value; };

struct multicall_entry { uint64_t op, result; uint64_t args[6]; };
struct sched_watchdog { uint32_t id; uint32_t timeout; };

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
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_register_vcpu_info    10
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

/* As Xen on Arm: no evtchn_upcall_mask (byte 1 is pad0; mask the upcall with sstatus.SIE /
 * sie.SEIE), one vcpu_info slot in shared_info (vCPU 0's until it registers its own); every other
 * vCPU gets one only with VCPUOP_register_vcpu_info. */
#define XEN_LEGACY_MAX_VCPUS 1
struct vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t pad0;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	struct vcpu_time_info time;
};
_Static_assert(sizeof(struct vcpu_info) == 48, "vcpu_info layout");

struct shared_info {
	struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version, wc_sec, wc_nsec, wc_sec_hi;
};
_Static_assert(sizeof(struct shared_info) == 1088, "shared_info layout");

struct vcpu_register_vcpu_info {
	uint64_t mfn;    /* GFN of the page holding it */
	uint32_t offset; /* within that page, 8-byte aligned, the whole struct inside */
	uint32_t rsvd;
};
struct vcpu_register_runstate_memory_area { uint64_t addr; };

static inline long HYPERVISOR_memory_op(unsigned long cmd, void *arg)
{
	return hypercall6(__HYPERVISOR_memory_op, (long)cmd, (long)arg, 0, 0, 0, 0);
}
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned long vcpuid, void *arg)
{
	return hypercall6(__HYPERVISOR_vcpu_op, cmd, (long)vcpuid, (long)arg, 0, 0, 0);
}
static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
	return hypercall6(__HYPERVISOR_xen_version, cmd, (long)arg, 0, 0, 0, 0);
}
static inline long HYPERVISOR_hvm_op(int op, void *arg)
{
	return hypercall6(__HYPERVISOR_hvm_op, op, (long)arg, 0, 0, 0, 0);
}
static inline long HYPERVISOR_multicall(struct multicall_entry *calls, uint32_t n)
{
	return hypercall6(__HYPERVISOR_multicall, (long)calls, n, 0, 0, 0, 0);
}
/* HVMOP_get_param on this domain: the value, or -errno in *rc. */
static inline uint64_t xen_hvm_get_param(uint32_t index, long *rc)
{
	struct xen_hvm_param p = { 0x7ff0 /* DOMID_SELF */, 0, index, 0 };
	*rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
	return p.value;
}
/* Places this domain's shared-info page at guest frame `gfn` (XENMAPSPACE_shared_info). */
static inline long xen_map_shared_info(uint64_t gfn)
{
	struct xen_add_to_physmap x = { 0x7ff0, 0, XENMAPSPACE_shared_info, 0, gfn };
	return HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x);
}
/* VCPUOP_register_vcpu_info for vCPU `id` at guest-physical `vi` (translation off: a pointer). */
static inline long xen_register_vcpu_info(unsigned long id, volatile void *vi)
{
	struct vcpu_register_vcpu_info r = { (uintptr_t)vi >> 12, (uint32_t)((uintptr_t)vi & 4095), 0 };
	return HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, id, &r);
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
