/* blkext2 - reads a file from an ext2 file system on its disk xvda (made on the host by mkfs.ext2,
 * the file put there by debugfs: tools/hostile/pvblk-guest.test.ts), through xenlib's blkfront.h:
 * the superblock (magic 0xEF53, block size, inodes per group, inode size), group 0's descriptor,
 * the root directory (inode 2), the entry "hello.txt", its inode, and its data through the 12
 * direct and the single-indirect block pointers. Prints the file's size, its first line and its
 * FNV-1a 32 hash: `blkext2: hello.txt <size> bytes, fnv1a <hash>, first line: <line>`, then
 * `blkext2: ok`; anything unexpected is `blkext2: FAIL ...` and a crash. */
#include "blkfront.h"

#define XVDA 51712
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES
#define DATA_REF (RING_REF + 1)

static uint8_t ring[4096] __attribute__((aligned(4096)));
static uint8_t page[4096] __attribute__((aligned(4096)));
static uint8_t blk[4096], dirblk[4096], ind[4096];
static struct blkfront b;
static uint32_t bsize;

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Reads `len` bytes (a multiple of 512, at most 4096) at byte offset `off` (512-aligned) into `out`. */
static int disk_read(uint64_t off, uint32_t len, uint8_t *out)
{
	struct blkif_request_segment seg = { DATA_REF, 0, (uint8_t)(len / 512 - 1) };
	long st = blkfront_rw(&b, BLKIF_OP_READ, off / 512, 1, &seg);
	if (st != BLKIF_RSP_OKAY) { printf("blkext2: FAIL read of %u bytes at %lu -> %ld\n", len, (unsigned long)off, st); return -1; }
	memcpy(out, page, len);
	return 0;
}

static int read_block(uint32_t n, uint8_t *out) { return disk_read((uint64_t)n * bsize, bsize, out); }

int main(void)
{
	if (xenbus_init() < 0) { printf("blkext2: FAIL no xenstore\n"); return 1; }
	if (blkfront_open(&b, XVDA, ring, 1, RING_REF) < 0) { printf("blkext2: FAIL no disk xvda\n"); return 1; }
	xen_gnttab_grant(DATA_REF, b.fe.backend_id, (uintptr_t)page >> 12, 0);
	uint8_t sb[1024];
	if (disk_read(1024, 1024, sb) < 0) return 1;
	if (le16(sb + 56) != 0xEF53) { printf("blkext2: FAIL no ext2 superblock (magic %04x)\n", le16(sb + 56)); return 1; }
	bsize = 1024u << le32(sb + 24);
	uint32_t ipg = le32(sb + 40), rev = le32(sb + 76);
	uint32_t isize = rev >= 1 ? le16(sb + 88) : 128;
	if (bsize > 4096 || isize > bsize) { printf("blkext2: FAIL block size %u, inode size %u\n", bsize, isize); return 1; }
	printf("blkext2: ext2 rev %u, %u-byte blocks, %u inodes per group, %u-byte inodes, %u blocks\n", rev, bsize, ipg, isize, le32(sb + 4));
	/* Group descriptors start in the block after the superblock's. */
	uint32_t gdt = bsize == 1024 ? 2 : 1;
	if (read_block(gdt, blk) < 0) return 1;
	uint32_t itable = le32(blk + 8);
	/* Inode n (1-based) of group 0 at itable + (n-1)*isize. */
	uint8_t inode[256];
#define READ_INODE(n) do { uint64_t o = (uint64_t)itable * bsize + (uint64_t)((n) - 1) * isize; \
	if (disk_read(o & ~511ull, 512, blk) < 0) return 1; memcpy(inode, blk + (o & 511), isize > 256 ? 256 : isize); } while (0)
	READ_INODE(2);
	uint32_t dsize = le32(inode + 4);
	uint32_t target = 0;
	for (uint32_t i = 0; i < 12 && i * bsize < dsize && !target; i++) {
		uint32_t bn = le32(inode + 40 + 4 * i);
		if (!bn || read_block(bn, dirblk) < 0) break;
		for (uint32_t o = 0; o + 8 <= bsize;) {
			uint32_t ino = le32(dirblk + o);
			uint16_t rec = le16(dirblk + o + 4);
			uint8_t nl = dirblk[o + 6];
			if (rec < 8 || o + rec > bsize) break;
			if (ino && nl == 9 && memcmp(dirblk + o + 8, "hello.txt", 9) == 0) { target = ino; break; }
			o += rec;
		}
	}
	if (!target) { printf("blkext2: FAIL no hello.txt in the root directory\n"); return 1; }
	if ((target - 1) / ipg != 0) { printf("blkext2: FAIL inode %u is not in group 0\n", target); return 1; }
	READ_INODE(target);
	uint32_t size = le32(inode + 4);
	static uint32_t ptrs[12 + 1024];
	uint32_t nptr = 0;
	for (uint32_t i = 0; i < 12; i++) ptrs[nptr++] = le32(inode + 40 + 4 * i);
	uint32_t indirect = le32(inode + 40 + 48);
	if (indirect) {
		if (read_block(indirect, ind) < 0) return 1;
		for (uint32_t i = 0; i < bsize / 4; i++) ptrs[nptr++] = le32(ind + 4 * i);
	}
	if ((uint64_t)nptr * bsize < size) { printf("blkext2: FAIL %u bytes need double-indirect blocks\n", size); return 1; }
	uint32_t h = 2166136261u, done = 0;
	char line[81];
	unsigned ll = 0;
	int in_first = 1;
	for (uint32_t i = 0; done < size; i++) {
		uint32_t n = size - done < bsize ? size - done : bsize;
		if (ptrs[i] == 0) { for (uint32_t k = 0; k < bsize; k++) blk[k] = 0; } /* a hole */
		else if (read_block(ptrs[i], blk) < 0) return 1;
		for (uint32_t k = 0; k < n; k++) {
			h = (h ^ blk[k]) * 16777619u;
			if (in_first) { if (blk[k] == '\n' || ll == 80) in_first = 0; else line[ll++] = (char)blk[k]; }
		}
		done += n;
	}
	line[ll] = 0;
	printf("blkext2: hello.txt %u bytes, fnv1a %08x, first line: %s\n", size, h, line);
	long c = blkfront_close(&b);
	xen_gnttab_end_access(DATA_REF);
	printf(c == 0 ? "blkext2: ok\n" : "blkext2: FAIL close -> %ld\n", c);
	return c != 0;
}
