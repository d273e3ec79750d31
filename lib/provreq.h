/*
 * provreq.h — the provisioning request body (S0.5's "account opening and
 * cancelling" requests, doc/enumdrd.md): one add, one replace, one remove,
 * a batch, each into store changes.  The wire format, in one place, for
 * the provisioning API (plugin/provision.c) and the control socket's
 * `provision LEN` (plugin/control_server.c):
 *
 *   add      {"e164":"+46...","naptr":[NAPTR,...]}
 *   replace  {"naptr":[NAPTR,...]} ("e164", when there, names the path's
 *            number)
 *   remove   no body: the number of the path
 *   batch    {"changes":[{"op":"add|replace|remove","e164":...,
 *            "naptr":[...]},...]} (no "naptr" with remove)
 *   NAPTR    {"order","preference","flags","service","regexp",
 *            "replacement"} (RFC 3403): order and preference 0..65535 and
 *            service required, the others default to ""
 *
 * Strict and bounded: at most PROVREQ_BODY_MAX bytes, one JSON object
 * (jansson: duplicate keys refused, "\u0000" refused, nesting at most
 * JSON_PARSER_MAX_DEPTH), no member that the format does not list, every
 * member of its JSON type, 1 to NAPTR_MAX records, 1 to PROVREQ_BATCH_MAX
 * changes, every number store_e164_valid and every record naptr_check.
 *
 * Like all of lib/, nothing here prints or exits: a refusal fills the
 * caller's struct provreq_error with the HTTP status to answer, the
 * offending member's path (e.g. "naptr[1].regexp", "changes[3].e164") and
 * a sentence that starts with that path.
 */
#ifndef ENUMDR_PROVREQ_H
#define ENUMDR_PROVREQ_H

#include <stddef.h>

#include "store.h"
#include "util.h"

#define PROVREQ_BODY_MAX   ((size_t)1 << 20)  /* a body, bytes: 1 MiB */
#define PROVREQ_BATCH_MAX  1000               /* changes in one batch */
#define PROVREQ_FIELD_MAX  128                /* a member's path + NUL */

/* The statuses a refusal carries. */
#define PROVREQ_BAD_REQUEST 400   /* anything wrong with the body */
#define PROVREQ_TOO_LARGE   413   /* a body over PROVREQ_BODY_MAX */
#define PROVREQ_NO_MEMORY   500   /* out of memory for a batch */

/* What is wrong with a request. */
struct provreq_error {
	unsigned int status;              /* the HTTP status to answer */
	char field[PROVREQ_FIELD_MAX];    /* the member at fault, "" if none */
	char msg[ENUMDR_ERRLEN];          /* why, a sentence */
};

/* Fill pe (for refusals of the caller's own, e.g. an HTTP route); field
 * may be NULL. */
void provreq_fail(struct provreq_error *pe, unsigned int status,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A number (a body member or a path segment) that store_e164_valid
 * accepts: 0, or -1 and a 400 naming field. */
int provreq_check_e164(const char *value, const char *field,
    struct provreq_error *pe);

/* POST /v1/numbers: body (len bytes, no NUL needed) into *c (op add). */
int provreq_parse_add(const char *body, size_t len, struct store_change *c,
    struct provreq_error *pe);
/* PUT /v1/numbers/{e164}: the path's number e164 and body into *c (op
 * replace). */
int provreq_parse_replace(const char *e164, const char *body, size_t len,
    struct store_change *c, struct provreq_error *pe);
/* DELETE /v1/numbers/{e164}: the path's number into *c (op remove). */
int provreq_parse_remove(const char *e164, struct store_change *c,
    struct provreq_error *pe);
/* POST /v1/batch and the control socket's `provision LEN`: 0 and
 * *changes (calloc'd, the caller frees; *n of them), or -1 and pe (the
 * fields name changes[i]). */
int provreq_parse_batch(const char *body, size_t len,
    struct store_change **changes, size_t *n, struct provreq_error *pe);

#endif
