/* iface_name.h - is a text an interface name, and nothing more?
 *
 * --iface NAME becomes part of DPDK's devargs ("net_af_packet0,iface=NAME,qpairs=N"), where
 * ',' starts another argument and '=' a value: "eth1,framecnt=7" would set the driver's
 * options. A name is what Linux's dev_valid_name() accepts (1 to IFNAMSIZ-1 bytes, not "."
 * or "..", no '/', ':' or white space), narrowed to printable ASCII without ',' or '='.
 */
#ifndef TW_IFACE_NAME_H
#define TW_IFACE_NAME_H

#include <stddef.h>

/* Returns 0 when name is such an interface name, or -1 with "--iface NAME: why" in err
 * (the name shown with its unprintable bytes as '?'). */
int tw_iface_name_check(const char *name, char *err, size_t errlen);

#endif
