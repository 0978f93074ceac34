/* ping-vf over an SR-IOV VF: the unchanged ping program built with NETAPP_SRIOV_VF (netapp.h picks the
 * VF driver, guests/xenlib/net/sriovvf.c, instead of netfront). */
#include "../ping/ping.c"
