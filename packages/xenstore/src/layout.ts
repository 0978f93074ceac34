/**
 * The standard layout a toolstack writes for a domain: /local/domain/<id> (readable by the domain,
 * owned by dom0) with name, domid and vm, the domain-writable data/ and control/ leaves, device/,
 * and /vm/<uuid>. Written by dom0 in one transaction.
 */
import { connectLocal, type XsClient } from './local.js';
import { domainPath, type Xenstored } from './xenstored.js';

export function vmPath(uuid: string): string {
  return `/vm/${uuid}`;
}

export interface DomainLayout {
  domid: number;
  name: string;
  uuid: string;
}

export function createDomainLayout(xs: Xenstored | XsClient, d: DomainLayout): string {
  const c = 'conn' in xs ? xs : connectLocal(xs, 0);
  const dom = domainPath(d.domid);
  const vm = vmPath(d.uuid);
  const ro = ['n0', `r${d.domid}`];
  const own = [`n${d.domid}`];
  c.transaction((tx) => {
    c.mkdir(dom, tx);
    c.setPerms(dom, ro, tx);
    c.write(`${dom}/name`, d.name, tx);
    c.write(`${dom}/domid`, String(d.domid), tx);
    c.write(`${dom}/vm`, vm, tx);
    for (const sub of ['device', 'control']) c.mkdir(`${dom}/${sub}`, tx);
    c.mkdir(`${dom}/data`, tx);
    c.setPerms(`${dom}/data`, own, tx);
    c.write(`${dom}/control/shutdown`, '', tx);
    c.setPerms(`${dom}/control/shutdown`, own, tx);
    c.mkdir(vm, tx);
    c.setPerms(vm, ro, tx);
    c.write(`${vm}/name`, d.name, tx);
    c.write(`${vm}/uuid`, d.uuid, tx);
  });
  if (!('conn' in xs)) c.conn.close();
  return dom;
}
