/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * verify.h - "moat verify": the isolation canary
 */
#ifndef MOAT_VERIFY_H
#define MOAT_VERIFY_H

#include "common.h"

int cmd_verify(int argc, char **argv);

#endif /* MOAT_VERIFY_H */
