/*
 * test_provreq.c — the provisioning request body (lib/provreq.c), the
 * input of the provisioning API and of the control socket's `provision`
 * (S0.5): valid add, replace, remove and batch; then crafted bad input,
 * each refused with the status the API answers (400, 413) and the member
 * it names: malformed, truncated (every prefix), oversized, NUL bytes,
 * duplicate keys, wrong types, out-of-range values, too many records or
 * changes, deep nesting.  Every body is handed over in a buffer of exactly
 * its length (no NUL after it), so the sanitizer build sees any overread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provreq.h"
#include "tap.h"
#include "util.h"

#define ORD   "\"order\":100"
#define PREF  "\"preference\":10"
#define FLAGS "\"flags\":\"u\""
#define SVC   "\"service\":\"E2U+sip\""
#define RE    "\"regexp\":\"!^.*$!sip:+4681234567@ims.example.net!\""
#define REPL  "\"replacement\":\".\""
#define REC   "{" ORD "," PREF "," FLAGS "," SVC "," RE "," REPL "}"
#define E164  "\"e164\":\"+4681234567\""
#define ADD_BODY(recs) "{" E164 ",\"naptr\":[" recs "]}"
#define VALID_ADD ADD_BODY(REC)
#define VALID_BATCH "{\"changes\":[" \
	"{\"op\":\"add\",\"e164\":\"+4681234567\",\"naptr\":[" REC "]}," \
	"{\"op\":\"replace\",\"e164\":\"+4681234568\",\"naptr\":[" REC "," \
	    REC "]}," \
	"{\"op\":\"remove\",\"e164\":\"+4681234569\"}]}"

enum kind { ADD, REPLACE, BATCH };

/* Failure injection (-Wl,--wrap=calloc, Makefile.am): the next calloc of
 * the parser fails when calloc_fail is set. */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static int calloc_fail;

void *
__wrap_calloc(size_t n, size_t size)
{
	if (calloc_fail) {
		calloc_fail = 0;
		return NULL;
	}
	return __real_calloc(n, size);
}

static int ncases;              /* parser cases run */

/* Parse len bytes of body (copied to a buffer of exactly len bytes) as
 * kind; REPLACE takes the path's number +4681234567. */
static int
parse(enum kind k, const char *body, size_t len, struct store_change *c,
    struct provreq_error *pe)
{
	struct store_change *changes = NULL;
	char *buf;
	size_t n = 0;
	int ret;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return -2;
	memcpy(buf, body, len);
	memset(pe, 0, sizeof(*pe));
	ncases++;
	switch (k) {
	case ADD:
		ret = provreq_parse_add(buf, len, c, pe);
		break;
	case REPLACE:
		ret = provreq_parse_replace("+4681234567", buf, len, c, pe);
		break;
	default:
		ret = provreq_parse_batch(buf, len, &changes, &n, pe);
		if (ret == 0 && c != NULL)
			*c = changes[0];
		free(changes);
		break;
	}
	free(buf);
	return ret;
}

/* One refusal: -1, the status, the field and a part of the message. */
static void
refused_at(const char *file, int line, enum kind k, const char *body,
    size_t len, unsigned int status, const char *field, const char *needle,
    const char *what)
{
	static struct store_change c;
	struct provreq_error pe;
	int ret, good;

	ret = parse(k, body, len, &c, &pe);
	good = ret == -1 && pe.status == status &&
	    strcmp(pe.field, field) == 0 && strstr(pe.msg, needle) != NULL;
	if (!tap_ok(good, file, line, "refused", what))
		printf("#   got %d %u \"%s\" \"%s\", want -1 %u \"%s\" "
		    "\"...%s...\"\n", ret, pe.status, pe.field, pe.msg, status,
		    field, needle);
}

#define refused(k, body, status, field, needle, what)                      \
	refused_at(__FILE__, __LINE__, (k), (body), strlen(body), (status), \
	    (field), (needle), (what))
#define refused_len(k, body, len, status, field, needle, what)             \
	refused_at(__FILE__, __LINE__, (k), (body), (len), (status),        \
	    (field), (needle), (what))

/* A string of n copies of s. */
static char *
repeat(const char *pre, const char *s, size_t n, const char *post)
{
	size_t l = strlen(s), i;
	char *out, *p;

	if ((out = malloc(strlen(pre) + l * n + strlen(post) + 1)) == NULL)
		abort();
	p = out + strlen(strcpy(out, pre));
	for (i = 0; i < n; i++, p += l)
		memcpy(p, s, l);
	strcpy(p, post);
	return out;
}

