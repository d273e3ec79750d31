/*
 * dnsupdate.c — DNS UPDATE (RFC 2136) of Knot DNS over one kept-open TCP
 * connection (RFC 7766), TSIG-signed (RFC 8945).  Messages are built and
 * parsed with libknot; a flush pipelines every queued message and matches
 * the answers by ID.  Each update of a zone ends with its SOA, so that the
 * server's serial is the database serial of exactly what it holds; the
 * messages of one flush are signed at send time with consecutive IDs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml.h>

#include <libknot/libknot.h>

#include "dnsprobe.h"
#include "dnsupdate.h"
#include "naptr.h"
#include "util.h"

#define MSG_MAX     60000   /* bytes of one message, TSIG included */
#define PENDING_MAX 65535   /* messages of one flush: their IDs differ */
#define MAC_MAX     64      /* the longest TSIG MAC (hmac-sha512) */
#define KEYFILE_MAX 65536

struct dnsupd_msg {
	uint8_t *buf;       /* 2 length bytes, the message, room for a TSIG */
	size_t len, cap;    /* the message's length; buf's size */
	int answered;
	int unsigned_;      /* an SOA query: public data, sent unsigned */
	int refused_ok;     /* a signed SOA query: a REFUSED that carries a
	                     * TSIG error is still "not served" */
	uint8_t mac[MAC_MAX];  /* the request MAC, to check the answer's */
	size_t maclen;
	char zone[256];     /* for errors, without the final dot */
};

struct dnsupd {
	char server[128];
	struct sockaddr_storage sa;
	socklen_t salen;
	int timeout_ms;
	int fd;             /* -1: connect on the next call */
	int keyed;
	knot_tsig_key_t key;
	uint16_t next_id;
	struct dnsupd_msg *q;
	size_t nq, qcap;
	size_t rlen;        /* bytes of an answer read so far */
	uint8_t rbuf[2 + 65535];
};

/* What the answer to m (parsed, TSIG checked) means; 0 or -1 and err. */
typedef int answer_fn(struct dnsupd *, const struct dnsupd_msg *,
    const knot_pkt_t *, void *, char *);

/* A scalar child of mapping n named key, or NULL. */
static const char *
yaml_get(yaml_document_t *doc, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t *p;
	yaml_node_t *k, *v;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(doc, p->key);
		v = yaml_document_get_node(doc, p->value);
		if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, key) == 0)
			return (const char *)v->data.scalar.value;
	}
	return NULL;
}

/* Knot's key file (keymgr -t): key: [ {id, algorithm, secret} ]. */
static int
load_key(struct dnsupd *u, const char *path, char *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *list, *k;
	const char *id, *alg, *secret;
	char *text = NULL;
	size_t len;
	int ret = -1, r;

	if (util_read_file(path, KEYFILE_MAX, &text, &len, err) == -1)
		return -1;
	if (!yaml_parser_initialize(&parser)) {
		errf(err, "TSIG key file %s: out of memory", path);
		free(text);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		errf(err, "TSIG key file %s:%zu:%zu: malformed YAML: %s", path,
		    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "error");
		goto done;
	}
	root = yaml_document_get_root_node(&doc);
	list = NULL;
	if (root != NULL && root->type == YAML_MAPPING_NODE &&
	    root->data.mapping.pairs.top - root->data.mapping.pairs.start == 1) {
		yaml_node_pair_t *p = root->data.mapping.pairs.start;

		k = yaml_document_get_node(&doc, p->key);
		list = yaml_document_get_node(&doc, p->value);
		if (k->type != YAML_SCALAR_NODE ||
		    strcmp((char *)k->data.scalar.value, "key") != 0 ||
		    list->type != YAML_SEQUENCE_NODE ||
		    list->data.sequence.items.top -
		    list->data.sequence.items.start != 1)
			list = NULL;
	}
	k = list ? yaml_document_get_node(&doc,
	    *list->data.sequence.items.start) : NULL;
	if (k == NULL || k->type != YAML_MAPPING_NODE) {
		errf(err, "TSIG key file %s: expected one key as keymgr -t"
		    " writes it (key: - id: NAME, algorithm: ALG, secret:"
		    " BASE64)", path);
		goto doc;
	}
	id = yaml_get(&doc, k, "id");
	alg = yaml_get(&doc, k, "algorithm");
	secret = yaml_get(&doc, k, "secret");
	if (id == NULL || alg == NULL || secret == NULL) {
		errf(err, "TSIG key file %s: the key has no %s", path,
		    id == NULL ? "id" : alg == NULL ? "algorithm" : "secret");
		goto doc;
	}
	if ((r = knot_tsig_key_init(&u->key, alg, id, secret)) != KNOT_EOK) {
		errf(err, "TSIG key file %s: key %s (%s): %s", path, id, alg,
		    knot_strerror(r));
		goto doc;
	}
	u->keyed = 1;
	ret = 0;
doc:
	yaml_document_delete(&doc);
done:
	yaml_parser_delete(&parser);
	free(text);
	return ret;
}

