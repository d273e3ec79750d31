/*
 * sha256.c — SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2,
 * 5.1.1, 5.3.3, 6.2), written from the standard.  Used for the snapshot
 * and serial-file checksums (S0.1, S1.2), so that a truncated or
 * bit-flipped snapshot is refused before it reaches the live database.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "util.h"

#define SHA256_FILE_BUF (64 * 1024)

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots
 * of the first 64 primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

/* FIPS 180-4 5.3.3: first 32 bits of the fractional parts of the square
 * roots of the first 8 primes. */
static const uint32_t sha256_h0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

static uint32_t
rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t
load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2: process one 512-bit block into the hash state. */
static void
sha256_block(uint32_t h[8], const uint8_t block[64])
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2, s0, s1;
	int t;

	for (t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (t = 16; t < 64; t++) {
		/* sigma0 and sigma1 (4.1.2, formulas 4.6 and 4.7) */
		s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = s1 + w[t - 7] + s0 + w[t - 16];
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (t = 0; t < 64; t++) {
		/* Sigma1(e) + Ch(e,f,g), Sigma0(a) + Maj(a,b,c) (4.2 - 4.5) */
		t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
		    ((e & f) ^ (~e & g)) + sha256_k[t] + w[t];
		t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void
sha256_init(struct sha256_ctx *ctx)
{
	memcpy(ctx->state, sha256_h0, sizeof(ctx->state));
	ctx->bytes = 0;
	ctx->fill = 0;
}

void
sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	ctx->bytes += len;
	if (ctx->fill > 0) {
		n = 64 - ctx->fill;
		if (n > len)
			n = len;
		memcpy(ctx->block + ctx->fill, p, n);
		ctx->fill += n;
		p += n;
		len -= n;
		if (ctx->fill < 64)
			return;
		sha256_block(ctx->state, ctx->block);
		ctx->fill = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		sha256_block(ctx->state, p);
	if (len > 0) {
		memcpy(ctx->block, p, len);
		ctx->fill = len;
	}
}

/* FIPS 180-4 5.1.1 padding: a 1 bit, zeros, then the 64-bit bit length. */
void
sha256_final(struct sha256_ctx *ctx, uint8_t digest[32])
{
	uint64_t bits = ctx->bytes * 8;
	int i;

	ctx->block[ctx->fill++] = 0x80;
	if (ctx->fill > 56) {
		memset(ctx->block + ctx->fill, 0, 64 - ctx->fill);
		sha256_block(ctx->state, ctx->block);
		ctx->fill = 0;
	}
	memset(ctx->block + ctx->fill, 0, 56 - ctx->fill);
	for (i = 0; i < 8; i++)
		ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_block(ctx->state, ctx->block);
	for (i = 0; i < 8; i++)
		store_be32(digest + 4 * i, ctx->state[i]);
	memset(ctx, 0, sizeof(*ctx));
}

/* Lowercase hex of a 32-byte digest. */
static void
digest_hex(const uint8_t digest[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0xf];
	}
	hex[64] = '\0';
}

void
sha256_hex(const void *data, size_t len, char hex[65])
{
	struct sha256_ctx ctx;
	uint8_t digest[32];

	sha256_init(&ctx);
	sha256_update(&ctx, data, len);
	sha256_final(&ctx, digest);
	digest_hex(digest, hex);
}

/* Hash path in 64 KiB reads; size (optional) receives the bytes hashed. */
int
sha256_file(const char *path, char hex[65], uint64_t *size, char *err)
{
	struct sha256_ctx ctx;
	uint8_t digest[32], *buf;
	ssize_t r;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		errf_errno(err, "open %s", path);
		return -1;
	}
	if ((buf = malloc(SHA256_FILE_BUF)) == NULL) {
		errf(err, "out of memory hashing %s", path);
		close(fd);
		return -1;
	}
	sha256_init(&ctx);
	for (;;) {
		r = read(fd, buf, SHA256_FILE_BUF);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errf_errno(err, "read %s", path);
			goto done;
		}
		if (r == 0)
			break;
		sha256_update(&ctx, buf, (size_t)r);
	}
	if (size != NULL)
		*size = ctx.bytes;
	sha256_final(&ctx, digest);
	digest_hex(digest, hex);
	ret = 0;
done:
	free(buf);
	close(fd);
	return ret;
}