/* {"changes":[n adds of +4681000000, +4681000001, ...]} */
static char *
batch_of(size_t n)
{
	char *out, *p;
	size_t i, cap = 64 + n * (sizeof(REC) + 64);

	if ((out = malloc(cap)) == NULL)
		abort();
	p = out + strlen(strcpy(out, "{\"changes\":["));
	for (i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - out), "%s{\"op\":\"add\","
		    "\"e164\":\"+468%07zu\",\"naptr\":[" REC "]}", i ? "," : "",
		    i);
	strcpy(p, "]}");
	return out;
}

/* Every proper prefix of body is refused with a 400 naming no field. */
static void
every_prefix(enum kind k, const char *body, const char *what)
{
	struct store_change c;
	struct provreq_error pe;
	size_t i, len = strlen(body), bad = 0;
	char desc[128];

	for (i = 0; i < len; i++) {
		if (parse(k, body, i, &c, &pe) == -1 && pe.status == 400 &&
		    pe.field[0] == '\0' && (strstr(pe.msg, "malformed JSON")
		    != NULL || (i == 0 && strstr(pe.msg, "empty") != NULL)))
			continue;
		if (bad++ == 0)
			diag("prefix of %zu bytes: %u \"%s\" %s", i, pe.status,
			    pe.field, pe.msg);
	}
	snprintf(desc, sizeof(desc), "%s: all %zu proper prefixes refused"
	    " (400, malformed JSON)", what, len);
	ok(bad == 0, desc);
}

static void
test_valid(void)
{
	static const char *const replace_bodies[] = {
		"{\"naptr\":[" REC "]}",
		"{" E164 ",\"naptr\":[" REC "]}",
	};
	struct store_change c, *changes = NULL;
	struct provreq_error pe;
	const char *text;
	char *body;
	size_t n = 0, i;

	memset(&pe, 0, sizeof(pe));
	is_int(parse(ADD, VALID_ADD, strlen(VALID_ADD), &c, &pe), 0,
	    "add: a valid body");
	is_int(c.op, STORE_ADD, "  op add");
	is_str(c.entry.e164, "+4681234567", "  e164");
	is_int(c.entry.nnaptr, 1, "  one record");
	is_int(c.entry.naptr[0].order, 100, "  order");
	is_int(c.entry.naptr[0].preference, 10, "  preference");
	is_str(c.entry.naptr[0].flags, "u", "  flags");
	is_str(c.entry.naptr[0].service, "E2U+sip", "  service");
	is_str(c.entry.naptr[0].regexp, "!^.*$!sip:+4681234567@ims.example.net!",
	    "  regexp");
	is_str(c.entry.naptr[0].replacement, ".", "  replacement");

	text = " \r\n\t{\"naptr\":[{\"order\":0,\"preference\":65535,"
	    "\"service\":\"E2U+sip\",\"replacement\":\"sip.example.net\"}],"
	    E164 "}\n";
	is_int(parse(ADD, text, strlen(text), &c, &pe), 0,
	    "add: whitespace around, members in another order, only the"
	    " required ones and a replacement domain");
	is_int(c.entry.naptr[0].order, 0, "  order 0");
	is_int(c.entry.naptr[0].preference, 65535, "  preference 65535");
	is_str(c.entry.naptr[0].flags, "", "  flags default \"\"");
	is_str(c.entry.naptr[0].regexp, "", "  regexp default \"\"");
	is_str(c.entry.naptr[0].replacement, "sip.example.net",
	    "  replacement");

	body = repeat("{" E164 ",\"naptr\":[" REC, "," REC, NAPTR_MAX - 1,
	    "]}");
	is_int(parse(ADD, body, strlen(body), &c, &pe), 0,
	    "add: 16 records (NAPTR_MAX)");
	is_int(c.entry.nnaptr, NAPTR_MAX, "  all 16");
	free(body);

	/* exactly PROVREQ_BODY_MAX bytes: a valid body padded with spaces */
	if ((body = malloc(PROVREQ_BODY_MAX)) == NULL)
		abort();
	memset(body, ' ', PROVREQ_BODY_MAX);
	memcpy(body, VALID_ADD, strlen(VALID_ADD));
	is_int(parse(ADD, body, PROVREQ_BODY_MAX, &c, &pe), 0,
	    "add: a body of exactly 1 MiB");
	free(body);

	for (i = 0; i < 2; i++) {
		is_int(parse(REPLACE, replace_bodies[i],
		    strlen(replace_bodies[i]), &c, &pe), 0, i == 0 ?
		    "replace: {\"naptr\"}" : "replace: with the path's e164");
		is_int(c.op, STORE_REPLACE, "  op replace");
		is_str(c.entry.e164, "+4681234567", "  e164 of the path");
		is_int(c.entry.nnaptr, 1, "  one record");
	}

	is_int(provreq_parse_remove("+4681234567", &c, &pe), 0, "remove");
	is_int(c.op, STORE_REMOVE, "  op remove");
	is_str(c.entry.e164, "+4681234567", "  e164");
	is_int(c.entry.nnaptr, 0, "  no records");

	is_int(provreq_parse_batch(VALID_BATCH, strlen(VALID_BATCH), &changes,
	    &n, &pe), 0, "batch: add, replace, remove");
	is_int(n, 3, "  3 changes");
	if (n == 3) {
		is_int(changes[0].op, STORE_ADD, "  [0] add");
		is_str(changes[0].entry.e164, "+4681234567", "  [0] e164");
		is_int(changes[1].op, STORE_REPLACE, "  [1] replace");
		is_int(changes[1].entry.nnaptr, 2, "  [1] two records");
		is_int(changes[2].op, STORE_REMOVE, "  [2] remove");
		is_str(changes[2].entry.e164, "+4681234569", "  [2] e164");
		is_int(changes[2].entry.nnaptr, 0, "  [2] no records");
	}
	free(changes);

	body = batch_of(PROVREQ_BATCH_MAX);
	changes = NULL;
	is_int(provreq_parse_batch(body, strlen(body), &changes, &n, &pe), 0,
	    "batch: 1000 changes (PROVREQ_BATCH_MAX)");
	is_int(n, PROVREQ_BATCH_MAX, "  all 1000");
	if (n == PROVREQ_BATCH_MAX)
		is_str(changes[999].entry.e164, "+4680000999", "  the last");
	free(changes);
	free(body);

	is_int(provreq_check_e164("+4681234567", "e164", &pe), 0,
	    "provreq_check_e164: a valid number");
}

