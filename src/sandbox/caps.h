/* SPDX-License-Identifier: MIT */
/* Capability names ("CAP_NET_BIND_SERVICE" or "net_bind_service") to numbers. */
#ifndef ART_SANDBOX_CAPS_H
#define ART_SANDBOX_CAPS_H

#include <stdint.h>

/* Returns the capability number, or -EINVAL for an unknown name. */
int caps_from_name(const char *name);
/* "net_bind_service"; NULL for an unknown number. */
const char *caps_name(int cap);
/* The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap),
 * or the highest this table knows if that cannot be read. */
int caps_last_cap(void);

#endif
