// Shared by the hostile pv-blk tests: an attacker frontend next to a victim, each with its own
// 1 MiB disk, and the check that the victim's device still works.
import { BLKIF_OP_READ, BLKIF_OP_WRITE } from '@tachyxx/abi';
import { blkHost, guestDomain, tempDisk, TsBlkFrontend } from '../../packages/pv-blk/test/helpers.js';

export const MiB = 1024 * 1024;

export function attackerAndVictim(o: { persistent?: boolean } = {}) {
  const h = blkHost();
  const victimPath = tempDisk(MiB, (b) => b.fill(0x33));
  const attackerPath = tempDisk(MiB);
  const victim = guestDomain(h, 'victim');
  const attacker = guestDomain(h, 'attacker');
  const v = new TsBlkFrontend(h, victim).add({ target: victimPath });
  v.connect();
  const a = new TsBlkFrontend(h, attacker).add({ target: attackerPath });
  a.connect({ persistent: o.persistent });
  /** The victim's device still works: a write and a read round-trip. */
  const victimWorks = async () => {
    v.writeData(0, 0, new Uint8Array(512).fill(0x77));
    v.submit({ operation: BLKIF_OP_WRITE, sector_number: 5, segs: [[0, 0, 0]] }, { operation: BLKIF_OP_READ, sector_number: 5, segs: [[1, 0, 0]] });
    await h.advance();
    const r = v.take().map((x) => x.status);
    return r.length === 2 && r[0] === 0 && r[1] === 0 && v.readData(1, 0, 512).every((x) => x === 0x77);
  };
  return { h, v, a, victim, attacker, victimPath, attackerPath, victimWorks };
}