static void
test_json(void)
{
	char *body;
	size_t len;

	refused(ADD, "{\"e164\":", 400, "", "malformed JSON at line 1, column",
	    "malformed: cut after a key");
	refused(ADD, "{" E164 ",}", 400, "", "malformed JSON",
	    "malformed: a trailing comma");
	refused(ADD, "{'e164':'+4681234567'}", 400, "", "malformed JSON",
	    "malformed: single quotes");
	refused(ADD, VALID_ADD " x", 400, "", "malformed JSON",
	    "malformed: garbage after the object");
	refused(ADD, VALID_ADD VALID_ADD, 400, "", "malformed JSON",
	    "malformed: two objects");
	refused(ADD, "{\n\"e164\": \"+4681234567\",\n\"naptr\": [}", 400, "",
	    "malformed JSON at line 3", "malformed: the line is named");
	refused(ADD, "{\"e164\":\"+4681234567\xff\"}", 400, "",
	    "malformed JSON", "malformed: invalid UTF-8");
	refused(ADD, "{\"e164\":\"+4681234567\n\"}", 400, "",
	    "malformed JSON", "malformed: a raw newline in a string");
	refused(ADD, "{\"e164\":\"\\ud800\"}", 400, "", "malformed JSON",
	    "malformed: a lone surrogate escape");
	refused(ADD, "", 400, "", "empty request body", "an empty body");
	refused(BATCH, "", 400, "", "empty request body", "batch: an empty"
	    " body");
	refused(REPLACE, "", 400, "", "empty request body", "replace: an"
	    " empty body");

	every_prefix(ADD, VALID_ADD, "add");
	every_prefix(REPLACE, "{\"naptr\":[" REC "]}", "replace");
	every_prefix(BATCH, VALID_BATCH, "batch");

	/* over PROVREQ_BODY_MAX: 413 whatever the bytes */
	len = PROVREQ_BODY_MAX + 1;
	if ((body = malloc(len)) == NULL)
		abort();
	memset(body, ' ', len);
	memcpy(body, VALID_ADD, strlen(VALID_ADD));
	refused_len(ADD, body, len, 413, "", "larger than the limit of 1048576",
	    "oversized: a valid body padded to 1 MiB + 1 byte");
	refused_len(REPLACE, body, len, 413, "", "larger than the limit",
	    "replace: oversized");
	refused_len(BATCH, body, len, 413, "", "larger than the limit",
	    "batch: oversized");
	free(body);

	refused(ADD, "[]", 400, "", "the request body must be a JSON object",
	    "not an object: an array");
	refused(ADD, "[" VALID_ADD "]", 400, "", "must be a JSON object",
	    "not an object: the object inside an array");
	refused(ADD, "\"+4681234567\"", 400, "", "malformed JSON",
	    "not an object: a string (jansson wants an array or object)");
	refused(ADD, "null", 400, "", "malformed JSON",
	    "not an object: null");
	refused(BATCH, "[" VALID_BATCH "]", 400, "", "must be a JSON object",
	    "batch: not an object");
	refused(REPLACE, "[]", 400, "", "must be a JSON object",
	    "replace: not an object");

	/* NUL bytes: "\u0000" (jansson refuses it without JSON_ALLOW_NUL),
	 * a raw NUL byte, a NUL in a key */
	refused(ADD, "{\"e164\":\"+4681\\u0000234567\",\"naptr\":[" REC "]}",
	    400, "", "\\u0000 is not allowed", "e164 with \\u0000");
	refused(ADD, "{" E164 ",\"naptr\":[{" ORD "," PREF "," SVC ","
	    "\"regexp\":\"!^.*$!sip:x\\u0000@y!\"}]}", 400, "",
	    "\\u0000 is not allowed", "regexp with \\u0000");
	refused_len(ADD, "{\"e164\":\"+4681\0" "234567\"}",
	    sizeof("{\"e164\":\"+4681\0" "234567\"}") - 1, 400, "",
	    "malformed JSON", "e164 with a raw NUL byte");
	refused_len(ADD, "{" E164 "}\0", strlen("{" E164 "}") + 1, 400, "",
	    "malformed JSON", "a raw NUL byte after the object");
	refused(ADD, "{\"e1\\u000064\":\"+4681234567\"}", 400, "",
	    "malformed JSON", "a key with \\u0000");

	/* duplicate keys (JSON_REJECT_DUPLICATES) */
	refused(ADD, "{" E164 "," E164 ",\"naptr\":[" REC "]}", 400, "",
	    "duplicate object key", "duplicate e164");
	refused(ADD, "{\"e164\":\"+4681234567\",\"e164\":\"+4681234568\","
	    "\"naptr\":[" REC "]}", 400, "", "duplicate object key",
	    "duplicate e164, two numbers");
	refused(ADD, ADD_BODY("{" ORD "," ORD "," PREF "," SVC "," RE "}"),
	    400, "", "duplicate object key", "duplicate order in a record");
	refused(BATCH, "{\"changes\":[],\"changes\":[]}", 400, "",
	    "duplicate object key", "batch: duplicate changes");
}

