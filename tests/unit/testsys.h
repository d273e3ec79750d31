/*
 * testsys.h — what the unit tests that start a real server (knotd) share:
 * a free loopback port and the output of a shell command.
 */
#ifndef ENUMDR_TESTSYS_H
#define ENUMDR_TESTSYS_H

#include <stddef.h>

/* A port free on 127.0.0.1 (the kernel's pick), or -1. */
int test_free_port(void);
/* The output of a shell command (at most outlen - 1 bytes; "" when it
 * cannot be run). */
char *test_run(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
