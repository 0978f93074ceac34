/* io/xenbus.h - XenBus device states (xen/include/public/io/xenbus.h). Mirrors
 * packages/abi/src/io/xenbus.ts. (guests/xenlib/xenbus.h is the xenstore client.) */
#ifndef TACHYXX_XENLIB_IO_XENBUS_H
#define TACHYXX_XENLIB_IO_XENBUS_H

enum xenbus_state {
	XenbusStateUnknown       = 0,
	XenbusStateInitialising  = 1,
	XenbusStateInitWait      = 2, /* early init done, waiting for the peer or hotplug scripts */
	XenbusStateInitialised   = 3, /* waiting for a connection from the peer */
	XenbusStateConnected     = 4,
	XenbusStateClosing       = 5, /* closing after an error or an unplug event */
	XenbusStateClosed        = 6,
	XenbusStateReconfiguring = 7,
	XenbusStateReconfigured  = 8
};
typedef enum xenbus_state XenbusState;

static inline const char *xenbus_state_name(int s)
{
	static const char *const names[] = { "Unknown", "Initialising", "InitWait", "Initialised", "Connected",
					     "Closing", "Closed", "Reconfiguring", "Reconfigured" };
	return s >= 0 && s <= XenbusStateReconfigured ? names[s] : "?";
}

/* io/protocols.h: a frontend's "protocol" key. */
#define XEN_IO_PROTO_ABI_X86_32 "x86_32-abi"
#define XEN_IO_PROTO_ABI_X86_64 "x86_64-abi"
#define XEN_IO_PROTO_ABI_ARM    "arm-abi"

#endif