static void
test_members(void)
{
	char *body;

	refused(ADD, "{" E164 ",\"naptr\":[" REC "],\"colour\":\"red\"}", 400,
	    "colour", "unknown field \"colour\" (allowed: e164, naptr)",
	    "an unknown member, named with the allowed ones");
	refused(ADD, "{\"b\":1," E164 ",\"a\":2,\"naptr\":[" REC "]}", 400,
	    "b", "unknown fields \"b\", \"a\"", "two unknown members");
	refused(ADD, "{" E164 ",\"op\":\"add\",\"naptr\":[" REC "]}", 400,
	    "op", "unknown field \"op\"", "op is not a member of a single add");
	refused(ADD, "{\"naptr\":[" REC "]}", 400, "e164",
	    "e164: required field missing", "missing e164");
	refused(ADD, "{}", 400, "e164", "required field missing",
	    "an empty object");

	/* e164 */
	refused(ADD, "{\"e164\":\"+46abc\",\"naptr\":[" REC "]}", 400, "e164",
	    "e164: invalid E.164 number \"+46abc\"", "e164 with letters");
	refused(ADD, "{\"e164\":\"4681234567\",\"naptr\":[" REC "]}", 400,
	    "e164", "must start with '+'", "e164 without '+'");
	refused(ADD, "{\"e164\":\"\",\"naptr\":[" REC "]}", 400, "e164",
	    "e164: invalid E.164", "e164 empty");
	refused(ADD, "{\"e164\":\"+\",\"naptr\":[" REC "]}", 400, "e164",
	    "e164: invalid E.164", "e164 \"+\"");
	refused(ADD, "{\"e164\":\"+0468123\",\"naptr\":[" REC "]}", 400,
	    "e164", "never starts with 0", "e164 with country code 0");
	refused(ADD, "{\"e164\":\"+1234567890123456\",\"naptr\":[" REC "]}",
	    400, "e164", "at most 15 digits", "e164 of 16 digits");
	refused(ADD, "{\"e164\":\"+46 8123\",\"naptr\":[" REC "]}", 400,
	    "e164", "is not a digit", "e164 with a space");
	body = repeat("{\"e164\":\"+", "1", 100, "\",\"naptr\":[" REC "]}");
	refused(ADD, body, 400, "e164", "e164: at most 63 characters, no NUL",
	    "e164 of 100 digits");
	free(body);
	refused(ADD, "{\"e164\":4681234567,\"naptr\":[" REC "]}", 400, "e164",
	    "e164: must be a string", "e164 as a number");
	refused(ADD, "{\"e164\":null,\"naptr\":[" REC "]}", 400, "e164",
	    "e164: must be a string", "e164 null");
	refused(ADD, "{\"e164\":[\"+4681234567\"],\"naptr\":[" REC "]}", 400,
	    "e164", "e164: must be a string", "e164 as an array");
	refused(ADD, "{\"e164\":{},\"naptr\":[" REC "]}", 400, "e164",
	    "e164: must be a string", "e164 as an object");

	/* naptr */
	refused(ADD, "{" E164 "}", 400, "naptr",
	    "naptr: required field missing", "naptr missing");
	refused(ADD, "{" E164 ",\"naptr\":" REC "}", 400, "naptr",
	    "naptr: must be an array of 1 to 16 NAPTR records",
	    "naptr an object, not an array");
	refused(ADD, "{" E164 ",\"naptr\":\"x\"}", 400, "naptr",
	    "must be an array of 1 to 16", "naptr a string");
	refused(ADD, "{" E164 ",\"naptr\":null}", 400, "naptr",
	    "must be an array of 1 to 16", "naptr null");
	refused(ADD, ADD_BODY(""), 400, "naptr", "must be an array of 1 to 16",
	    "naptr empty");
	body = repeat("{" E164 ",\"naptr\":[" REC, "," REC, NAPTR_MAX, "]}");
	refused(ADD, body, 400, "naptr", "must be an array of 1 to 16",
	    "17 records");
	free(body);
	refused(ADD, ADD_BODY("1"), 400, "naptr[0]",
	    "naptr[0]: must be an object", "a record that is a number");
	refused(ADD, ADD_BODY(REC ",[" REC "]"), 400, "naptr[1]",
	    "naptr[1]: must be an object", "the second record an array");
	refused(ADD, ADD_BODY(REC ",null"), 400, "naptr[1]",
	    "naptr[1]: must be an object", "the second record null");
	refused(ADD, ADD_BODY("{" ORD "," PREF "," SVC "," RE ",\"ttl\":60}"),
	    400, "naptr[0].ttl", "unknown field \"ttl\" in naptr[0] (allowed:"
	    " order, preference, flags, service, regexp, replacement)",
	    "an unknown member of a record");
}