static void
drop(struct dnsupd *u)
{
	if (u->fd != -1)
		close(u->fd);
	u->fd = -1;
	u->rlen = 0;
}

/* Wait for events on the connection until deadline: >0, or 0 on timeout. */
static int
wait_fd(int fd, short events, int64_t deadline, short *revents)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	for (;;) {
		if ((left = deadline - util_now_ms()) <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		*revents = pfd.revents;
		return r;
	}
}

/* A connection to use: the open one unless the server closed it (its
 * idle timeout), else a new one. */
static int
ensure_connected(struct dnsupd *u, int64_t deadline, char *err)
{
	struct pollfd pfd = { .fd = u->fd, .events = POLLIN };
	short rev;
	int one = 1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (u->fd != -1) {
		/* readable while idle: closed, reset or stray bytes */
		if (poll(&pfd, 1, 0) == 0)
			return 0;
		drop(u);
	}
	u->fd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (u->fd == -1) {
		errf_errno(err, "DNS server %s: socket", u->server);
		return -1;
	}
	(void)setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(u->fd, (struct sockaddr *)&u->sa, u->salen) == 0)
		return 0;
	if (errno != EINPROGRESS) {
		errf_errno(err, "DNS server %s: connect", u->server);
		goto fail;
	}
	if (wait_fd(u->fd, POLLOUT, deadline, &rev) <= 0) {
		errf(err, "DNS server %s: connect: no answer within %d ms",
		    u->server, u->timeout_ms);
		goto fail;
	}
	if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
	    soerr != 0) {
		errno = soerr;
		errf_errno(err, "DNS server %s: connect", u->server);
		goto fail;
	}
	return 0;
fail:
	drop(u);
	return -1;
}

/* The name of code in table, or "?". */
static const char *
name_of(const knot_lookup_t *table, int code)
{
	const knot_lookup_t *l = knot_lookup_by_id(table, code);

	return l != NULL ? l->name : "?";
}

/* What message m is, for errors. */
static const char *
msg_kind(const struct dnsupd_msg *m)
{
	return knot_wire_get_opcode(m->buf + 2) == KNOT_OPCODE_UPDATE ?
	    "DNS UPDATE" : "SOA query";
}

