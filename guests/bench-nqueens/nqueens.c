/* bench-nqueens - branchy recursive search, two classic ones:
 * 1. N-queens: counts every placement of N non-attacking queens for N = 1..MAXN with the
 *    bitmask backtracking search (free columns and both diagonals as bitmasks, one recursive call
 *    per row), checked against the known counts (OEIS A000170), plus a fingerprint of the order
 *    in which the solutions are found.
 * 2. Sudoku: a backtracking solver with row / column / box candidate masks that fills the most
 *    constrained empty cell first, recursively, over a fixed set of puzzles; every solution is
 *    checked to be a valid grid that keeps the givens, and the search continues to prove it unique.
 * Prints the counts, the node counts and a checksum. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(MAXN) && !defined(SUDOKU_ROUNDS) && !defined(PUZZLES)
#ifdef SMALL
#define MAXN 9
#define SUDOKU_ROUNDS 2
#define PUZZLES 2
#else
#define MAXN 12
#define SUDOKU_ROUNDS 4
#define PUZZLES 10
#endif
#endif

/* ---- N-queens ------------------------------------------------------------------------------- */

struct nq { uint32_t all; uint64_t solutions, nodes, print; };

/* cols, ld, rd: attacked columns, by column and by the two diagonals, in this row. */
static NOINLINE void queens(struct nq *q, uint32_t cols, uint32_t ld, uint32_t rd, uint64_t path)
{
	q->nodes++;
	if (cols == q->all) {
		q->solutions++;
		q->print = (q->print ^ path) * 0x100000001B3ull;
		return;
	}
	uint32_t avail = q->all & ~(cols | ld | rd);
	while (avail) {
		uint32_t bit = avail & -avail;
		avail -= bit;
		queens(q, cols | bit, (ld | bit) << 1, (rd | bit) >> 1, path * 31 + bit);
	}
}

/* OEIS A000170 */
static const uint64_t known[] = { 1, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680, 14200, 73712, 365596 };

/* ---- sudoku --------------------------------------------------------------------------------- */

struct sudoku {
	uint8_t g[81];
	uint16_t row[9], col[9], box[9]; /* digits used, bit d for digit d (1..9) */
	uint8_t sol[81];
	uint32_t solutions;
	uint64_t nodes;
};

static inline int box_of(int i) { return i / 27 * 3 + i % 9 / 3; }

static inline int popcount9(uint32_t m)
{
	int n = 0;
	for (; m; m &= m - 1)
		n++;
	return n;
}

static NOINLINE void solve(struct sudoku *s)
{
	s->nodes++;
	/* the empty cell with the fewest candidates */
	int best = -1, bestn = 10;
	uint32_t bestm = 0;
	for (int i = 0; i < 81; i++) {
		if (s->g[i])
			continue;
		uint32_t m = ~(s->row[i / 9] | s->col[i % 9] | s->box[box_of(i)]) & 0x3fe;
		int n = popcount9(m);
		if (n < bestn) {
			best = i; bestn = n; bestm = m;
			if (n <= 1)
				break;
		}
	}
	if (best < 0) { /* full grid */
		if (s->solutions++ == 0)
			memcpy(s->sol, s->g, 81);
		return;
	}
	int r = best / 9, c = best % 9, b = box_of(best);
	for (int d = 1; d <= 9 && s->solutions < 2; d++) {
		uint32_t bit = 1u << d;
		if (!(bestm & bit))
			continue;
		s->g[best] = d;
		s->row[r] |= bit; s->col[c] |= bit; s->box[b] |= bit;
		solve(s);
		s->row[r] &= ~bit; s->col[c] &= ~bit; s->box[b] &= ~bit;
	}
	s->g[best] = 0;
}

/* Sets up s from 81 characters ('1'..'9' given, '.' empty); 0 if the givens already clash. */
static int load(struct sudoku *s, const char *p)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < 81; i++) {
		int d = p[i] == '.' ? 0 : p[i] - '0';
		if (!d)
			continue;
		uint32_t bit = 1u << d;
		if ((s->row[i / 9] | s->col[i % 9] | s->box[box_of(i)]) & bit)
			return 0;
		s->g[i] = d;
		s->row[i / 9] |= bit; s->col[i % 9] |= bit; s->box[box_of(i)] |= bit;
	}
	return 1;
}

