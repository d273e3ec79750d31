/*
 * test_dnsprobe.c — lib/dnsprobe.c parses replies from the network: a
 * UDP responder on loopback (a thread of this test) answers its SOA query
 * with crafted replies — good ones, and truncated, mismatched, looping,
 * overlong and lying ones (issue 13: "lib/dnsprobe.c parses untrusted DNS
 * replies").  Each bad reply is refused with an error saying why, and none
 * may read out of bounds (the sanitizer run covers this program).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsprobe.h"
#include "tap.h"
#include "util.h"

#define ORIGIN "6.4.e164.arpa"

/* How the responder answers the query q (qlen bytes) into r: the length,
 * or -1 for no answer. */
typedef int craft_fn(const uint8_t *q, int qlen, uint8_t *r);

static int fd;
static craft_fn *craft;
static volatile int stop;

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Header from the query (id), flags, counts; the question copied.  The
 * question of our query starts at 12 and ends at qlen. */
static int
head(const uint8_t *q, int qlen, uint8_t *r, unsigned flags, unsigned qd,
    unsigned an)
{
	memcpy(r, q, (size_t)qlen);
	put16(r + 2, flags);
	put16(r + 4, qd);
	put16(r + 6, an);
	put16(r + 8, 0);
	put16(r + 10, 0);
	return qlen;
}

/* An SOA record: owner bytes (wire form), class, and rdata of rdlen
 * (mname and rname as pointers to the question, serial 0x12345678). */
static int
soa(uint8_t *r, int o, const uint8_t *owner, size_t olen, unsigned class)
{
	memcpy(r + o, owner, olen);
	o += (int)olen;
	put16(r + o, 6);
	put16(r + o + 2, class);
	memset(r + o + 4, 0, 4);
	put16(r + o + 8, 24);
	o += 10;
	put16(r + o, 0xc00c);
	put16(r + o + 2, 0xc00c);
	r[o + 4] = 0x12; r[o + 5] = 0x34; r[o + 6] = 0x56; r[o + 7] = 0x78;
	memset(r + o + 8, 0, 16);
	return o + 24;
}

static const uint8_t ptr_q[] = { 0xc0, 0x0c };

static int
good(const uint8_t *q, int n, uint8_t *r)
{
	return soa(r, head(q, n, r, 0x8400, 1, 1), ptr_q, 2, 1);
}

static int
good_upper(const uint8_t *q, int n, uint8_t *r)
{
	static const uint8_t o[] = "\0016\0014\004E164\004ARPA";

	return soa(r, head(q, n, r, 0x8400, 1, 1), o, sizeof(o), 1);
}

static int
truncated(const uint8_t *q, int n, uint8_t *r)
{
	good(q, n, r);
	return 11;
}

static int
cut_in_rdata(const uint8_t *q, int n, uint8_t *r)
{
	return good(q, n, r) - 9;
}

static int
wrong_id(const uint8_t *q, int n, uint8_t *r)
{
	int len = good(q, n, r);

	r[0] ^= 0xff;
	return len;
}

static int
not_answer(const uint8_t *q, int n, uint8_t *r)
{
	return soa(r, head(q, n, r, 0x0400, 1, 1), ptr_q, 2, 1);
}

static int
opcode(const uint8_t *q, int n, uint8_t *r)
{
	return soa(r, head(q, n, r, 0x8400 | 0x2000, 1, 1), ptr_q, 2, 1);
}

static int
refused(const uint8_t *q, int n, uint8_t *r)
{
	return head(q, n, r, 0x8405, 1, 0);
}

static int
no_question(const uint8_t *q, int n, uint8_t *r)
{
	int len = good(q, n, r);

	put16(r + 4, 0);
	return len;
}

static int
other_question(const uint8_t *q, int n, uint8_t *r)
{
	int len = good(q, n, r);

	r[13] = '7';                    /* 7.4.e164.arpa */
	return len;
}

static int
other_zone(const uint8_t *q, int n, uint8_t *r)
{
	static const uint8_t o[] = "\001x\004e164\004arpa";

	return soa(r, head(q, n, r, 0x8400, 1, 1), o, sizeof(o), 1);
}

static int
class_ch(const uint8_t *q, int n, uint8_t *r)
{
	return soa(r, head(q, n, r, 0x8400, 1, 1), ptr_q, 2, 3);
}

static int
pointer_loop(const uint8_t *q, int n, uint8_t *r)
{
	int o = head(q, n, r, 0x8400, 1, 1);
	uint8_t self[2];

	self[0] = (uint8_t)(0xc0 | (o >> 8));
	self[1] = (uint8_t)o;
	return soa(r, o, self, 2, 1);
}

