/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * ct.h - forget a removed sandbox's connections in the host's conntrack
 */
#ifndef MOAT_CT_H
#define MOAT_CT_H

#include "addr.h"

int ct_forget_src(const struct prefix *src, size_t *n);

#endif /* MOAT_CT_H */