/* One answer (len bytes at wire): its message, its checks, its meaning. */
static int
take_answer(struct dnsupd *u, struct dnsupd_msg *m, size_t n, uint16_t base,
    uint8_t *wire, size_t len, answer_fn *fn, void *arg, char *err)
{
	knot_pkt_t *pkt;
	struct dnsupd_msg *x;
	knot_dname_txt_storage_t key;
	size_t i = n;
	const char *what;
	int r, ret = -1;

	if (len >= KNOT_WIRE_HEADER_SIZE)
		i = (uint16_t)(knot_wire_get_id(wire) - base);
	if (i >= n || m[i].answered) {
		errf(err, "DNS server %s: an answer to no question of ours"
		    " (%zu bytes)", u->server, len);
		return -1;
	}
	x = &m[i];
	what = msg_kind(x);
	if ((pkt = knot_pkt_new(wire, (uint16_t)len, NULL)) == NULL) {
		errf(err, "%s of zone %s: out of memory", what, x->zone);
		return -1;
	}
	if ((r = knot_pkt_parse(pkt, 0)) != KNOT_EOK) {
		errf(err, "%s of zone %s to %s: malformed answer: %s", what,
		    x->zone, u->server, knot_strerror(r));
		goto done;
	}
	if (!knot_wire_get_qr(wire) ||
	    knot_wire_get_opcode(wire) != knot_wire_get_opcode(x->buf + 2)) {
		errf(err, "%s of zone %s to %s: the answer is not one (QR or"
		    " opcode)", what, x->zone, u->server);
		goto done;
	}
	/* An error answer may come unsigned (Knot's REFUSED for a zone it
	 * does not serve): its rcode is all it says.  Anything else must
	 * carry our key's valid signature. */
	if (x->refused_ok && knot_pkt_ext_rcode(pkt) == KNOT_RCODE_REFUSED) {
		x->answered = 1;
		ret = fn(u, x, pkt, arg, err);
		goto done;
	}
	if (u->keyed && !x->unsigned_ && (pkt->tsig_rr != NULL ||
	    knot_pkt_ext_rcode(pkt) == KNOT_RCODE_NOERROR)) {
		if (pkt->tsig_rr == NULL)
			r = KNOT_ENOTSIG;
		else if (knot_tsig_rdata_error(pkt->tsig_rr) != 0) {
			knot_dname_to_str(key, u->key.name, sizeof(key));
			errf(err, "%s of zone %s to %s: server answered %s"
			    " (TSIG %s: key %s refused)", what, x->zone,
			    u->server, name_of(knot_rcode_names,
			    knot_wire_get_rcode(wire)), name_of(
			    knot_tsig_rcode_names,
			    knot_tsig_rdata_error(pkt->tsig_rr)), key);
			goto done;
		} else
			r = knot_tsig_client_check(pkt->tsig_rr, pkt->wire,
			    pkt->size, x->mac, x->maclen, &u->key, 0);
		if (r != KNOT_EOK) {
			errf(err, "%s of zone %s to %s: answer fails its TSIG"
			    " check: %s", what, x->zone, u->server,
			    knot_strerror(r));
			goto done;
		}
	}
	x->answered = 1;
	ret = fn(u, x, pkt, arg, err);
done:
	knot_pkt_free(pkt);
	return ret;
}

/* Sign m[0..n) with consecutive IDs, send them pipelined while reading
 * the answers, each handed to fn; all within timeout_ms.  On failure the
 * connection is dropped. */