#define NR(...) ADD_BODY("{" __VA_ARGS__ "}")

static void
test_naptr(void)
{
	char *body;

	refused(ADD, NR(PREF "," SVC "," RE), 400, "naptr[0].order",
	    "naptr[0].order: required field missing", "order missing");
	refused(ADD, NR("\"order\":\"100\"," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "naptr[0].order: must be an integer 0..65535",
	    "order as a string");
	refused(ADD, NR("\"order\":-1," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "must be an integer 0..65535", "order -1");
	refused(ADD, NR("\"order\":65536," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "must be an integer 0..65535", "order 65536");
	refused(ADD, NR("\"order\":1.5," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "must be an integer 0..65535", "order 1.5");
	refused(ADD, NR("\"order\":1e2," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "must be an integer 0..65535",
	    "order 1e2 (a real)");
	refused(ADD, NR("\"order\":100.0," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "must be an integer 0..65535", "order 100.0");
	refused(ADD, NR("\"order\":true," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "must be an integer 0..65535", "order true");
	refused(ADD, NR("\"order\":null," PREF "," SVC "," RE), 400,
	    "naptr[0].order", "must be an integer 0..65535", "order null");
	refused(ADD, NR("\"order\":9223372036854775807," PREF "," SVC "," RE),
	    400, "naptr[0].order", "must be an integer 0..65535",
	    "order INT64_MAX");
	refused(ADD, NR("\"order\":-9223372036854775808," PREF "," SVC ","
	    RE), 400, "naptr[0].order", "must be an integer 0..65535",
	    "order INT64_MIN");
	refused(ADD, NR("\"order\":99999999999999999999," PREF "," SVC ","
	    RE), 400, "", "malformed JSON", "order past int64 (jansson: too"
	    " big)");
	refused(ADD, NR(ORD "," SVC "," RE), 400, "naptr[0].preference",
	    "naptr[0].preference: required field missing",
	    "preference missing");
	refused(ADD, NR(ORD ",\"preference\":65536," SVC "," RE), 400,
	    "naptr[0].preference", "must be an integer 0..65535",
	    "preference 65536");
	refused(ADD, ADD_BODY(REC ",{" ORD ",\"preference\":-5," SVC "," RE
	    "}"), 400, "naptr[1].preference", "naptr[1].preference: must be",
	    "the second record's preference -5");

	refused(ADD, NR(ORD "," PREF ",\"flags\":\"u\\\"\"," SVC "," RE), 400,
	    "naptr[0].flags", "naptr[0].flags: NAPTR flags \"u\"\": only"
	    " letters and digits", "flags with a quote");
	refused(ADD, NR(ORD "," PREF ",\"flags\":\"u s\"," SVC "," RE), 400,
	    "naptr[0].flags", "only letters and digits", "flags with a space");
	refused(ADD, NR(ORD "," PREF ",\"flags\":\"UUUUUUUUUUUUUUUU\"," SVC
	    "," RE), 400, "naptr[0].flags", "naptr[0].flags: at most 15"
	    " characters", "flags of 16 characters");
	refused(ADD, NR(ORD "," PREF ",\"flags\":7," SVC "," RE), 400,
	    "naptr[0].flags", "naptr[0].flags: must be a string",
	    "flags as a number");

	refused(ADD, NR(ORD "," PREF ",\"service\":\"\"," RE), 400,
	    "naptr[0].service", "naptr[0].service: NAPTR service is empty",
	    "service empty");
	refused(ADD, NR(ORD "," PREF "," RE), 400, "naptr[0].service",
	    "naptr[0].service: required field missing", "service missing");
	refused(ADD, NR(ORD "," PREF ",\"service\":\"E2U+sip;x\"," RE), 400,
	    "naptr[0].service", "character ';' is not allowed",
	    "service with ';'");
	refused(ADD, NR(ORD "," PREF ",\"service\":[\"E2U+sip\"]," RE), 400,
	    "naptr[0].service", "must be a string", "service as an array");
	body = repeat("{" E164 ",\"naptr\":[{" ORD "," PREF ",\"service\":\"",
	    "E", 64, "\"," RE "}]}");
	refused(ADD, body, 400, "naptr[0].service", "at most 63 characters",
	    "service of 64 characters");
	free(body);

	refused(ADD, NR(ORD "," PREF "," SVC ",\"regexp\":\"!^.*$!sip:\\u0001"
	    "@x!\""), 400, "naptr[0].regexp", "naptr[0].regexp: NAPTR regexp"
	    " has a non-printable character at position 11",
	    "regexp with \\u0001");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"regexp\":\"!^.*$!sip:\\t@x!\""),
	    400, "naptr[0].regexp", "non-printable", "regexp with a tab");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"regexp\":\"!^.*$!sip:\\n@x!\""),
	    400, "naptr[0].regexp", "non-printable", "regexp with a newline");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"regexp\":\"!^.*$!sip:\\u007f"
	    "@x!\""), 400, "naptr[0].regexp", "non-printable",
	    "regexp with DEL");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"regexp\":\"!^.*$!sip:\\u00e9"
	    "@x!\""), 400, "naptr[0].regexp", "non-printable",
	    "regexp with U+00E9 (UTF-8 bytes)");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"regexp\":\"no-delims\""), 400,
	    "naptr[0].regexp", "must be DELIM ERE DELIM", "regexp without"
	    " delimiters");
	refused(ADD, NR(ORD "," PREF "," SVC), 400, "naptr[0].regexp",
	    "needs a regexp or a replacement domain",
	    "neither regexp nor replacement");
	body = repeat("{" E164 ",\"naptr\":[{" ORD "," PREF "," SVC
	    ",\"regexp\":\"!^.*$!", "x", 250, "!\"}]}");
	refused(ADD, body, 400, "naptr[0].regexp", "at most 255 characters",
	    "regexp of 256 characters");
	free(body);

	refused(ADD, NR(ORD "," PREF "," SVC ",\"replacement\":\"sip:x@y\""),
	    400, "naptr[0].replacement", "naptr[0].replacement: NAPTR"
	    " replacement \"sip:x@y\" is not a domain name",
	    "replacement not a domain");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"replacement\":\"a..b\""),
	    400, "naptr[0].replacement", "is not a domain name",
	    "replacement with an empty label");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"replacement\":\"a b.c\""),
	    400, "naptr[0].replacement", "is not a domain name",
	    "replacement with a space");
	refused(ADD, NR(ORD "," PREF "," SVC "," RE ",\"replacement\":"
	    "\"sip.example.net\""), 400, "naptr[0].replacement",
	    "must be \".\" when a regexp is given",
	    "a regexp and a replacement domain");
	refused(ADD, NR(ORD "," PREF "," SVC ",\"replacement\":false"), 400,
	    "naptr[0].replacement", "must be a string",
	    "replacement as a boolean");
}

