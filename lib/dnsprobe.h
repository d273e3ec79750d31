/*
 * dnsprobe.h — ask a DNS server (over UDP) for a zone's SOA serial: the
 * background-load wait (S0.6: "background answers") and the service
 * checker both need to know what the DNS server actually serves, not what
 * it was told to load.  A minimal, bounds-checked RFC 1035 client.
 */
#ifndef ENUMDR_DNSPROBE_H
#define ENUMDR_DNSPROBE_H

#include <stdint.h>

/* SOA serial of origin as served by server (IPv4/IPv6 literal) on port.
 * Waits at most timeout_ms.  -1 with err on timeout, refusal (rcode),
 * no SOA in the answer, or a malformed reply. */
int dnsprobe_soa_serial(const char *server, int port, const char *origin,
    int timeout_ms, uint32_t *serial, char *err);

/* Split "ADDR", "ADDR:PORT", "[V6]:PORT" into addr and port (default 53). */
int dnsprobe_parse_server(const char *spec, char *addr, size_t addrlen,
    int *port, char *err);

#endif
