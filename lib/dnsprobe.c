/*
 * dnsprobe.c — SOA serial query over UDP (RFC 1035 sections 4.1, 3.3.13).
 * Every read from the reply is bounds-checked; compression pointers are
 * followed only backwards and at most 64 times.  A reply counts only when
 * it answers our question (id, QR, opcode, the question echoed) with an
 * SOA of the zone itself in class IN (tests/unit/test_dnsprobe.c feeds it
 * crafted replies).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsprobe.h"
#include "util.h"

#define DNS_TYPE_SOA 6
#define DNS_CLASS_IN 1

int
dnsprobe_parse_server(const char *spec, char *addr, size_t addrlen, int *port,
    char *err)
{
	const char *colon;
	char *end;
	long p = 53;
	size_t alen;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL) {
			errf(err, "DNS server \"%s\": missing ']'", spec);
			return -1;
		}
		alen = (size_t)(close - spec - 1);
		if (alen >= addrlen)
			goto toolong;
		memcpy(addr, spec + 1, alen);
		addr[alen] = '\0';
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strchr(spec, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;   /* bare IPv6 literal */
		alen = colon ? (size_t)(colon - spec) : strlen(spec);
		if (alen >= addrlen)
			goto toolong;
		memcpy(addr, spec, alen);
		addr[alen] = '\0';
	}
	if (colon) {
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno || *end || p < 1 || p > 65535) {
			errf(err, "DNS server \"%s\": bad port", spec);
			return -1;
		}
	}
	*port = (int)p;
	return 0;
toolong:
	errf(err, "DNS server \"%s\": address too long", spec);
	return -1;
}

/* Encode origin as a wire-format name at buf; returns its length or -1. */
static int
encode_name(const char *origin, uint8_t *buf, size_t buflen)
{
	size_t o = 0;
	const char *p = origin, *dot;

	while (*p) {
		size_t l;

		dot = strchr(p, '.');
		l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || o + l + 2 > buflen)
			return -1;
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	if (o + 1 > buflen)
		return -1;
	buf[o++] = 0;
	return (int)o;
}

