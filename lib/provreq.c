/*
 * provreq.c — the provisioning request body (S0.5): JSON into store
 * changes, strict and bounded, every refusal naming its member.  See
 * provreq.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "naptr.h"
#include "provreq.h"
#include "store.h"
#include "util.h"

void
provreq_fail(struct provreq_error *pe, unsigned int status, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	pe->status = status;
	strlcpy_(pe->field, field != NULL ? field : "", sizeof(pe->field));
	va_start(ap, fmt);
	vsnprintf(pe->msg, sizeof(pe->msg), fmt, ap);
	va_end(ap);
}

/* Reject keys of obj not in allowed (NULL-terminated); 0 when none. */
static int
check_fields(json_t *obj, const char *const *allowed, const char *where,
    struct provreq_error *pe)
{
	char unknown[256] = "", field[128] = "", list[160] = "";
	const char *key;
	void *it;
	size_t i, n = 0;

	for (it = json_object_iter(obj); it != NULL;
	    it = json_object_iter_next(obj, it)) {
		key = json_object_iter_key(it);
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		if (n++ == 0)
			snprintf(field, sizeof(field), "%s%s%s", where,
			    where[0] != '\0' ? "." : "", key);
		snprintf(unknown + strlen(unknown), sizeof(unknown) -
		    strlen(unknown), "%s\"%s\"", n > 1 ? ", " : "", key);
	}
	if (n == 0)
		return 0;
	for (i = 0; allowed[i] != NULL; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i ? ", " : "", allowed[i]);
	provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
	    "unknown field%s %s%s%s (allowed: %s)", n > 1 ? "s" : "", unknown,
	    where[0] != '\0' ? " in " : "", where, list);
	return -1;
}

/* A required or optional string member into out (outlen bytes).  The
 * length check against strlen is defensive: without JSON_ALLOW_NUL
 * jansson refuses "\u0000" while parsing. */
static int
get_string(json_t *obj, const char *key, int required, char *out,
    size_t outlen, const char *where, struct provreq_error *pe)
{
	char field[160];
	json_t *v = json_object_get(obj, key);

	snprintf(field, sizeof(field), "%s%s%s", where, where[0] ? "." : "",
	    key);
	if (v == NULL) {
		if (!required) {
			out[0] = '\0';
			return 0;
		}
		provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
		    "%s: required field missing", field);
		return -1;
	}
	if (!json_is_string(v)) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
		    "%s: must be a string", field);
		return -1;
	}
	if (json_string_length(v) >= outlen ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
		    "%s: at most %zu characters, no NUL", field, outlen - 1);
		return -1;
	}
	strlcpy_(out, json_string_value(v), outlen);
	return 0;
}

/* A required integer member 0..65535 (order, preference). */
static int
get_u16(json_t *obj, const char *key, uint16_t *out, const char *where,
    struct provreq_error *pe)
{
	char field[160];
	json_t *v = json_object_get(obj, key);

	snprintf(field, sizeof(field), "%s.%s", where, key);
	if (v == NULL) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
		    "%s: required field missing", field);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 65535) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
		    "%s: must be an integer 0..65535", field);
		return -1;
	}
	*out = (uint16_t)json_integer_value(v);
	return 0;
}

/* The "naptr" member arr (where names it) into e's records. */
static int
parse_naptr_list(json_t *arr, const char *where, struct number_entry *e,
    struct provreq_error *pe)
{
	static const char *const allowed[] = { "order", "preference", "flags",
	    "service", "regexp", "replacement", NULL };
	char at[160], field[200], verr[ENUMDR_ERRLEN];
	const char *f;
	size_t i;