static int
exchange(struct dnsupd *u, struct dnsupd_msg *m, size_t n, answer_fn *fn,
    void *arg, char *err)
{
	int64_t deadline = util_now_ms() + u->timeout_ms;
	uint16_t base = u->next_id;
	size_t i, sent = 0, off = 0, left = n, flen;
	char why[128];
	ssize_t r;
	short rev;
	int rc;

	if (ensure_connected(u, deadline, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		m[i].answered = 0;
		knot_wire_set_id(m[i].buf + 2, u->next_id++);
		m[i].maclen = sizeof(m[i].mac);
		if (u->keyed && !m[i].unsigned_ && (rc = knot_tsig_sign(m[i].buf + 2, &m[i].len,
		    m[i].cap - 2, NULL, 0, m[i].mac, &m[i].maclen, &u->key, 0,
		    0)) != KNOT_EOK) {
			errf(err, "zone %s: TSIG signing: %s", m[i].zone,
			    knot_strerror(rc));
			goto fail;
		}
		knot_wire_write_u16(m[i].buf, (uint16_t)m[i].len);
	}
	while (left > 0) {
		rc = wait_fd(u->fd, POLLIN | (sent < n ? POLLOUT : 0), deadline,
		    &rev);
		if (rc <= 0) {
			if (rc == 0)
				snprintf(why, sizeof(why), "no answer within"
				    " %d ms", u->timeout_ms);
			else
				snprintf(why, sizeof(why), "poll: %s",
				    strerror(errno));
			goto ioerr;
		}
		if ((rev & POLLOUT) && sent < n) {
			r = send(u->fd, m[sent].buf + off, 2 + m[sent].len - off,
			    MSG_NOSIGNAL);
			if (r == -1 && errno != EAGAIN && errno != EINTR) {
				snprintf(why, sizeof(why), "send: %s",
				    strerror(errno));
				goto ioerr;
			}
			if (r > 0 && (off += (size_t)r) == 2 + m[sent].len) {
				sent++;
				off = 0;
			}
		}
		if (!(rev & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = recv(u->fd, u->rbuf + u->rlen, sizeof(u->rbuf) - u->rlen, 0);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			snprintf(why, sizeof(why), "%s%s", r == 0 ?
			    "connection closed by the server" : "recv: ",
			    r == 0 ? "" : strerror(errno));
			goto ioerr;
		}
		u->rlen += (size_t)r;
		/* every whole answer read */
		while (u->rlen >= 2 && u->rlen >= 2 +
		    (flen = knot_wire_read_u16(u->rbuf))) {
			if (take_answer(u, m, n, base, u->rbuf + 2, flen, fn,
			    arg, err) == -1)
				goto fail;
			left--;
			u->rlen -= 2 + flen;
			memmove(u->rbuf, u->rbuf + 2 + flen, u->rlen);
		}
	}
	return 0;
ioerr:
	/* named by the first message without an answer */
	for (i = 0; m[i].answered; i++)
		;
	errf(err, "%s of zone %s to %s: %s (%zu of %zu answered)",
	    msg_kind(&m[i]), m[i].zone, u->server, why, n - left, n);
fail:
	drop(u);
	return -1;
}

int
dnsupd_open(struct dnsupd **out, const char *server, const char *keyfile,
    int timeout_ms, char *err)
{
	struct dnsupd *u;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;
	char addr[INET6_ADDRSTRLEN + 1];
	int port;

	*out = NULL;
	if (dnsprobe_parse_server(server, addr, sizeof(addr), &port, err) ==
	    -1)
		return -1;
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		errf(err, "DNS server %s: out of memory", server);
		return -1;
	}
	u->fd = -1;
	u->timeout_ms = timeout_ms;
	strlcpy_(u->server, server, sizeof(u->server));
	s4 = (struct sockaddr_in *)&u->sa;
	s6 = (struct sockaddr_in6 *)&u->sa;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		u->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		u->salen = sizeof(*s6);
	} else {
		errf(err, "DNS server %s: not an IPv4 or IPv6 address",
		    server);
		goto fail;
	}
	if ((keyfile != NULL && load_key(u, keyfile, err) == -1) ||
	    ensure_connected(u, util_now_ms() + timeout_ms, err) == -1)
		goto fail;
	*out = u;
	return 0;
fail:
	dnsupd_close(u);
	return -1;
}

static void
clear_queue(struct dnsupd *u, size_t from)
{
	while (u->nq > from)
		free(u->q[--u->nq].buf);
}

void
dnsupd_close(struct dnsupd *u)
{
	if (u == NULL)
		return;
	drop(u);
	clear_queue(u, 0);
	free(u->q);
	if (u->keyed)
		knot_tsig_key_deinit(&u->key);
	free(u);
}

size_t
dnsupd_pending(const struct dnsupd *u)
{
	return u->nq;
}

/* A message to origin with opcode: its question (the zone), then the
 * update (or answer) section open. */
