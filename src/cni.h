/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * cni.h - moat as a CNI plugin
 */
#ifndef MOAT_CNI_H
#define MOAT_CNI_H

int cni_main(void);

#endif /* MOAT_CNI_H */