static int
pointer_forward(const uint8_t *q, int n, uint8_t *r)
{
	static const uint8_t fwd[] = { 0xc3, 0xff };

	return soa(r, head(q, n, r, 0x8400, 1, 1), fwd, 2, 1);
}

static int
rdlen_past_end(const uint8_t *q, int n, uint8_t *r)
{
	int len = good(q, n, r);

	put16(r + len - 24 - 2, 4000);
	return len;
}

static int
many_answers(const uint8_t *q, int n, uint8_t *r)
{
	int len = head(q, n, r, 0x8400, 1, 65535);
	static const uint8_t o[] = "\001x\004e164\004arpa";

	return soa(r, len, o, sizeof(o), 1);
}

static int
reserved_label(const uint8_t *q, int n, uint8_t *r)
{
	static const uint8_t o[] = { 0x41, 'a', 0 };

	return soa(r, head(q, n, r, 0x8400, 1, 1), o, sizeof(o), 1);
}

static int
short_rdata(const uint8_t *q, int n, uint8_t *r)
{
	int len = good(q, n, r);

	put16(r + len - 24 - 2, 5);
	return len - 19;
}

static int
long_name(const uint8_t *q, int n, uint8_t *r)
{
	uint8_t o[300];
	size_t i;

	/* 5 labels of 51 bytes: 261 bytes on the wire */
	for (i = 0; i < 5; i++) {
		o[i * 52] = 51;
		memset(o + i * 52 + 1, 'a', 51);
	}
	o[260] = 0;
	return soa(r, head(q, n, r, 0x8400, 1, 1), o, 261, 1);
}

static void *
responder(void *arg)
{
	uint8_t q[512], r[2048];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;
	int len;

	(void)arg;
	while (!stop) {
		flen = sizeof(from);
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from,
		    &flen);
		if (n < 12 || stop)
			continue;
		memset(r, 0, sizeof(r));
		if ((len = craft(q, (int)n, r)) > 0)
			sendto(fd, r, (size_t)len, 0, (struct sockaddr *)&from,
			    flen);
	}
	return NULL;
}

static const struct {
	const char *what;
	craft_fn *fn;
	const char *err;      /* NULL: the probe succeeds */
} cases[] = {
	{ "a good SOA answer (owner compressed)", good, NULL },
	{ "owner in capitals (RFC 4343)", good_upper, NULL },
	{ "11 bytes: shorter than a header", truncated, "malformed" },
	{ "cut inside the SOA rdata", cut_in_rdata, "malformed" },
	{ "another query id: ignored until the timeout", wrong_id,
	  "no answer" },
	{ "QR not set (a query, not an answer)", not_answer, "malformed" },
	{ "opcode not QUERY", opcode, "malformed" },
	{ "rcode REFUSED", refused, "REFUSED" },
	{ "no question echoed", no_question, "does not answer its question" },
	{ "another question echoed", other_question,
	  "does not answer its question" },
	{ "an SOA of another zone", other_zone, "no SOA" },
	{ "the zone's SOA in class CH", class_ch, "no SOA" },
	{ "a compression pointer to itself", pointer_loop, "malformed" },
	{ "a compression pointer forward past the end", pointer_forward,
	  "malformed" },
	{ "an rdlength past the end", rdlen_past_end, "malformed" },
	{ "65535 answers announced, one sent", many_answers, "malformed" },
	{ "a label with reserved bits 01", reserved_label, "malformed" },
	{ "SOA rdata of 5 bytes", short_rdata, "malformed" },
	{ "an owner name over 255 bytes", long_name, "malformed" },
};

int
main(void)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	char err[ENUMDR_ERRLEN];
	struct timeval tv = { 0, 200000 };
	pthread_t t;
	uint32_t serial;
	size_t i;
	int rc, port;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) == -1) {
		printf("Bail out! cannot bind a UDP socket on loopback\n");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	port = ntohs(sa.sin_port);
	craft = good;
	if (pthread_create(&t, NULL, responder, NULL) != 0) {
		printf("Bail out! pthread_create\n");
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		craft = cases[i].fn;
		serial = 0;
		err[0] = '\0';
		rc = dnsprobe_soa_serial("127.0.0.1", port, ORIGIN,
		    cases[i].err != NULL && strcmp(cases[i].err,
		    "no answer") == 0 ? 300 : 2000, &serial, err);
		if (cases[i].err == NULL) {
			ok(rc == 0 && serial == 0x12345678, cases[i].what);
			if (rc != 0)
				diag("%s", err);
		} else {
			ok(rc == -1, cases[i].what);
			like(err, cases[i].err, "  the error says why");
		}
	}
	stop = 1;
	pthread_join(t, NULL);
	close(fd);
	return tap_done();
}
