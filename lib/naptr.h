/*
 * naptr.h — NAPTR records (RFC 3403, RFC 6116) of an ENUM number: their
 * limits, their checks and their text form.  The store keeps a number's
 * records in their zone-file presentation form, one record per line:
 *   ORDER PREFERENCE "FLAGS" "SERVICE" "REGEXP" REPLACEMENT
 * which is both what the DNS server loads and what the journal carries.
 */
#ifndef ENUMDR_NAPTR_H
#define ENUMDR_NAPTR_H

#include <stddef.h>
#include <stdint.h>

#define NAPTR_MAX           16   /* NAPTR records per number */
#define NAPTR_FLAGS_MAX     16
#define NAPTR_SERVICE_MAX   64
#define NAPTR_REGEXP_MAX    256
#define NAPTR_REPLACEMENT_MAX 256
#define NAPTR_TEXT_MAX (NAPTR_MAX * 1280)  /* canonical NAPTR text */

struct naptr_record {
	uint16_t order;
	uint16_t preference;
	char flags[NAPTR_FLAGS_MAX];              /* e.g. "U" */
	char service[NAPTR_SERVICE_MAX];          /* e.g. "E2U+sip" */
	char regexp[NAPTR_REGEXP_MAX];            /* e.g. "!^.*$!sip:+4681234@ims.example!" */
	char replacement[NAPTR_REPLACEMENT_MAX];  /* "." when regexp is set */
};

/* One record's fields: flags, service, an RFC 3402 regexp or a
 * replacement domain (RFC 3403). */
int naptr_valid(const struct naptr_record *r, char *err);
/* The same, and *field (when field is not NULL) names the field at fault:
 * "flags", "service", "regexp" (also for a record with neither regexp nor
 * replacement), "replacement", or NULL. */
int naptr_check(const struct naptr_record *r, const char **field,
    char *err);
/* A domain name in presentation form: "." or labels of [A-Za-z0-9_-],
 * at most 253 bytes (a NAPTR replacement; the store's SOA and NS
 * parameters use it too). */
int naptr_domain_valid(const char *s);
/* A number's NAPTR text as the store keeps it: 1 to NAPTR_MAX valid
 * records in the canonical form naptr_format writes (so that a row
 * that arrives from a peer is held to exactly the provisioning API's rules,
 * and a DNS-message or zone-file writer can trust its syntax). */
int naptr_text_valid(const char *text, char *err);
/* Only the shape of that text, in one pass and without copying: 1 to
 * NAPTR_MAX lines of ORDER PREFERENCE "FLAGS" "SERVICE" "REGEXP"
 * REPLACEMENT (numbers 0-65535, quoted printable ASCII with only \" and
 * \\ escaped, a domain name's characters).  What a zone-file or DNS
 * writer needs to know to copy the text verbatim as NAPTR records: a
 * record of valid fields in canonical form always has it (the fields'
 * own rules are naptr_check's). */
int naptr_text_shape_valid(const char *text, char *err);

/* NAPTR lines <-> records.  format: *text malloc'd; parse: at most
 * NAPTR_MAX records, every one validated. */
int naptr_format(const struct naptr_record *r, size_t n, char **text);
int naptr_parse(const char *text, struct naptr_record *r, size_t *n,
    char *err);

#endif