static knot_pkt_t *
msg_begin(const knot_dname_t *origin, int opcode)
{
	knot_pkt_t *pkt;

	if ((pkt = knot_pkt_new(NULL, KNOT_WIRE_MAX_PKTSIZE, NULL)) == NULL)
		return NULL;
	knot_wire_set_opcode(pkt->wire, opcode);
	if (knot_pkt_put_question(pkt, origin, KNOT_CLASS_IN,
	    KNOT_RRTYPE_SOA) != KNOT_EOK ||
	    knot_pkt_begin(pkt, KNOT_ANSWER) != KNOT_EOK ||
	    (opcode == KNOT_OPCODE_UPDATE &&
	    knot_pkt_begin(pkt, KNOT_AUTHORITY) != KNOT_EOK)) {
		knot_pkt_free(pkt);
		return NULL;
	}
	return pkt;
}

/* Copy the message into m (a queue slot or a caller's), room for its
 * TSIG after it; the zone named as zone (final dot dropped). */
static int
msg_store(struct dnsupd *u, struct dnsupd_msg *m, const knot_pkt_t *pkt,
    const char *zone)
{
	size_t zl;

	memset(m, 0, sizeof(*m));
	m->len = pkt->size;
	m->cap = 2 + pkt->size + (u->keyed ? knot_tsig_wire_maxsize(&u->key) :
	    0);
	if ((m->buf = malloc(m->cap)) == NULL)
		return -1;
	memcpy(m->buf + 2, pkt->wire, pkt->size);
	strlcpy_(m->zone, zone, sizeof(m->zone));
	zl = strlen(m->zone);
	if (zl > 1 && m->zone[zl - 1] == '.')
		m->zone[zl - 1] = '\0';
	return 0;
}

/* Append the message to the queue. */
static int
queue_msg(struct dnsupd *u, const knot_pkt_t *pkt, const char *zone,
    char *err)
{
	struct dnsupd_msg *q;
	size_t cap;

	if (u->nq >= PENDING_MAX) {
		errf(err, "zone %s: more than %d DNS UPDATE messages queued",
		    zone, PENDING_MAX);
		return -1;
	}
	if (u->nq == u->qcap) {
		cap = u->qcap ? u->qcap * 2 : 16;
		if ((q = reallocarray(u->q, cap, sizeof(*q))) == NULL)
			goto nomem;
		u->q = q;
		u->qcap = cap;
	}
	if (msg_store(u, &u->q[u->nq], pkt, zone) == -1)
		goto nomem;
	u->nq++;
	return 0;
nomem:
	errf(err, "zone %s: out of memory queueing a DNS UPDATE", zone);
	return -1;
}

/* NAPTR rdata (RFC 3403 section 4.1) of r into rd; its length or -1. */
static int
naptr_rdata(const struct naptr_record *r, uint8_t *rd, size_t rdlen)
{
	const char *s[3] = { r->flags, r->service, r->regexp };
	size_t o = 4, l;
	int i;

	knot_wire_write_u16(rd, r->order);
	knot_wire_write_u16(rd + 2, r->preference);
	for (i = 0; i < 3; i++) {
		if ((l = strlen(s[i])) > 255 || o + 1 + l > rdlen)
			return -1;
		rd[o++] = (uint8_t)l;
		memcpy(rd + o, s[i], l);
		o += l;
	}
	if (knot_dname_from_str(rd + o, r->replacement, rdlen - o) == NULL)
		return -1;
	return (int)(o + knot_dname_size(rd + o));
}

/* Put change c (delete all at its owner, add its NAPTR set) in pkt, or
 * when it would not fit under limit, say so with 1. */
