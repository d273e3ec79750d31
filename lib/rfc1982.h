/*
 * rfc1982.h — RFC 1982 serial number arithmetic for 32-bit zone serials.
 *
 * Every zone has an SOA-style serial that moves by one per change (S0.1,
 * S0.2).  Comparison follows RFC 1982 section 3.2: when the distance between
 * two serials is exactly 2^31 the comparison is *undefined*, which the sync
 * treats as an outcome of its own (no silent import).
 */
#ifndef ENUMDR_RFC1982_H
#define ENUMDR_RFC1982_H

#include <stdint.h>

enum rfc1982_order {
	RFC1982_EQUAL,
	RFC1982_LESS,      /* a is older than b */
	RFC1982_GREATER,   /* a is newer than b */
	RFC1982_UNDEFINED  /* |a - b| == 2^31: RFC 1982 leaves it undefined */
};

/* Order of a relative to b. */
enum rfc1982_order rfc1982_cmp(uint32_t a, uint32_t b);

/* RFC 1982 addition: n must be in [0, 2^31 - 1]; returns (s + n) mod 2^32. */
uint32_t rfc1982_add(uint32_t s, uint32_t n);

const char *rfc1982_order_name(enum rfc1982_order o);

#endif
