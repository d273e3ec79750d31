/*
 * naptr.c — NAPTR records (RFC 3403, RFC 6116) as a number carries them:
 * the field checks the provisioning API and a peer's rows are held to, and
 * the text codec between records and their zone-file presentation form,
 *   ORDER PREFERENCE "FLAGS" "SERVICE" "REGEXP" REPLACEMENT
 * one record per line, which the store keeps, the journal carries and the
 * zone-file writer emits.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naptr.h"
#include "util.h"

/* ---- validation ------------------------------------------------------ */

/* A domain name in presentation form: "." or labels of [A-Za-z0-9_-]. */
int
naptr_domain_valid(const char *s)
{
	size_t label = 0, total = strlen(s);

	if (strcmp(s, ".") == 0)
		return 1;
	if (total == 0 || total > 253 || s[0] == '.')
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

int
naptr_check(const struct naptr_record *r, const char **field, char *err)
{
	const char *p, *unused;
	size_t ndelim = 0;
	char delim;

	if (field == NULL)
		field = &unused;
	*field = NULL;

	if (memchr(r->flags, '\0', sizeof(r->flags)) == NULL ||
	    memchr(r->service, '\0', sizeof(r->service)) == NULL ||
	    memchr(r->regexp, '\0', sizeof(r->regexp)) == NULL ||
	    memchr(r->replacement, '\0', sizeof(r->replacement)) == NULL) {
		*field = NULL;
		errf(err, "NAPTR field too long");
		return -1;
	}
	for (p = r->flags; *p; p++) {
		if (!isalnum((unsigned char)*p)) {
			*field = "flags";
			errf(err, "NAPTR flags \"%s\": only letters and digits"
			    " are allowed (RFC 3403)", r->flags);
			return -1;
		}
	}
	if (r->service[0] == '\0') {
		*field = "service";
		errf(err, "NAPTR service is empty (ENUM needs e.g. E2U+sip)");
		return -1;
	}
	for (p = r->service; *p; p++) {
		if (!isalnum((unsigned char)*p) && strchr("+:.-_", *p) == NULL) {
			*field = "service";
			errf(err, "NAPTR service \"%s\": character '%c' is not"
			    " allowed", r->service, *p);
			return -1;
		}
	}
	for (p = r->regexp; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			*field = "regexp";
			errf(err, "NAPTR regexp has a non-printable character"
			    " at position %ld", (long)(p - r->regexp) + 1);
			return -1;
		}
	}
	if (r->regexp[0] != '\0') {
		delim = r->regexp[0];
		if (isdigit((unsigned char)delim) || delim == '\\' ||
		    delim == 'i') {
			*field = "regexp";
			errf(err, "NAPTR regexp \"%s\": '%c' cannot be the"
			    " delimiter (RFC 3402)", r->regexp, delim);
			return -1;
		}
		for (p = r->regexp; *p; p++) {
			if (*p == '\\' && p[1] != '\0') {
				p++;
				continue;
			}
			if (*p == delim)
				ndelim++;
		}
		p = r->regexp + strlen(r->regexp) - 1;
		if (ndelim != 3 || (*p != delim && !(*p == 'i' &&
		    p > r->regexp && p[-1] == delim))) {
			*field = "regexp";
			errf(err, "NAPTR regexp \"%s\": must be"
			    " DELIM ERE DELIM REPLACEMENT DELIM [i] (RFC 3402)",
			    r->regexp);
			return -1;
		}
		if (strcmp(r->replacement, ".") != 0 &&
		    r->replacement[0] != '\0') {
			*field = "replacement";
			errf(err, "NAPTR replacement \"%s\" must be \".\" when"
			    " a regexp is given (RFC 3403)", r->replacement);
			return -1;
		}
	} else if (r->replacement[0] == '\0' ||
	    strcmp(r->replacement, ".") == 0) {
		*field = "regexp";
		errf(err, "NAPTR record needs a regexp or a replacement"
		    " domain");
		return -1;
	}
	if (r->replacement[0] != '\0' && !naptr_domain_valid(r->replacement)) {
		*field = "replacement";
		errf(err, "NAPTR replacement \"%s\" is not a domain name",
		    r->replacement);
		return -1;
	}
	return 0;
}

int
naptr_valid(const struct naptr_record *r, char *err)
{
	return naptr_check(r, NULL, err);
}

/* ---- NAPTR presentation format -------------------------------------- */

static void
put_quoted(char **p, const char *s)
{
	*(*p)++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*(*p)++ = '\\';
		*(*p)++ = *s;
	}
	*(*p)++ = '"';
}

int
naptr_format(const struct naptr_record *r, size_t n, char **text)
{
	size_t i, cap = 1;
	char *buf, *p;

	for (i = 0; i < n; i++)
		cap += 16 + 2 * (strlen(r[i].flags) + strlen(r[i].service) +
		    strlen(r[i].regexp)) + 6 + strlen(r[i].replacement) + 2;
	buf = malloc(cap);
	if (buf == NULL)
		return -1;
	p = buf;
	for (i = 0; i < n; i++) {
		p += sprintf(p, "%u %u ", r[i].order, r[i].preference);
		put_quoted(&p, r[i].flags);
		*p++ = ' ';
		put_quoted(&p, r[i].service);
		*p++ = ' ';
		put_quoted(&p, r[i].regexp);
		*p++ = ' ';
		p += sprintf(p, "%s", r[i].replacement[0] ? r[i].replacement :
		    ".");
		if (i + 1 < n)
			*p++ = '\n';
	}
	*p = '\0';
	*text = buf;
	return 0;
}

