/* xsclient - the xenstore ring from a domU (guests/xenlib/xenbus.h): start_info's store page and
 * port, XS_READ of our own name (relative and absolute paths), XS_WRITE, XS_WATCH (fires once on
 * registration, then on every change), XS_DIRECTORY, XS_RM and xenstored's error replies.
 * Prints only domain-independent lines (the domid is printed as "self"). */
#include "tachyxx.h"
#include "xenbus.h"

static void show(const char *what, long r, const char *value)
{
	if (r < 0) printf("%s -> %s\n", what, xenbus_strerror(r));
	else if (value) printf("%s -> \"%s\"\n", what, value);
	else printf("%s -> ok\n", what);
}

int main(void)
{
	if (xenbus_init() < 0) {
		printf("xsclient: no xenstore (bare or no store ring)\n");
		return 1;
	}
	printf("xsclient: store ring at RAM end + %lu, port %s\n",
	       (unsigned long)((boot_start_info->store_mfn << 12) - ram_end()), boot_start_info->store_evtchn ? "set" : "none");
	char buf[256], path[128], tok[32];
	long r = xenbus_read("domid", buf, sizeof buf);
	show("read domid (relative)", r < 0 ? r : 0, 0);
	long id = 0;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++) id = id * 10 + (*p - '0');
	snprintf(path, sizeof path, "/local/domain/%ld/name", id);
	r = xenbus_read(path, buf, sizeof buf);
	show("read /local/domain/self/name", r, buf);
	r = xenbus_read("vm", buf, sizeof buf);
	printf("read vm -> %s\n", r > 4 && !strncmp(buf, "/vm/", 4) ? "/vm/<uuid>" : xenbus_strerror(r));

	r = xenbus_write("data/greeting", "hello");
	show("write data/greeting", r, 0);
	r = xenbus_watch("data/greeting", "tok1");
	show("watch data/greeting", r, 0);
	xenbus_wait_watch(buf, sizeof buf, tok, sizeof tok);
	printf("event: %s token %s (registration)\n", buf, tok);
	r = xenbus_write("data/greeting", "hello again");
	show("write data/greeting", r, 0);
	xenbus_wait_watch(buf, sizeof buf, tok, sizeof tok);
	printf("event: %s token %s\n", buf, tok);
	r = xenbus_read("data/greeting", buf, sizeof buf);
	show("read data/greeting", r, buf);

	for (int i = 0; i < 3; i++) {
		char k[32], v[16];
		snprintf(k, sizeof k, "data/list/k%d", i);
		snprintf(v, sizeof v, "v%d", i * i);
		xenbus_write(k, v);
	}
	r = xenbus_directory("data/list", buf, sizeof buf);
	printf("directory data/list ->");
	for (long off = 0; r > 0 && off < r; off += strlen(buf + off) + 1) printf(" %s", buf + off);
	printf("\n");
	r = xenbus_rm("data/list/k1");
	show("rm data/list/k1", r, 0);
	r = xenbus_read("data/list/k1", buf, sizeof buf);
	show("read data/list/k1", r, buf);
	r = xenbus_write("/local/domain/0/evil", "x");
	show("write /local/domain/0/evil", r, 0);
	r = xenbus_write("name", "renamed");
	show("write name (dom0-owned)", r, 0);
	r = xenbus_read("/local/domain/0/name", buf, sizeof buf);
	show("read /local/domain/0/name", r, buf);
	r = xenbus_unwatch("data/greeting", "tok1");
	show("unwatch data/greeting", r, 0);
	r = xenbus_unwatch("data/greeting", "tok1");
	show("unwatch again", r, 0);
	/* a large value crosses the 1 KiB ring several times */
	static char big[2001];
	for (unsigned i = 0; i < sizeof big - 1; i++) big[i] = 'a' + i % 26;
	r = xenbus_write("data/big", big);
	show("write data/big (2000 bytes)", r, 0);
	static char back[2100];
	r = xenbus_read("data/big", back, sizeof back);
	printf("read data/big -> %ld bytes, %s\n", r, r == 2000 && !memcmp(back, big, 2000) ? "identical" : "DIFFERENT");
	printf("xsclient: upcalls %s, done\n", xen_upcalls > 0 ? "taken" : "none");
	return 0;
}
