/*
 * test_rfc1982.c — RFC 1982 serial arithmetic (S0.2) and the SHA-256
 * known-answer vectors (FIPS 180-4 examples) used for snapshot checksums.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfc1982.h"
#include "sha256.h"
#include "util.h"
#include "tap.h"

static void
test_cmp(void)
{
	is_int(rfc1982_cmp(0, 0), RFC1982_EQUAL, "0 == 0");
	is_int(rfc1982_cmp(17, 17), RFC1982_EQUAL, "17 == 17");
	is_int(rfc1982_cmp(0xFFFFFFFFu, 0xFFFFFFFFu), RFC1982_EQUAL,
	    "0xFFFFFFFF == 0xFFFFFFFF");

	is_int(rfc1982_cmp(1, 2), RFC1982_LESS, "1 < 2");
	is_int(rfc1982_cmp(2, 1), RFC1982_GREATER, "2 > 1");
	is_int(rfc1982_cmp(0, 1), RFC1982_LESS, "0 < 1");

	/* Wrap-around. */
	is_int(rfc1982_cmp(0xFFFFFFFFu, 0), RFC1982_LESS, "0xFFFFFFFF < 0");
	is_int(rfc1982_cmp(0, 0xFFFFFFFFu), RFC1982_GREATER, "0 > 0xFFFFFFFF");
	is_int(rfc1982_cmp(0xFFFFFFF0u, 5), RFC1982_LESS, "0xFFFFFFF0 < 5");
	is_int(rfc1982_cmp(5, 0xFFFFFFF0u), RFC1982_GREATER, "5 > 0xFFFFFFF0");

	/* Largest defined distance, 2^31 - 1, both directions. */
	is_int(rfc1982_cmp(0, 0x7FFFFFFFu), RFC1982_LESS, "0 < 2^31-1");
	is_int(rfc1982_cmp(0x7FFFFFFFu, 0), RFC1982_GREATER, "2^31-1 > 0");
	is_int(rfc1982_cmp(10, 10 + 0x7FFFFFFFu), RFC1982_LESS,
	    "10 < 10 + (2^31-1)");
	is_int(rfc1982_cmp(10 + 0x7FFFFFFFu, 10), RFC1982_GREATER,
	    "10 + (2^31-1) > 10");
	is_int(rfc1982_cmp(0xFFFFFFFFu, 0x7FFFFFFEu), RFC1982_LESS,
	    "0xFFFFFFFF < 0x7FFFFFFE (distance 2^31-1 across the wrap)");
	/* Distance 2^31 + 1 is 2^31 - 1 the other way round. */
	is_int(rfc1982_cmp(0, 0x80000001u), RFC1982_GREATER,
	    "0 > 0x80000001 (distance 2^31+1 = 2^31-1 backwards)");

	/* Exactly 2^31: undefined both ways (the (int32_t)(a-b) idiom says
	 * "less" both ways here). */
	is_int(rfc1982_cmp(0, 0x80000000u), RFC1982_UNDEFINED,
	    "0 vs 0x80000000 undefined");
	is_int(rfc1982_cmp(0x80000000u, 0), RFC1982_UNDEFINED,
	    "0x80000000 vs 0 undefined");
	is_int(rfc1982_cmp(5, 0x80000005u), RFC1982_UNDEFINED,
	    "5 vs 0x80000005 undefined");
	is_int(rfc1982_cmp(0x80000005u, 5), RFC1982_UNDEFINED,
	    "0x80000005 vs 5 undefined");
	is_int(rfc1982_cmp(0xFFFFFFFFu, 0x7FFFFFFFu), RFC1982_UNDEFINED,
	    "0xFFFFFFFF vs 0x7FFFFFFF undefined");

	is_str(rfc1982_order_name(RFC1982_EQUAL), "equal", "name equal");
	is_str(rfc1982_order_name(RFC1982_LESS), "less", "name less");
	is_str(rfc1982_order_name(RFC1982_GREATER), "greater", "name greater");
	is_str(rfc1982_order_name(RFC1982_UNDEFINED), "undefined",
	    "name undefined");
}

