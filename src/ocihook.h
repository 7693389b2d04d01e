/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * ocihook.h - "moat oci-hook", a container runtime's OCI hook, and "moat
 * oci-runtime", a runc wrapper that adds it (Docker)
 */
#ifndef MOAT_OCIHOOK_H
#define MOAT_OCIHOOK_H

int cmd_oci_hook(int argc, char **argv);
int cmd_oci_runtime(int argc, char **argv);

#endif /* MOAT_OCIHOOK_H */