/* Skip a (possibly compressed) name at *off; -1 when malformed. */
static int
skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t o = *off;

	for (;;) {
		if (o >= len)
			return -1;
		if ((m[o] & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if (m[o] & 0xc0)
			return -1;
		if (m[o] == 0) {
			*off = o + 1;
			return 0;
		}
		o += (size_t)m[o] + 1;
	}
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Is the (possibly compressed) name at off the zone origin?  Compression
 * pointers are followed only backwards (to an earlier offset than the
 * label that points) and at most 64 times; the name is at most 255 bytes
 * on the wire (RFC 1035 3.1).  Labels compare without regard to ASCII
 * case (RFC 4343).  -1 when malformed (checked to the end even when an
 * early label differs), 0 when another name, 1 when equal.
 */
static int
name_is(const uint8_t *m, size_t len, size_t off, const char *origin)
{
	const char *o = origin;
	size_t wire = 0, hops = 0, l, i;
	int equal = 1;       /* so far; the whole name is checked anyway */

	for (;;) {
		if (off >= len)
			return -1;
		if ((m[off] & 0xc0) == 0xc0) {
			size_t to;

			if (off + 2 > len || ++hops > 64)
				return -1;
			to = (size_t)(m[off] & 0x3f) << 8 | m[off + 1];
			if (to >= off)
				return -1;
			off = to;
			continue;
		}
		if (m[off] & 0xc0)
			return -1;
		l = m[off];
		wire += l + 1;
		if (wire > 255 || off + 1 + l > len)
			return -1;
		if (l == 0)
			return equal && (*o == '\0' ||
			    (o[0] == '.' && o[1] == '\0'));
		if (equal && o != origin) {
			if (*o != '.')
				equal = 0;
			else
				o++;
		}
		for (i = 0; equal && i < l; i++, o++)
			if (*o == '\0' || *o == '.' ||
			    tolower(m[off + 1 + i]) != tolower((unsigned char)*o))
				equal = 0;
		off += 1 + l;
	}
}

static int
parse_reply(const uint8_t *m, size_t len, uint16_t id, uint32_t *serial,
    const char *origin, char *err)
{
	size_t off = 12;
	unsigned qd, an, i;

	/* an answer (QR), to a standard query (opcode 0), to our id */
	if (len < 12 || get16(m) != id || !(m[2] & 0x80) ||
	    (m[2] & 0x78) != 0) {
		errf(err, "malformed DNS reply for %s", origin);
		return -1;
	}
	if ((m[3] & 0x0f) != 0) {
		static const char *const rc[] = { "NOERROR", "FORMERR",
		    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
		unsigned r = m[3] & 0x0f;
		errf(err, "DNS server answered %s for %s SOA", r < 6 ? rc[r] :
		    "an error", origin);
		return -1;
	}
	qd = get16(m + 4);
	an = get16(m + 6);
	/* the question echoed: exactly ours (origin, SOA, IN) */
	if (qd != 1 || name_is(m, len, off, origin) != 1 ||
	    skip_name(m, len, &off) == -1 || off + 4 > len ||
	    get16(m + off) != DNS_TYPE_SOA || get16(m + off + 2) !=
	    DNS_CLASS_IN) {
		errf(err, "DNS reply for %s does not answer its question",
		    origin);
		return -1;
	}
	off += 4;
	for (i = 0; i < an; i++) {
		uint16_t type, class, rdlen;
		size_t rd, owner = off;
		int mine;

		if (skip_name(m, len, &off) == -1 || off + 10 > len)
			goto bad;
		type = get16(m + off);
		class = get16(m + off + 2);
		rdlen = get16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			goto bad;
		if ((mine = name_is(m, len, owner, origin)) == -1)
			goto bad;
		if (type == DNS_TYPE_SOA && class == DNS_CLASS_IN && mine) {
			rd = off;
			if (skip_name(m, off + rdlen, &rd) == -1 ||
			    skip_name(m, off + rdlen, &rd) == -1 ||
			    rd + 4 > off + rdlen)
				goto bad;
			*serial = (uint32_t)m[rd] << 24 | (uint32_t)m[rd + 1] << 16 |
			    (uint32_t)m[rd + 2] << 8 | m[rd + 3];
			return 0;
		}
		off += rdlen;
	}
	errf(err, "DNS server has no SOA for %s (zone not loaded?)", origin);
	return -1;
bad:
	errf(err, "malformed DNS reply for %s", origin);
	return -1;
}

int
dnsprobe_soa_serial(const char *server, int port, const char *origin,
    int timeout_ms, uint32_t *serial, char *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint8_t q[512], r[4096];
	uint16_t id;
	int fd, n, qlen;
	int64_t deadline, now, next_send = 0;
	struct timespec ts;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, server, &((struct sockaddr_in *)&ss)->sin_addr)) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, server,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr)) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in6);
	} else {
		errf(err, "DNS server \"%s\" is not an IP address", server);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	id = (uint16_t)(ts.tv_nsec ^ getpid());
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[5] = 1;                       /* one question */
	n = encode_name(origin, q + 12, sizeof(q) - 16);
	if (n == -1) {
		errf(err, "cannot encode zone name \"%s\"", origin);
		return -1;
	}
	qlen = 12 + n;
	q[qlen++] = 0;
	q[qlen++] = DNS_TYPE_SOA;
	q[qlen++] = 0;
	q[qlen++] = DNS_CLASS_IN;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		errf_errno(err, "socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
		errf_errno(err, "connect to DNS server %s port %d", server, port);
		close(fd);
		return -1;
	}
	deadline = util_now_ms() + timeout_ms;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t got;

		now = util_now_ms();
		if (now >= deadline) {
			errf(err, "no answer from DNS server %s port %d for %s"
			    " SOA within %d ms", server, port, origin,
			    timeout_ms);
			break;
		}
		if (now >= next_send) {
			/* (Re)send; a lost datagram is retried every 500 ms. */
			if (send(fd, q, (size_t)qlen, 0) == -1 &&
			    errno != ECONNREFUSED) {
				errf_errno(err, "send to DNS server %s", server);
				break;
			}
			next_send = now + 500;
		}
		n = poll(&pfd, 1, (int)((next_send < deadline ? next_send :
		    deadline) - now));
		if (n <= 0)
			continue;
		got = recv(fd, r, sizeof(r), 0);
		if (got == -1) {
			if (errno == ECONNREFUSED) {
				/* Nothing listening yet; keep trying. */
				continue;
			}
			errf_errno(err, "receive from DNS server %s", server);
			break;
		}
		if ((size_t)got >= 2 && get16(r) != id)
			continue;       /* a late answer to nothing of ours */
		n = parse_reply(r, (size_t)got, id, serial, origin, err);
		close(fd);
		return n;
	}
	close(fd);
	return -1;
}
