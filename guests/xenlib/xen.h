/* xen.h - header-only helpers for the Xen hypercalls beyond console_io/sched_op (guests/lib
 * covers those): memory_op, vcpu_op, set_timer_op, shared_info/vcpu_info/vcpu_time_info, CSRs.
 * Layouts mirror packages/abi/src/{memory,vcpu}.ts. Programs add "-Iguests/xenlib" to their
 * guest.json cflags (no .c files here, so the build does not take this directory for a program). */
#ifndef TACHYXX_XENLIB_H
#define TACHYXX_XENLIB_H
#include "tachyxx.h"

/* hypercall numbers (public/xen.h; console_io and sched_op are in guests/lib/hypercall.h) */
#define __HYPERVISOR_set_trap_table                0
#define __HYPERVISOR_mmu_update                    1
#define __HYPERVISOR_set_gdt                       2
#define __HYPERVISOR_stack_switch                  3
#define __HYPERVISOR_set_callbacks                 4
#define __HYPERVISOR_fpu_taskswitch                5
#define __HYPERVISOR_sched_op_compat               6
#define __HYPERVISOR_platform_op                   7
#define __HYPERVISOR_set_debugreg                  8
#define __HYPERVISOR_get_debugreg                  9
#define __HYPERVISOR_update_descriptor            10
#define __HYPERVISOR_memory_op                    12
#define __HYPERVISOR_multicall                    13
#define __HYPERVISOR_update_va_mapping            14
#define __HYPERVISOR_set_timer_op                 15
#define __HYPERVISOR_event_channel_op_compat      16
#define __HYPERVISOR_xen_version                  17
#define __HYPERVISOR_physdev_op_compat            19
#define __HYPERVISOR_grant_table_op               20
#define __HYPERVISOR_vm_assist                    21
#define __HYPERVISOR_update_va_mapping_otherdomain 22
#define __HYPERVISOR_iret                         23
#define __HYPERVISOR_vcpu_op                      24
#define __HYPERVISOR_set_segment_base             25
#define __HYPERVISOR_mmuext_op                    26
#define __HYPERVISOR_xsm_op                       27
#define __HYPERVISOR_nmi_op                       28
#define __HYPERVISOR_callback_op                  30
#define __HYPERVISOR_xenoprof_op                  31
#define __HYPERVISOR_event_channel_op             32
#define __HYPERVISOR_physdev_op                   33
#define __HYPERVISOR_hvm_op                       34
#define __HYPERVISOR_sysctl                       35
#define __HYPERVISOR_domctl                       36
#define __HYPERVISOR_kexec_op                     37
#define __HYPERVISOR_tmem_op                      38
#define __HYPERVISOR_argo_op                      39
#define __HYPERVISOR_xenpmu_op                    40
#define __HYPERVISOR_dm_op                        41
#define __HYPERVISOR_hypfs_op                     42

/* errno (public/errno.h; XEN_ENOSYS is in guests/lib/hypercall.h; EINTR and ERESTART are Xen-internal) */
#define XEN_EPERM            1
#define XEN_ENOENT           2
#define XEN_ESRCH            3
#define XEN_EIO              5
#define XEN_ENXIO            6
#define XEN_E2BIG            7
#define XEN_ENOEXEC          8
#define XEN_EBADF            9
#define XEN_ECHILD          10
#define XEN_EAGAIN          11
#define XEN_EWOULDBLOCK     11
#define XEN_ENOMEM          12
#define XEN_EACCES          13
#define XEN_EFAULT          14
#define XEN_EBUSY           16
#define XEN_EEXIST          17
#define XEN_EXDEV           18
#define XEN_ENODEV          19
#define XEN_EISDIR          21
#define XEN_EINVAL          22
#define XEN_ENFILE          23
#define XEN_EMFILE          24
#define XEN_ENOSPC          28
#define XEN_EROFS           30
#define XEN_EMLINK          31
#define XEN_EDOM            33
#define XEN_ERANGE          34
#define XEN_EDEADLK         35
#define XEN_EDEADLOCK       35
#define XEN_ENAMETOOLONG    36
#define XEN_ENOLCK          37
#define XEN_ENOTEMPTY       39
#define XEN_ENODATA         61
#define XEN_ETIME           62
#define XEN_EBADMSG         74
#define XEN_EOVERFLOW       75
#define XEN_EILSEQ          84
#define XEN_ENOTSOCK        88
#define XEN_EMSGSIZE        90
#define XEN_EOPNOTSUPP      95
#define XEN_EADDRINUSE      98
#define XEN_EADDRNOTAVAIL   99
#define XEN_ENOBUFS        105
#define XEN_EISCONN        106
#define XEN_ENOTCONN       107
#define XEN_ETIMEDOUT      110
#define XEN_ECONNREFUSED   111