	if (arr == NULL) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, where,
		    "%s: required field missing", where);
		return -1;
	}
	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > NAPTR_MAX) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, where,
		    "%s: must be an array of 1 to %d NAPTR records", where,
		    NAPTR_MAX);
		return -1;
	}
	e->nnaptr = json_array_size(arr);
	for (i = 0; i < e->nnaptr; i++) {
		json_t *o = json_array_get(arr, i);
		struct naptr_record *r = &e->naptr[i];

		snprintf(at, sizeof(at), "%s[%zu]", where, i);
		if (!json_is_object(o)) {
			provreq_fail(pe, PROVREQ_BAD_REQUEST, at,
			    "%s: must be an object", at);
			return -1;
		}
		if (check_fields(o, allowed, at, pe) == -1 ||
		    get_u16(o, "order", &r->order, at, pe) == -1 ||
		    get_u16(o, "preference", &r->preference, at, pe) == -1 ||
		    get_string(o, "flags", 0, r->flags, sizeof(r->flags), at,
		    pe) == -1 ||
		    get_string(o, "service", 1, r->service, sizeof(r->service),
		    at, pe) == -1 ||
		    get_string(o, "regexp", 0, r->regexp, sizeof(r->regexp), at,
		    pe) == -1 ||
		    get_string(o, "replacement", 0, r->replacement,
		    sizeof(r->replacement), at, pe) == -1)
			return -1;
		if (naptr_check(r, &f, verr) == -1) {
			if (f != NULL)
				snprintf(field, sizeof(field), "%s.%s", at, f);
			else
				strlcpy_(field, at, sizeof(field));
			provreq_fail(pe, PROVREQ_BAD_REQUEST, field, "%s: %s",
			    field, verr);
			return -1;
		}
	}
	return 0;
}

int
provreq_check_e164(const char *value, const char *field,
    struct provreq_error *pe)
{
	char verr[ENUMDR_ERRLEN];

	if (strlen(value) > STORE_E164_MAX || store_e164_valid(value, verr) ==
	    -1) {
		if (strlen(value) > STORE_E164_MAX)
			snprintf(verr, sizeof(verr), "invalid E.164 number"
			    " \"%.32s\": at most 15 digits after '+'", value);
		provreq_fail(pe, PROVREQ_BAD_REQUEST, field, "%s: %s", field,
		    verr);
		return -1;
	}
	return 0;
}

/* A number (a string member, or the path) into e. */
static int
parse_e164(const char *value, const char *field, struct number_entry *e,
    struct provreq_error *pe)
{
	if (provreq_check_e164(value, field, pe) == -1)
		return -1;
	strlcpy_(e->e164, value, sizeof(e->e164));
	return 0;
}

/* One change object ({"op"?, "e164", "naptr"}) into c. */
static int
parse_change(json_t *o, const char *where, int with_op, enum store_op op,
    struct store_change *c, struct provreq_error *pe)
{
	static const char *const allowed_op[] = { "op", "e164", "naptr",
	    NULL };
	static const char *const allowed_add[] = { "e164", "naptr", NULL };
	char value[64], field[160];

	if (!json_is_object(o)) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, where[0] ? where : NULL,
		    "%s must be a JSON object", where[0] ? where :
		    "the request body");
		return -1;
	}
	if (check_fields(o, with_op ? allowed_op : allowed_add, where,
	    pe) == -1)
		return -1;
	memset(c, 0, sizeof(*c));
	if (with_op) {
		if (get_string(o, "op", 1, value, sizeof(value), where,
		    pe) == -1)
			return -1;
		if (strcmp(value, "add") == 0)
			op = STORE_ADD;
		else if (strcmp(value, "replace") == 0)
			op = STORE_REPLACE;
		else if (strcmp(value, "remove") == 0)
			op = STORE_REMOVE;
		else {
			snprintf(field, sizeof(field), "%s.op", where);
			provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
			    "%s: \"%s\" is not add, replace or remove", field,
			    value);
			return -1;
		}
	}
	c->op = op;
	snprintf(field, sizeof(field), "%s%se164", where, where[0] ? "." : "");
	if (get_string(o, "e164", 1, value, sizeof(value), where, pe) == -1 ||
	    parse_e164(value, field, &c->entry, pe) == -1)
		return -1;
	snprintf(field, sizeof(field), "%s%snaptr", where, where[0] ? "." : "");
	if (op == STORE_REMOVE) {
		if (json_object_get(o, "naptr") != NULL) {
			provreq_fail(pe, PROVREQ_BAD_REQUEST, field,
			    "%s: not allowed with op remove", field);
			return -1;
		}
		return 0;
	}
	return parse_naptr_list(json_object_get(o, "naptr"), field, &c->entry,
	    pe);
}

