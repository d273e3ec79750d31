/*
 * json_util.h — what the JSON readers of lib/ (peerproto, control,
 * provreq) share about jansson values.
 */
#ifndef ENUMDR_JSON_UTIL_H
#define ENUMDR_JSON_UTIL_H

#include <jansson.h>

/* What a JSON value is, for "not a string (it is a number)":
 * "an object", "an array", "a string", "a number", "a boolean", "null". */
const char *json_util_type_name(const json_t *v);

#endif
