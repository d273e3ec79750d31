/*
 * rfc1982.c — RFC 1982 serial number arithmetic for 32-bit zone serials
 * (S0.1, S0.2).
 *
 * Comparison is done on the unsigned distance d = (b - a) mod 2^32 rather
 * than with the common (int32_t)(a - b) idiom: that idiom answers "less"
 * in both directions when the distance is exactly 2^31, where RFC 1982
 * section 3.2 says the order is undefined.  The sync treats "undefined" as
 * an outcome of its own, so it must be seen here.
 */
#include <assert.h>
#include <stdint.h>

#include "rfc1982.h"

#define RFC1982_HALF ((uint32_t)1 << 31)   /* 2^(SERIAL_BITS - 1) */

/* Order of a relative to b (RFC 1982 section 3.2). */
enum rfc1982_order
rfc1982_cmp(uint32_t a, uint32_t b)
{
	uint32_t d;

	if (a == b)
		return RFC1982_EQUAL;
	d = b - a;              /* how far b is ahead of a, mod 2^32 */
	if (d == RFC1982_HALF)
		return RFC1982_UNDEFINED;
	/* b ahead of a by less than 2^31: a is older. */
	return d < RFC1982_HALF ? RFC1982_LESS : RFC1982_GREATER;
}

/*
 * RFC 1982 section 3.1 addition.  n above 2^31 - 1 is a programming error:
 * the result would compare as older than s.  It asserts, and in an NDEBUG
 * build returns s unchanged rather than a serial that goes backwards.
 */
uint32_t
rfc1982_add(uint32_t s, uint32_t n)
{
	assert(n <= RFC1982_HALF - 1);
	if (n > RFC1982_HALF - 1)
		return s;
	return s + n;           /* unsigned: wraps mod 2^32 */
}

const char *
rfc1982_order_name(enum rfc1982_order o)
{
	switch (o) {
	case RFC1982_EQUAL:
		return "equal";
	case RFC1982_LESS:
		return "less";
	case RFC1982_GREATER:
		return "greater";
	case RFC1982_UNDEFINED:
		return "undefined";
	}
	return "unknown";
}
