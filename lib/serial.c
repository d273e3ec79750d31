/*
 * serial.c — RFC 1982 serial number arithmetic for 32-bit zone serials
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

#include "serial.h"

#define SERIAL_HALF ((uint32_t)1 << 31)   /* 2^(SERIAL_BITS - 1) */

/* Order of a relative to b (RFC 1982 section 3.2). */
enum serial_order
serial_cmp(uint32_t a, uint32_t b)
{
	uint32_t d;

	if (a == b)
		return SERIAL_EQUAL;
	d = b - a;              /* how far b is ahead of a, mod 2^32 */
	if (d == SERIAL_HALF)
		return SERIAL_UNDEFINED;
	/* b ahead of a by less than 2^31: a is older. */
	return d < SERIAL_HALF ? SERIAL_LESS : SERIAL_GREATER;
}

/*
 * RFC 1982 section 3.1 addition.  n above 2^31 - 1 is a programming error:
 * the result would compare as older than s.  It asserts, and in an NDEBUG
 * build returns s unchanged rather than a serial that goes backwards.
 */
uint32_t
serial_add(uint32_t s, uint32_t n)
{
	assert(n <= SERIAL_HALF - 1);
	if (n > SERIAL_HALF - 1)
		return s;
	return s + n;           /* unsigned: wraps mod 2^32 */
}

const char *
serial_order_name(enum serial_order o)
{
	switch (o) {
	case SERIAL_EQUAL:
		return "equal";
	case SERIAL_LESS:
		return "less";
	case SERIAL_GREATER:
		return "greater";
	case SERIAL_UNDEFINED:
		return "undefined";
	}
	return "unknown";
}