static int
put_change(knot_pkt_t *pkt, size_t limit, uint32_t ttl,
    const knot_dname_t *owner, const struct naptr_record *r, size_t n,
    char *err)
{
	knot_rrset_t del, add;
	uint8_t rd[1024];
	size_t i, need;
	int len, ret = -1;

	knot_rrset_init(&del, (knot_dname_t *)owner, KNOT_RRTYPE_ANY,
	    KNOT_CLASS_ANY, 0);
	knot_rrset_init(&add, (knot_dname_t *)owner, KNOT_RRTYPE_NAPTR,
	    KNOT_CLASS_IN, ttl);
	/* a delete RR has empty rdata; without any, libknot writes no RR */
	if (knot_rrset_add_rdata(&del, NULL, 0, NULL) != KNOT_EOK)
		goto nomem;
	/* uncompressed sizes: an upper bound of what the RRs take */
	need = knot_dname_size(owner) + 10;
	for (i = 0; i < n; i++) {
		if ((len = naptr_rdata(&r[i], rd, sizeof(rd))) == -1) {
			errf(err, "NAPTR record %zu: cannot be encoded", i + 1);
			goto done;
		}
		if (knot_rrset_add_rdata(&add, rd, (uint16_t)len, NULL) !=
		    KNOT_EOK)
			goto nomem;
		need += knot_dname_size(owner) + 10 + (size_t)len;
	}
	if (pkt->size + need > limit) {
		ret = 1;
		goto done;
	}
	if (knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &del, 0) != KNOT_EOK ||
	    (n > 0 && knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &add, 0) !=
	    KNOT_EOK)) {
		errf(err, "the records do not fit in a DNS message");
		goto done;
	}
	ret = 0;
	goto done;
nomem:
	errf(err, "out of memory");
done:
	knot_rdataset_clear(&del.rrs, NULL);
	knot_rdataset_clear(&add.rrs, NULL);
	return ret;
}

/* SOA rdata of soa with serial into rd; its length or -1. */
static int
soa_rdata(const struct dnsupd_soa *soa, uint32_t serial, uint8_t *rd,
    size_t rdlen)
{
	size_t o;

	if (knot_dname_from_str(rd, soa->mname, rdlen) == NULL)
		return -1;
	o = knot_dname_size(rd);
	if (knot_dname_from_str(rd + o, soa->rname, rdlen - o - 20) == NULL)
		return -1;
	o += knot_dname_size(rd + o);
	knot_wire_write_u32(rd + o, serial);
	knot_wire_write_u32(rd + o + 4, soa->refresh);
	knot_wire_write_u32(rd + o + 8, soa->retry);
	knot_wire_write_u32(rd + o + 12, soa->expire);
	knot_wire_write_u32(rd + o + 16, soa->minimum);
	return (int)(o + 20);
}

/* End pkt with the SOA carrying serial and queue it. */
static int
finish_zone_msg(struct dnsupd *u, knot_pkt_t *pkt, const char *origin,
    const knot_dname_t *apex, const struct dnsupd_soa *soa, uint32_t serial,
    char *err)
{
	knot_rrset_t rr;
	uint8_t rd[2 * KNOT_DNAME_MAXLEN + 20];
	int len, r;

	if ((len = soa_rdata(soa, serial, rd, sizeof(rd))) == -1) {
		errf(err, "zone %s: SOA names %s %s are not domain names",
		    origin, soa->mname, soa->rname);
		return -1;
	}
	knot_rrset_init(&rr, (knot_dname_t *)apex, KNOT_RRTYPE_SOA,
	    KNOT_CLASS_IN, soa->ttl);
	if (knot_rrset_add_rdata(&rr, rd, (uint16_t)len, NULL) != KNOT_EOK) {
		errf(err, "zone %s: out of memory", origin);
		return -1;
	}
	r = knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &rr, 0);
	knot_rdataset_clear(&rr.rrs, NULL);
	if (r != KNOT_EOK) {
		errf(err, "zone %s: SOA: %s", origin, knot_strerror(r));
		return -1;
	}
	return queue_msg(u, pkt, origin, err);
}