/* The body as a JSON object; NULL and a 413 (too large) or a 400 (the
 * JSON's line and column) when it is not one. */
static json_t *
parse_body(const char *body, size_t len, struct provreq_error *pe)
{
	json_error_t jerr;
	json_t *root;

	if (len > PROVREQ_BODY_MAX) {
		provreq_fail(pe, PROVREQ_TOO_LARGE, NULL,
		    "request body larger than the limit of %zu bytes (1 MiB)",
		    PROVREQ_BODY_MAX);
		return NULL;
	}
	if (len == 0) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, NULL,
		    "empty request body: a JSON object is expected");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, NULL,
		    "malformed JSON at line %d, column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		provreq_fail(pe, PROVREQ_BAD_REQUEST, NULL,
		    "the request body must be a JSON object");
		return NULL;
	}
	return root;
}

int
provreq_parse_add(const char *body, size_t len, struct store_change *c,
    struct provreq_error *pe)
{
	json_t *root;
	int ret = -1;

	if ((root = parse_body(body, len, pe)) == NULL)
		goto done;
	if (parse_change(root, "", 0, STORE_ADD, c, pe) == -1)
		goto done;
	ret = 0;
done:
	json_decref(root);
	return ret;
}

int
provreq_parse_replace(const char *e164, const char *body, size_t len,
    struct store_change *c, struct provreq_error *pe)
{
	static const char *const allowed[] = { "e164", "naptr", NULL };
	json_t *root = NULL, *v;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	c->op = STORE_REPLACE;
	if (parse_e164(e164, "e164", &c->entry, pe) == -1 ||
	    (root = parse_body(body, len, pe)) == NULL ||
	    check_fields(root, allowed, "", pe) == -1)
		goto done;
	v = json_object_get(root, "e164");
	if (v != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), e164) != 0)) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, "e164",
		    "e164: the body names another number than the path (%s)",
		    e164);
		goto done;
	}
	if (parse_naptr_list(json_object_get(root, "naptr"), "naptr",
	    &c->entry, pe) == -1)
		goto done;
	ret = 0;
done:
	json_decref(root);
	return ret;
}

int
provreq_parse_remove(const char *e164, struct store_change *c,
    struct provreq_error *pe)
{
	memset(c, 0, sizeof(*c));
	c->op = STORE_REMOVE;
	return parse_e164(e164, "e164", &c->entry, pe);
}

int
provreq_parse_batch(const char *body, size_t len,
    struct store_change **changesp, size_t *np, struct provreq_error *pe)
{
	static const char *const allowed[] = { "changes", NULL };
	struct store_change *changes = NULL;
	char where[32];
	json_t *root, *arr;
	size_t i, n;
	int ret = -1;

	if ((root = parse_body(body, len, pe)) == NULL ||
	    check_fields(root, allowed, "", pe) == -1)
		goto done;
	arr = json_object_get(root, "changes");
	if (arr == NULL || !json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > PROVREQ_BATCH_MAX) {
		provreq_fail(pe, PROVREQ_BAD_REQUEST, "changes",
		    "changes: must be an array of 1 to %d changes",
		    PROVREQ_BATCH_MAX);
		goto done;
	}
	n = json_array_size(arr);
	if ((changes = calloc(n, sizeof(*changes))) == NULL) {
		provreq_fail(pe, PROVREQ_NO_MEMORY, NULL,
		    "out of memory for %zu changes", n);
		goto done;
	}
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "changes[%zu]", i);
		if (parse_change(json_array_get(arr, i), where, 1, STORE_ADD,
		    &changes[i], pe) == -1)
			goto done;
	}
	*changesp = changes;
	*np = n;
	changes = NULL;
	ret = 0;
done:
	json_decref(root);
	free(changes);
	return ret;
}