static void
test_replace(void)
{
	struct store_change c;
	struct provreq_error pe;

	refused(REPLACE, "{\"e164\":\"+4681234568\",\"naptr\":[" REC "]}", 400,
	    "e164", "e164: the body names another number than the path"
	    " (+4681234567)", "replace: the body names another number");
	refused(REPLACE, "{\"e164\":4681234567,\"naptr\":[" REC "]}", 400,
	    "e164", "another number than the path", "replace: e164 a number");
	refused(REPLACE, "{\"op\":\"replace\",\"naptr\":[" REC "]}", 400, "op",
	    "unknown field \"op\" (allowed: e164, naptr)",
	    "replace: an unknown member");
	refused(REPLACE, "{\"naptr\":[]}", 400, "naptr",
	    "must be an array of 1 to 16", "replace: naptr empty");
	refused(REPLACE, "{}", 400, "naptr", "naptr: required field missing",
	    "replace: naptr missing");
	refused(REPLACE, "{\"naptr\":[{" ORD "," PREF "," SVC ",\"regexp\":"
	    "\"x\"}]}", 400, "naptr[0].regexp", "naptr[0].regexp: NAPTR regexp",
	    "replace: a bad regexp");

	/* the path's number is checked before the body is looked at */
	memset(&pe, 0, sizeof(pe));
	ncases++;
	ok(provreq_parse_replace("+46abc", "{", 1, &c, &pe) == -1 &&
	    pe.status == 400 && strcmp(pe.field, "e164") == 0 &&
	    strstr(pe.msg, "e164: invalid E.164") != NULL,
	    "replace: an invalid path number, before a malformed body");
	ncases++;
	ok(provreq_parse_remove("+46abc", &c, &pe) == -1 && pe.status == 400 &&
	    strcmp(pe.field, "e164") == 0, "remove: an invalid path number");
	ncases++;
	ok(provreq_parse_remove("+12345678901234567890", &c, &pe) == -1 &&
	    strstr(pe.msg, "at most 15 digits") != NULL,
	    "remove: a path number of 20 digits");
	ncases++;
	ok(provreq_check_e164("", "e164", &pe) == -1 &&
	    strcmp(pe.field, "e164") == 0, "provreq_check_e164: \"\"");
}