static void
test_add(void)
{
	is_int(rfc1982_add(0, 0), 0, "0 + 0");
	is_int(rfc1982_add(1, 1), 2, "1 + 1");
	is_int(rfc1982_add(0xFFFFFFFFu, 1), 0, "0xFFFFFFFF + 1 wraps to 0");
	is_int(rfc1982_add(0xFFFFFFF0u, 0x20), 0x10, "0xFFFFFFF0 + 0x20 = 0x10");
	is_int(rfc1982_add(0x80000000u, 0x7FFFFFFFu), 0xFFFFFFFFu,
	    "0x80000000 + (2^31-1)");
	is_int(rfc1982_add(1, 0x7FFFFFFFu), 0x80000000u, "1 + (2^31-1)");
	ok(rfc1982_cmp(0xFFFFFFFFu, rfc1982_add(0xFFFFFFFFu, 1)) == RFC1982_LESS,
	    "s < s + 1 across the wrap");
	ok(rfc1982_cmp(7, rfc1982_add(7, 0x7FFFFFFFu)) == RFC1982_LESS,
	    "s < s + (2^31-1)");
}

/* One-shot hex, and the same data fed in uneven pieces. */
static void
check_sha(const void *data, size_t len, const char *want, const char *what)
{
	struct sha256_ctx ctx;
	uint8_t digest[32];
	char hex[65], hex2[65];
	const unsigned char *p = data;
	size_t off = 0, step = 1;
	int i;

	sha256_hex(data, len, hex);
	is_str(hex, want, what);

	sha256_init(&ctx);
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		sha256_update(&ctx, p + off, n);
		off += n;
		step = step * 3 + 1;    /* 1, 4, 13, 40, 121 ...: crosses blocks */
	}
	sha256_final(&ctx, digest);
	for (i = 0; i < 32; i++)
		snprintf(hex2 + 2 * i, 3, "%02x", digest[i]);
	is_str(hex2, want, "streamed in uneven pieces: same digest");
}

static void
test_sha256(void)
{
	static const struct {
		size_t n;
		const char *hex;
	} as[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	char *million, what[64];
	size_t i;

	check_sha("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256(\"\")");
	check_sha("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256(\"abc\")");
	check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "sha256 of the 448-bit message");
	check_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
	    "sha256 of the 896-bit message");

	million = malloc(1000000);
	if (million == NULL) {
		ok(0, "malloc one million bytes");
		return;
	}
	memset(million, 'a', 1000000);
	check_sha(million, 1000000,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	    "sha256 of one million 'a'");
	/* Padding boundaries: 55/56 bytes (length fits or not), 63/64/65. */
	for (i = 0; i < sizeof(as) / sizeof(as[0]); i++) {
		snprintf(what, sizeof(what), "sha256 of %zu 'a'", as[i].n);
		check_sha(million, as[i].n, as[i].hex, what);
	}
	free(million);
}

static void
test_sha256_file(void)
{
	char path[] = "/tmp/enumdr-test-sha256-XXXXXX";
	char hex[65], err[ENUMDR_ERRLEN];
	unsigned char *buf;
	uint64_t size = 0;
	size_t i, len = 256 * 1000 + 3;
	int fd;

	buf = malloc(len);
	if (buf == NULL) {
		ok(0, "malloc");
		return;
	}
	for (i = 0; i < 256 * 1000; i++)
		buf[i] = (unsigned char)i;
	memcpy(buf + 256 * 1000, "xyz", 3);
	fd = mkstemp(path);
	ok(fd != -1, "mkstemp");
	if (fd == -1) {
		free(buf);
		return;
	}
	ok(write(fd, buf, len) == (ssize_t)len, "write test file");
	close(fd);
	ok(sha256_file(path, hex, &size, err) == 0, "sha256_file");
	is_str(hex,
	    "74e5604d96b55e2b138cc325af685c8160f2068195c5ad9c7cf36e8b27aa48a8",
	    "sha256_file over several 64 KiB reads");
	is_int(size, len, "sha256_file size");
	unlink(path);
	err[0] = '\0';
	ok(sha256_file(path, hex, NULL, err) == -1, "missing file fails");
	like(err, path, "error names the file");
	free(buf);
}

int
main(void)
{
	test_cmp();
	test_add();
	test_sha256();
	test_sha256_file();
	return tap_done();
}
