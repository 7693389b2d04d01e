/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * conntrack.h - removing a sandbox instance's connection-tracking entries
 */
#ifndef MOAT_CONNTRACK_H
#define MOAT_CONNTRACK_H

#include <stdint.h>

int conntrack_flush_mark(uint32_t mark);

#endif /* MOAT_CONNTRACK_H */
