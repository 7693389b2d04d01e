/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * nftx.h - a sandbox's objects in one libnftnl transaction
 */
#ifndef MOAT_NFTX_H
#define MOAT_NFTX_H

#include "nft.h"

int nftx_sandbox_add(const char *run_dir, const struct nft_base *b,
		     const struct nft_sandbox *s, const char *text);
void nftx_scratch_remove(const char *run_dir);

#endif