static void
test_batch(void)
{
	char *body;

	refused(BATCH, "{}", 400, "changes",
	    "changes: must be an array of 1 to 1000 changes", "changes missing");
	refused(BATCH, "{\"changes\":[]}", 400, "changes",
	    "must be an array of 1 to 1000", "changes empty");
	refused(BATCH, "{\"changes\":{}}", 400, "changes",
	    "must be an array of 1 to 1000", "changes an object");
	refused(BATCH, "{\"changes\":[],\"dry_run\":true}", 400, "dry_run",
	    "unknown field \"dry_run\" (allowed: changes)",
	    "an unknown member of the batch");
	body = batch_of(PROVREQ_BATCH_MAX + 1);
	refused(BATCH, body, 400, "changes", "must be an array of 1 to 1000",
	    "1001 changes (over PROVREQ_BATCH_MAX)");
	free(body);
	refused(BATCH, "{\"changes\":[1]}", 400, "changes[0]",
	    "changes[0] must be a JSON object", "a change that is a number");
	refused(BATCH, "{\"changes\":[{\"op\":\"remove\",\"e164\":\"+4681234567\""
	    "},\"add\"]}", 400, "changes[1]", "changes[1] must be a JSON object",
	    "the second change a string");
	refused(BATCH, "{\"changes\":[[{\"op\":\"remove\",\"e164\":"
	    "\"+4681234567\"}]]}", 400, "changes[0]", "must be a JSON object",
	    "a change inside an array");
	refused(BATCH, "{\"changes\":[{\"e164\":\"+4681234567\"}]}", 400,
	    "changes[0].op", "changes[0].op: required field missing",
	    "op missing");
	refused(BATCH, "{\"changes\":[{\"op\":\"frobnicate\",\"e164\":"
	    "\"+4681234567\"}]}", 400, "changes[0].op", "changes[0].op:"
	    " \"frobnicate\" is not add, replace or remove", "an unknown op");
	refused(BATCH, "{\"changes\":[{\"op\":1,\"e164\":\"+4681234567\"}]}",
	    400, "changes[0].op", "changes[0].op: must be a string",
	    "op a number");
	refused(BATCH, "{\"changes\":[{\"op\":\"ADD\",\"e164\":\"+4681234567\","
	    "\"naptr\":[" REC "]}]}", 400, "changes[0].op", "is not add",
	    "op in capitals");
	refused(BATCH, "{\"changes\":[{\"op\":\"remove\",\"e164\":"
	    "\"+4681234567\",\"naptr\":[" REC "]}]}", 400, "changes[0].naptr",
	    "changes[0].naptr: not allowed with op remove",
	    "naptr with remove");
	refused(BATCH, "{\"changes\":[{\"op\":\"add\",\"e164\":\"+4681234567\"}"
	    "]}", 400, "changes[0].naptr", "changes[0].naptr: required field"
	    " missing", "add without naptr");
	refused(BATCH, "{\"changes\":[{\"op\":\"remove\",\"e164\":"
	    "\"+4681234567\"},{\"op\":\"remove\",\"e164\":\"+46x\"}]}", 400,
	    "changes[1].e164", "changes[1].e164: invalid E.164",
	    "an invalid number in the second change");
	refused(BATCH, "{\"changes\":[{\"op\":\"remove\"}]}", 400,
	    "changes[0].e164", "changes[0].e164: required field missing",
	    "e164 missing in a change");
	refused(BATCH, "{\"changes\":[{\"op\":\"remove\",\"e164\":\"+4681234567"
	    "\",\"when\":0}]}", 400, "changes[0].when", "unknown field \"when\""
	    " in changes[0] (allowed: op, e164, naptr)",
	    "an unknown member of a change");
	refused(BATCH, "{\"changes\":[{\"op\":\"remove\",\"e164\":\"+4681234567"
	    "\"},{\"op\":\"remove\",\"e164\":\"+4681234568\"},{\"op\":\"add\","
	    "\"e164\":\"+4681234569\",\"naptr\":[{" ORD "," PREF "," SVC ","
	    "\"regexp\":\"!a!b\"}]}]}", 400, "changes[2].naptr[0].regexp",
	    "changes[2].naptr[0].regexp: NAPTR regexp",
	    "a bad regexp in the third change");
	refused(BATCH, "{\"changes\":[{\"op\":\"replace\",\"e164\":"
	    "\"+4681234567\",\"naptr\":[" REC ",{" PREF "," SVC "," RE "}]}]}",
	    400, "changes[0].naptr[1].order", "changes[0].naptr[1].order:"
	    " required field missing", "the second record's order missing");
}