int
dnsupd_queue_zone(struct dnsupd *u, const char *origin, uint32_t ttl,
    const struct dnsupd_soa *soa, const struct dnsupd_change *c, size_t n,
    char *err)
{
	struct naptr_record rec[NAPTR_MAX];
	knot_dname_storage_t apex, owner;
	char verr[ENUMDR_ERRLEN];
	knot_pkt_t *pkt = NULL;
	size_t i, nrec, limit, from = u->nq;
	uint32_t serial = 0;
	int r;

	if (knot_dname_from_str(apex, origin, sizeof(apex)) == NULL) {
		errf(err, "zone %s: not a domain name", origin);
		return -1;
	}
	knot_dname_to_lower(apex);
	/* room for the SOA (uncompressed) and the TSIG after the changes */
	limit = MSG_MAX - (knot_dname_size(apex) + 10 + 2 * KNOT_DNAME_MAXLEN +
	    20) - (u->keyed ? knot_tsig_wire_maxsize(&u->key) : 0);
	for (i = 0; i < n; i++) {
		if (knot_dname_from_str(owner, c[i].owner, sizeof(owner)) !=
		    NULL)
			knot_dname_to_lower(owner);
		else
			owner[0] = '\0';  /* the root: in no zone of ours */
		if (knot_dname_in_bailiwick(owner, apex) < 0) {
			errf(err, "zone %s: %s is not a name in the zone",
			    origin, c[i].owner);
			goto fail;
		}
		nrec = 0;
		if (c[i].naptr != NULL && c[i].naptr[0] != '\0' &&
		    naptr_parse(c[i].naptr, rec, &nrec, verr) == -1) {
			errf(err, "zone %s: %s: %s", origin, c[i].owner, verr);
			goto fail;
		}
		for (;;) {
			if (pkt == NULL &&
			    (pkt = msg_begin(apex, KNOT_OPCODE_UPDATE)) == NULL) {
				errf(err, "zone %s: out of memory", origin);
				goto fail;
			}
			r = put_change(pkt, limit, ttl, owner, rec, nrec, verr);
			if (r == 0)
				break;
			/* a name that does not fit an empty message never will */
			if (r == -1 || knot_wire_get_nscount(pkt->wire) == 0) {
				errf(err, "zone %s: %s: %s", origin, c[i].owner,
				    r == -1 ? verr : "too large for a message");
				goto fail;
			}
			if (finish_zone_msg(u, pkt, origin, apex, soa, serial,
			    err) == -1)
				goto fail;
			knot_pkt_free(pkt);
			pkt = NULL;
		}
		serial = c[i].serial;
	}
	if (pkt != NULL && finish_zone_msg(u, pkt, origin, apex, soa, serial,
	    err) == -1)
		goto fail;
	knot_pkt_free(pkt);
	return 0;
fail:
	knot_pkt_free(pkt);
	clear_queue(u, from);
	return -1;
}

int
dnsupd_queue_catalog(struct dnsupd *u, const char *catalog,
    const char *label, const char *zone, int add, char *err)
{
	knot_dname_storage_t apex, owner, member;
	char name[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_rrset_t rr;
	knot_pkt_t *pkt;
	int ret = -1;

	snprintf(name, sizeof(name), "%s.zones.%s", label, catalog);
	if (knot_dname_from_str(apex, catalog, sizeof(apex)) == NULL ||
	    knot_dname_from_str(owner, name, sizeof(owner)) == NULL ||
	    knot_dname_from_str(member, zone, sizeof(member)) == NULL) {
		errf(err, "catalog %s: member %s (%s) is not a domain name",
		    catalog, zone, name);
		return -1;
	}
	if ((pkt = msg_begin(apex, KNOT_OPCODE_UPDATE)) == NULL) {
		errf(err, "catalog %s: out of memory", catalog);
		return -1;
	}
	/* RFC 2136 2.5.4: class NONE, TTL 0 deletes exactly this RR */
	knot_rrset_init(&rr, owner, KNOT_RRTYPE_PTR,
	    add ? KNOT_CLASS_IN : KNOT_CLASS_NONE, 0);
	if (knot_rrset_add_rdata(&rr, member, (uint16_t)knot_dname_size(member),
	    NULL) != KNOT_EOK ||
	    knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &rr, 0) != KNOT_EOK)
		errf(err, "catalog %s: out of memory", catalog);
	else
		ret = queue_msg(u, pkt, catalog, err);
	knot_rdataset_clear(&rr.rrs, NULL);
	knot_pkt_free(pkt);
	return ret;
}