/* Next token of a NAPTR line: a number, a bare word or a quoted string. */
static int
next_token(const char **sp, char *out, size_t outlen, int *quoted)
{
	const char *s = *sp;
	size_t o = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '\n')
		return -1;
	*quoted = *s == '"';
	if (*quoted) {
		for (s++; *s != '"'; s++) {
			if (*s == '\0' || *s == '\n')
				return -1;
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *s;
		}
		s++;
	} else {
		for (; *s && *s != ' ' && *s != '\t' && *s != '\n'; s++) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	*sp = s;
	return 0;
}

static int
parse_u16(const char *s, uint16_t *v)
{
	char *end;
	unsigned long x;

	if (!isdigit((unsigned char)*s))
		return -1;
	x = strtoul(s, &end, 10);
	if (*end != '\0' || x > 65535)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

int
naptr_parse(const char *text, struct naptr_record *r, size_t *n,
    char *err)
{
	const char *s = text;
	char tok[NAPTR_REGEXP_MAX], verr[ENUMDR_ERRLEN];
	size_t line = 0;
	int q;

	*n = 0;
	while (*s) {
		struct naptr_record *x;

		line++;
		if (*n >= NAPTR_MAX) {
			errf(err, "more than %d NAPTR records", NAPTR_MAX);
			return -1;
		}
		x = &r[*n];
		memset(x, 0, sizeof(*x));
		if (next_token(&s, tok, sizeof(tok), &q) || q ||
		    parse_u16(tok, &x->order) ||
		    next_token(&s, tok, sizeof(tok), &q) || q ||
		    parse_u16(tok, &x->preference)) {
			errf(err, "NAPTR record %zu: order and preference must"
			    " be numbers 0-65535", line);
			return -1;
		}
		if (next_token(&s, x->flags, sizeof(x->flags), &q) ||
		    next_token(&s, x->service, sizeof(x->service), &q) ||
		    next_token(&s, x->regexp, sizeof(x->regexp), &q) ||
		    next_token(&s, x->replacement, sizeof(x->replacement), &q)) {
			errf(err, "NAPTR record %zu: expected ORDER PREFERENCE"
			    " \"FLAGS\" \"SERVICE\" \"REGEXP\" REPLACEMENT",
			    line);
			return -1;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '\0' && *s != '\n') {
			errf(err, "NAPTR record %zu: unexpected text after"
			    " the replacement", line);
			return -1;
		}
		if (*s == '\n')
			s++;
		if (naptr_valid(x, verr) == -1) {
			errf(err, "NAPTR record %zu: %s", line, verr);
			return -1;
		}
		(*n)++;
	}
	if (*n == 0) {
		errf(err, "no NAPTR record given");
		return -1;
	}
	return 0;
}

int
naptr_text_valid(const char *text, char *err)
{
	struct naptr_record r[NAPTR_MAX];
	char *canon = NULL;
	size_t n, len;
	int ret = -1;

	len = strnlen(text, NAPTR_TEXT_MAX + 1);
	if (len > NAPTR_TEXT_MAX) {
		errf(err, "NAPTR text longer than %d bytes",
		    NAPTR_TEXT_MAX);
		return -1;
	}
	if (naptr_parse(text, r, &n, err) == -1)
		return -1;
	if (naptr_format(r, n, &canon) == -1) {
		errf(err, "out of memory formatting NAPTR records");
		return -1;
	}
	if (strcmp(canon, text) != 0) {
		/* name the first byte that differs: the reader sees where */
		size_t i;

		for (i = 0; canon[i] != '\0' && canon[i] == text[i]; i++)
			;
		errf(err, "NAPTR text is not in the canonical form (it differs"
		    " at byte %zu: the store writes every record as ORDER"
		    " PREFERENCE \"FLAGS\" \"SERVICE\" \"REGEXP\""
		    " REPLACEMENT, single spaces, one per line)", i + 1);
		goto done;
	}
	ret = 0;
done:
	free(canon);
	return ret;
}

int
naptr_text_shape_valid(const char *text, char *err)
{
	const char *p = text;
	size_t line = 0, n;
	unsigned long v;
	int field;

	for (;;) {
		if (++line > NAPTR_MAX) {
			errf(err, "more than %d NAPTR records", NAPTR_MAX);
			return -1;
		}
		/* ORDER PREFERENCE: decimals 0-65535, one space after each */
		for (field = 0; field < 2; field++) {
			for (n = 0, v = 0; *p >= '0' && *p <= '9'; p++, n++)
				v = v * 10 + (unsigned long)(*p - '0');
			if (n == 0 || n > 5 || v > 65535 || *p++ != ' ')
				goto bad;
		}
		/* "FLAGS" "SERVICE" "REGEXP": printable ASCII, only \" and
		 * \\ escaped, one space after each */
		for (field = 0; field < 3; field++) {
			if (*p++ != '"')
				goto bad;
			for (; *p != '"'; p++) {
				if ((unsigned char)*p < 0x20 ||
				    (unsigned char)*p > 0x7e)
					goto bad;
				if (*p == '\\' && *++p != '"' && *p != '\\')
					goto bad;
			}
			if (*++p != ' ')
				goto bad;
			p++;
		}
		/* REPLACEMENT: a domain name's characters */
		for (n = 0; isalnum((unsigned char)*p) || *p == '.' ||
		    *p == '-' || *p == '_'; p++)
			n++;
		if (n == 0)
			goto bad;
		if (*p == '\0')
			return 0;
		if (*p++ != '\n')
			goto bad;
	}
bad:
	errf(err, "NAPTR record %zu is not ORDER PREFERENCE \"FLAGS\""
	    " \"SERVICE\" \"REGEXP\" REPLACEMENT as the store writes it",
	    line);
	return -1;
}
