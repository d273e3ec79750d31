/*
 * tap.h — a tiny TAP producer for the unit tests (automake's tap-driver.sh
 * reads it).  Every check reports file, line and the expression, like
 * OpenSSH's ASSERT_INT_EQ.  Use:
 *
 *   ok(expr, "what it means");
 *   is_int(got, want, "what");  is_str(got, want, "what");
 *   ...
 *   return tap_done();
 */
#ifndef ENUMDR_TAP_H
#define ENUMDR_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int
tap_ok(int cond, const char *file, int line, const char *expr,
    const char *what)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, what);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d: %s\n", file, line, expr);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, what) tap_ok(!!(cond), __FILE__, __LINE__, #cond, (what))

#define is_int(got, want, what) do {                                      \
	long long g_ = (long long)(got), w_ = (long long)(want);          \
	if (!tap_ok(g_ == w_, __FILE__, __LINE__, #got " == " #want, (what))) \
		printf("#   got %lld, want %lld\n", g_, w_);               \
} while (0)

#define is_str(got, want, what) do {                                      \
	const char *g_ = (got), *w_ = (want);                             \
	int c_ = g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0;         \
	if (!tap_ok(c_, __FILE__, __LINE__, #got " eq " #want, (what)))   \
		printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",   \
		    w_ ? w_ : "(null)");                                      \
} while (0)

/* The string got contains needle. */
#define like(got, needle, what) do {                                      \
	const char *g_ = (got), *n_ = (needle);                           \
	int c_ = g_ != NULL && strstr(g_, n_) != NULL;                    \
	if (!tap_ok(c_, __FILE__, __LINE__, #got " =~ " #needle, (what))) \
		printf("#   got \"%s\", want it to contain \"%s\"\n",         \
		    g_ ? g_ : "(null)", n_);                                  \
} while (0)

#define diag(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
