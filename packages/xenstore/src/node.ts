import type { Perm } from './perms.js';

/** A node of the tree. Never mutated once stored: a change stores a new object. */
export interface XsNode {
  readonly value: Uint8Array;
  readonly perms: readonly Perm[];
  /** Child names in creation order (xenstored's order). */
  readonly children: readonly string[];
  /** Generation: bumped on every change of this node (value, perms or child list). */
  readonly gen: number;
}

/** calc_node_acc_size(): the size the node-size quota is checked against. */
export function nodeSize(value: Uint8Array, perms: readonly Perm[], children: readonly string[]): number {
  let childlen = 0;
  for (const c of children) childlen += c.length + 1;
  return 16 + 8 * perms.length + value.length + childlen;
}

/** Parent path ("/" for top-level nodes and for special "@" names). */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash > 0 ? path.slice(0, slash) : '/';
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** Is `child` the node `parent` or below it? ("/" is above everything but "@" names.) */
export function isChild(child: string, parent: string): boolean {
  if (!child.startsWith(parent)) return false;
  if (parent.length === 1) return parent === '/' ? child[0] === '/' : child === parent;
  return child.length === parent.length || child[parent.length] === '/';
}
