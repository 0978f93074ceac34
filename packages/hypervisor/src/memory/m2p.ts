/**
 * The global M2P (machine-to-physical) table: for each machine frame, the guest frame number its
 * owner maps it at, or M2P_INVALID (Xen's INVALID_M2P_ENTRY). A Float64Array because a GFN can
 * have up to 41 bits. P2M map/unmap keep it up to date; freeing a frame clears its entry.
 */
export const M2P_INVALID = -1;

export class M2p {
  private readonly table: Float64Array;

  constructor(readonly baseMfn: number, readonly frames: number) {
    this.table = new Float64Array(frames).fill(M2P_INVALID);
  }

  /** GFN of `mfn`, or M2P_INVALID (also for an mfn outside RAM). */
  get(mfn: number): number {
    const f = mfn - this.baseMfn;
    return f >= 0 && f < this.frames ? this.table[f]! : M2P_INVALID;
  }

  /** Xen's set_gpfn_from_mfn. */
  set(mfn: number, gfn: number): void {
    const f = mfn - this.baseMfn;
    if (f >= 0 && f < this.frames) this.table[f] = gfn;
  }

  /** Clears entries [mfn, mfn+count). */
  clear(mfn: number, count = 1): void {
    const f = mfn - this.baseMfn;
    this.table.fill(M2P_INVALID, Math.max(0, f), Math.min(this.frames, f + count));
  }
}