/* A solved grid: every row, column and box holds 1..9, and the givens are kept. */
static int valid(const uint8_t *g, const char *p)
{
	for (int k = 0; k < 9; k++) {
		uint32_t r = 0, c = 0, b = 0;
		for (int j = 0; j < 9; j++) {
			r |= 1u << g[k * 9 + j];
			c |= 1u << g[j * 9 + k];
			b |= 1u << g[(k / 3 * 3 + j / 3) * 9 + k % 3 * 3 + j % 3];
		}
		if (r != 0x3fe || c != 0x3fe || b != 0x3fe)
			return 0;
	}
	for (int i = 0; i < 81; i++)
		if (p[i] != '.' && g[i] != p[i] - '0')
			return 0;
	return 1;
}

/* Well-known published puzzles with unique solutions (17-clue minimal ones and hard ones); the
 * last four take this solver 10 to 100 times more nodes than the first six. */
static const char *const puzzles[] = {
	"4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......",
	"52...6.........7.13...........4..8..6......5...........418.........3..2...87.....",
	"6.....8.3.4.7.................5.4.7.3..2.....1.6.......2.....5.....8.6......1....",
	"8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4..",
	"..53.....8......2..7..1.5..4....53...1..7...6..32...8..6.5....9..4....3......97..",
	"1....7.9..3..2...8..96..5....53..9...1..8...26....4...3......1..4......7..7...3..",
	".......1.4.........2...........5.4.7..8...3....1.9....3..4..2...5.1........8.6...",
	"48.3............71.2.......7.5....6....2..8.............1.76...3.....4......5....",
	"....14....3....2...7..........9...3.6.1.............8.2.....1.4....5.6.....7.8...",
	"..............3.85..1.2.......5.7.....4...1...9.......5......73..2.1........4...9",
};

_Static_assert(PUZZLES <= ARRAY_SIZE(puzzles), "PUZZLES: more than the list holds");

int main(void)
{
	uint64_t sum = 0;
	for (uint32_t n = 1; n <= MAXN; n++) {
		struct nq q = { .all = (1u << n) - 1 };
		queens(&q, 0, 0, 0, 0);
		if (n < ARRAY_SIZE(known) && q.solutions != known[n]) {
			printf("bench-nqueens: %u queens: %lu solutions, want %lu\n", n, q.solutions, known[n]);
			return 1;
		}
		printf("bench-nqueens: %2u queens: %6lu solutions, %8lu nodes, print=%016lx\n", n, q.solutions, q.nodes, q.print);
		sum = (sum << 7 | sum >> 57) ^ q.print ^ q.nodes;
	}
	static struct sudoku s;
	for (int round = 0; round < SUDOKU_ROUNDS; round++) {
		uint64_t nodes = 0, grids = 0;
		for (unsigned k = 0; k < PUZZLES; k++) {
			/* round r solves the puzzle mirrored left to right (r & 1), transposed (r & 2) and
			 * with its digits relabelled (d -> (d - 1 + r) % 9 + 1): a different search tree
			 * (the solver scans the cells in order), the solution transformed the same way */
			char p[82];
			for (int i = 0; i < 81; i++) {
				int rr = i / 9, cc = i % 9;
				if (round & 2) { int t = rr; rr = cc; cc = t; }
				if (round & 1) cc = 8 - cc;
				char ch = puzzles[k][rr * 9 + cc];
				p[i] = ch == '.' ? '.' : '1' + (ch - '1' + round) % 9;
			}
			p[81] = 0;
			if (!load(&s, p)) {
				printf("bench-nqueens: puzzle %u: the givens clash\n", k);
				return 1;
			}
			solve(&s);
			if (s.solutions != 1 || !valid(s.sol, p)) {
				printf("bench-nqueens: puzzle %u round %d: %u solutions%s\n", k, round, s.solutions, s.solutions ? ", first not valid" : "");
				return 1;
			}
			nodes += s.nodes;
			for (int i = 0; i < 81; i++)
				grids = grids * 10 + s.sol[i];
		}
		printf("bench-nqueens: sudoku round %d: %u puzzles solved, unique, %lu nodes, grids=%016lx\n", round, PUZZLES, nodes, grids);
		sum = (sum << 7 | sum >> 57) ^ nodes ^ grids;
	}
	printf("bench-nqueens: checksum=%016lx\n", sum);
	return 0;
}
