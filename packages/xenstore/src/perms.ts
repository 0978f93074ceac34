/**
 * Node permissions, xenstored's way: the first entry names the owner and gives the access of every
 * domain that no later entry names; later entries give one domain its access. The owner, dom0 (and
 * a connection whose target is the owner) have full access. Strings: "<n|r|w|b><domid>".
 */
import { XS_PERM } from '@tachyxx/abi';

export type PermBits = 0 | 1 | 2 | 3;
export interface Perm {
  id: number;
  /** XS_PERM_NONE 0, READ 1, WRITE 2, BOTH 3 */
  perm: PermBits;
}

export const PERM_READ = XS_PERM.READ;
export const PERM_WRITE = XS_PERM.WRITE;
/** Not on the wire: the owner's extra right (XS_PERM_OWNER), needed by SET_PERMS. */
export const PERM_OWNER = 8;

const LETTER = ['n', 'r', 'w', 'b'] as const;

export function permToString(p: Perm): string {
  return `${LETTER[p.perm]}${p.id}`;
}

/** "r5" -> {id 5, READ}; undefined for anything else (xenstored answers EINVAL). */
export function parsePerm(s: string): Perm | undefined {
  const m = /^([nrwb])(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const id = Number(m[2]);
  if (id > 0xffff) return undefined;
  return { id, perm: LETTER.indexOf(m[1] as (typeof LETTER)[number]) as PermBits };
}

/** Who is asking: a domain id, whether it is privileged (dom0), and the domain it acts for. */
export interface Asker {
  domid: number;
  privileged: boolean;
  target?: number;
}

/** perm_for_conn(): READ|WRITE|OWNER bits the asker has on a node with these perms. */
export function permFor(asker: Asker, perms: readonly Perm[]): number {
  const all = PERM_READ | PERM_WRITE | PERM_OWNER;
  const owner = perms[0]!;
  if (asker.privileged || owner.id === asker.domid || (asker.target !== undefined && owner.id === asker.target)) return all;
  for (let i = 1; i < perms.length; i++) {
    const p = perms[i]!;
    if (p.id === asker.domid || (asker.target !== undefined && p.id === asker.target)) return p.perm;
  }
  return owner.perm;
}