/* Out of memory for the batch's changes: a 500, nothing leaked. */
static void
test_nomem(void)
{
	calloc_fail = 1;
	refused(BATCH, VALID_BATCH, 500, "", "out of memory for 3 changes",
	    "batch: calloc fails (failure injection)");
	ok(calloc_fail == 0, "  the parser's calloc was the one that failed");
	calloc_fail = 0;
}

/* Nesting: jansson's own limit (JSON_PARSER_MAX_DEPTH, 2048) stops the
 * parse; below it a nested value is refused by the member it sits in. */
static void
test_nesting(void)
{
	char *body, *open_, *close_, *mid;

	open_ = repeat("", "[", 100000, "");
	close_ = repeat("", "]", 100000, "");
	body = malloc(strlen(open_) + strlen(close_) + 32);
	if (body == NULL)
		abort();
	sprintf(body, "{\"changes\":%s%s}", open_, close_);
	refused(BATCH, body, 400, "", "maximum parsing depth reached",
	    "batch: arrays nested 100000 deep");
	sprintf(body, "%s%s", open_, close_);
	refused(ADD, body, 400, "", "maximum parsing depth reached",
	    "add: a body of arrays nested 100000 deep");
	free(body);
	free(open_);
	free(close_);

	body = repeat("", "{\"a\":", 3000, "1");
	mid = repeat(body, "}", 3000, "");
	refused(ADD, mid, 400, "", "maximum parsing depth reached",
	    "add: objects nested 3000 deep");
	free(body);
	free(mid);

	open_ = repeat("{" E164 ",\"naptr\":[" REC "],\"x\":", "[", 1000, "");
	body = repeat(open_, "]", 1000, "}");
	refused(ADD, body, 400, "x", "unknown field \"x\"",
	    "an unknown member nested 1000 deep");
	free(open_);
	free(body);

	open_ = repeat("{\"e164\":", "[", 1000, "");
	body = repeat(open_, "]", 1000, ",\"naptr\":[" REC "]}");
	refused(ADD, body, 400, "e164", "e164: must be a string",
	    "e164 nested 1000 deep");
	free(open_);
	free(body);

	open_ = repeat("{" E164 ",\"naptr\":[", "[", 1000, "");
	body = repeat(open_, "]", 1000, "]}");
	refused(ADD, body, 400, "naptr[0]", "naptr[0]: must be an object",
	    "a record nested 1000 deep");
	free(open_);
	free(body);

	open_ = repeat("{\"changes\":[", "[", 1000, "");
	body = repeat(open_, "]", 1000, "]}");
	refused(BATCH, body, 400, "changes[0]", "changes[0] must be a JSON"
	    " object", "a change nested 1000 deep");
	free(open_);
	free(body);

	body = repeat("{" E164 ",\"naptr\":[{" ORD "," PREF "," SVC ","
	    "\"regexp\":", "{\"r\":", 500, "1");
	mid = repeat(body, "}", 500, "}]}");
	refused(ADD, mid, 400, "naptr[0].regexp", "must be a string",
	    "a regexp of objects nested 500 deep");
	free(body);
	free(mid);
}

int
main(void)
{
	test_valid();
	test_json();
	test_members();
	test_naptr();
	test_replace();
	test_batch();
	test_nesting();
	test_nomem();
	diag("%d parser cases", ncases);
	return tap_done();
}
