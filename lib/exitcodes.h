/*
 * exitcodes.h — the exit codes of every enumdr program, in one place.
 * Documented for operators in doc/enumdr.md and the programs' --help.
 */
#ifndef ENUMDR_EXITCODES_H
#define ENUMDR_EXITCODES_H

#include <sysexits.h>

#define EXIT_OK           0   /* done; for checkers: healthy */
#define EXIT_FAILED       1   /* the operation failed; checkers: unhealthy */
#define EXIT_DIVERGED     3   /* sync: both rooms have newer data (split brain) */
#define EXIT_UNDEFINED    4   /* sync: serial comparison undefined (RFC 1982) */
#define EXIT_USAGE        EX_USAGE    /* 64: wrong arguments */
#define EXIT_DATAERR      EX_DATAERR  /* 65: invalid input data (number, NAPTR, snapshot) */
#define EXIT_NOINPUT      EX_NOINPUT  /* 66: an input file could not be read */
#define EXIT_UNAVAILABLE  EX_UNAVAILABLE /* 69: a peer or service is unreachable */
#define EXIT_SOFTWARE     EX_SOFTWARE /* 70: internal error */
#define EXIT_IOERR        EX_IOERR    /* 74: database or file I/O error */
#define EXIT_CONFIG       EX_CONFIG   /* 78: configuration error */

#endif