/* VIRQs (public/xen.h) */
#define VIRQ_TIMER       0
#define VIRQ_DEBUG       1
#define VIRQ_CONSOLE     2
#define VIRQ_DOM_EXC     3
#define VIRQ_TBUF        4
#define VIRQ_DEBUGGER    6
#define VIRQ_XENOPROF    7
#define VIRQ_CON_RING    8
#define VIRQ_PCPU_STATE  9
#define VIRQ_MEM_EVENT  10
#define VIRQ_ARGO       11
#define VIRQ_ENOMEM     12
#define VIRQ_XENPMU     13
#define VIRQ_ARCH_0     16
#define NR_VIRQS        24

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
#define XENMEM_machphys_mfn_list    5
#define XENMEM_memory_map           9
#define XENMEM_machine_memory_map  10
#define XENMEM_exchange            11
#define XENMEM_access_op           21
#define XENMEM_claim_pages         24
#define XENMEM_get_vnumainfo       26
#define XENMEMF_populate_on_demand (1 << 16)
#define XENMEMF_exact_node_request (1 << 17)
#define XENMEMF_vnode              (1 << 18)
#define XENMAPSPACE_shared_info  0
#define XENMAPSPACE_grant_table  1
#define XENMAPSPACE_gmfn         2
#define XENMAPSPACE_gmfn_range   3
#define XENMAPSPACE_gmfn_foreign 4
#define XENMAPSPACE_dev_mmio     5
#define XENMAPIDX_grant_table_status 0x80000000u

/* domain ids (public/xen.h) */
#define DOMID_FIRST_RESERVED 0x7ff0
#define DOMID_SELF           0x7ff0
#define DOMID_IO             0x7ff1
#define DOMID_XEN            0x7ff2
#define DOMID_COW            0x7ff3
#define DOMID_INVALID        0x7ff4
#define DOMID_IDLE           0x7fff
#define DOMID_MASK           0x7fff

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
typedef char xen_extraversion_t[16];
typedef char xen_capabilities_info_t[1024];
typedef char xen_changeset_info_t[64];
typedef char xen_commandline_t[1024];
#define XEN_EXTRAVERSION_LEN      (sizeof(xen_extraversion_t))
#define XEN_CAPABILITIES_INFO_LEN (sizeof(xen_capabilities_info_t))
#define XEN_CHANGESET_INFO_LEN    (sizeof(xen_changeset_info_t))
typedef uint8_t xen_domain_handle_t[16]; /* XENVER_guest_handle */
struct xen_compile_info {
	char compiler[64];
	char compile_by[16];
	char compile_domain[32];
	char compile_date[32];
};
struct xen_platform_parameters { uint64_t virt_start; }; /* xen_ulong_t on Arm: 64 bits */
struct xen_feature_info { uint32_t submap_idx; uint32_t submap; };
struct xen_build_id {
	uint32_t len;          /* IN: size of buf[] */
	unsigned char buf[];   /* OUT */
};
/* XENVER_get_features submap 0 (public/features.h) */
#define XENFEAT_writable_page_tables        0
#define XENFEAT_writable_descriptor_tables  1
#define XENFEAT_auto_translated_physmap     2
#define XENFEAT_supervisor_mode_kernel      3
#define XENFEAT_pae_pgdir_above_4gb         4
#define XENFEAT_mmu_pt_update_preserve_ad   5
#define XENFEAT_highmem_assist              6
#define XENFEAT_gnttab_map_avail_bits       7
#define XENFEAT_hvm_callback_vector         8
#define XENFEAT_hvm_safe_pvclock            9
#define XENFEAT_hvm_pirqs                  10
#define XENFEAT_dom0                       11
/* 12 (grant_map_identity) is deprecated: commented out in Xen's features.h */
#define XENFEAT_memory_op_vnode_supported  13
#define XENFEAT_ARM_SMCCC_supported        14
#define XENFEAT_linux_rsdp_unrestricted    15
#define XENFEAT_not_direct_mapped          16
#define XENFEAT_direct_mapped              17
#define XENFEAT_NR_SUBMAPS                  1

/* hvm_op (public/hvm/hvm_op.h, params.h): how an Arm guest finds xenstore and its console */
#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVMOP_guest_request_vm_event 24
#define HVM_PARAM_CALLBACK_IRQ   0
#define HVM_PARAM_CALLBACK_TYPE_PPI 2 /* Tachyxx: the PL2 external interrupt, code 9 */
#define HVM_PARAM_STORE_PFN      1
#define HVM_PARAM_STORE_EVTCHN   2
#define HVM_PARAM_CONSOLE_PFN   17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define HVM_PARAM_MONITOR_RING_PFN 28
#define HVM_NR_PARAMS 39
struct xen_hvm_param { uint16_t domid; uint16_t pad; uint32_t index; uint64_t value; };

struct multicall_entry { uint64_t op, result; uint64_t args[6]; };

/* sched_op arguments (public/sched.h; struct sched_shutdown is in guests/lib/hypercall.h) */
struct sched_poll {
	uint64_t ports;    /* guest handle: evtchn_port_t[nr_ports] */
	uint32_t nr_ports;
	uint64_t timeout;  /* absolute system time (ns); 0 = none */
};
struct sched_remote_shutdown { uint16_t domain_id; uint32_t reason; };
struct sched_watchdog { uint32_t id; uint32_t timeout; };
struct sched_pin_override { int32_t pcpu; };

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
#define VCPUOP_send_nmi              11
#define VCPUOP_get_physid            12
#define VCPUOP_register_vcpu_time_memory_area 13
#define VCPU_SSHOTTMR_future 1
#define RUNSTATE_running  0
#define RUNSTATE_runnable 1
#define RUNSTATE_blocked  2
#define RUNSTATE_offline  3

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

struct vcpu_set_periodic_timer { uint64_t period_ns; };

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
