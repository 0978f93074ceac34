// The grant-table window of a translated guest's physmap (abi's GNTTAB_GUEST_BASE/SIZE) in frames.
import { GNTTAB_GUEST_BASE, GNTTAB_GUEST_SIZE, PAGE_SIZE } from '@tachyxx/abi';

/** GFN of grant-table frame 0. */
export const GNTTAB_GUEST_BASE_GFN = GNTTAB_GUEST_BASE / PAGE_SIZE;
/** Most grant-table frames a domain can have (the window's size). */
export const GNTTAB_GUEST_FRAMES = GNTTAB_GUEST_SIZE / PAGE_SIZE;