static int
update_answer(struct dnsupd *u, const struct dnsupd_msg *m,
    const knot_pkt_t *pkt, void *arg, char *err)
{
	(void)arg;
	if (knot_pkt_ext_rcode(pkt) == KNOT_RCODE_NOERROR)
		return 0;
	errf(err, "DNS UPDATE of zone %s to %s: server answered %s", m->zone,
	    u->server, knot_pkt_ext_rcode_name(pkt));
	return -1;
}

int
dnsupd_flush(struct dnsupd *u, char *err)
{
	int ret = 0;

	if (u->nq > 0)
		ret = exchange(u, u->q, u->nq, update_answer, NULL, err);
	clear_queue(u, 0);
	return ret;
}

struct soa_result {
	uint32_t *serial;
	int *found;
	uint16_t rcode;
};

static int
soa_answer(struct dnsupd *u, const struct dnsupd_msg *m,
    const knot_pkt_t *pkt, void *arg, char *err)
{
	struct soa_result *res = arg;
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	const knot_rrset_t *rr;
	uint16_t i, rcode = knot_pkt_ext_rcode(pkt);

	*res->found = 0;
	res->rcode = rcode;
	/* SERVFAIL: a zone the server knows but holds no data of (Knot: its
	 * file is missing or did not load) — not served */
	if (rcode == KNOT_RCODE_REFUSED || rcode == KNOT_RCODE_NOTAUTH ||
	    rcode == KNOT_RCODE_SERVFAIL)
		return 0;
	if (rcode != KNOT_RCODE_NOERROR) {
		errf(err, "SOA query of zone %s to %s: server answered %s",
		    m->zone, u->server, knot_pkt_ext_rcode_name(pkt));
		return -1;
	}
	for (i = 0; i < an->count; i++) {
		rr = knot_pkt_rr(an, i);
		if (rr->type == KNOT_RRTYPE_SOA && rr->rrs.count > 0 &&
		    knot_dname_is_case_equal(rr->owner,
		    m->buf + 2 + KNOT_WIRE_HEADER_SIZE)) {
			*res->serial = knot_soa_serial(rr->rrs.rdata);
			*res->found = 1;
			break;
		}
	}
	return 0;
}

int
dnsupd_soa_serial(struct dnsupd *u, const char *origin, uint32_t *serial,
    int *found, char *err)
{
	struct soa_result res = { serial, found, 0 };
	struct dnsupd_msg m;
	knot_dname_storage_t apex;
	knot_pkt_t *pkt;
	int ret;

	*found = 0;
	if (knot_dname_from_str(apex, origin, sizeof(apex)) == NULL) {
		errf(err, "zone %s: not a domain name", origin);
		return -1;
	}
	if ((pkt = msg_begin(apex, KNOT_OPCODE_QUERY)) == NULL ||
	    msg_store(u, &m, pkt, origin) == -1) {
		knot_pkt_free(pkt);
		errf(err, "zone %s: out of memory", origin);
		return -1;
	}
	knot_pkt_free(pkt);
	/* the serial is public: asked like any resolver asks.  Knot answers
	 * a catalog zone only to a client that may transfer it: a REFUSED
	 * is asked again with the key (and a REFUSED to that, whatever its
	 * TSIG says — Knot answers BADKEY for a zone it has not loaded —
	 * means not served). */
	m.unsigned_ = 1;
	ret = exchange(u, &m, 1, soa_answer, &res, err);
	if (ret == 0 && !*found && u->keyed && res.rcode == KNOT_RCODE_REFUSED) {
		m.unsigned_ = 0;
		m.refused_ok = 1;
		ret = exchange(u, &m, 1, soa_answer, &res, err);
	}
	free(m.buf);
	return ret;
}
