/*
 * sha256.h — SHA-256 (FIPS 180-4), used for snapshot and serial-file
 * checksums so that a truncated or bit-flipped snapshot is refused.
 */
#ifndef ENUMDR_SHA256_H
#define ENUMDR_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
	uint32_t state[8];
	uint64_t bytes;          /* total bytes hashed so far */
	uint8_t  block[64];      /* pending partial block */
	size_t   fill;           /* bytes used in block */
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(struct sha256_ctx *ctx, uint8_t digest[32]);
/* hex: 65 bytes (64 hex digits + NUL) */
void sha256_hex(const void *data, size_t len, char hex[65]);
/* Hash a whole file; size (optional) receives its length. */
int sha256_file(const char *path, char hex[65], uint64_t *size, char *err);

#endif
