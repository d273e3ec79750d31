/*
 * knotctl.h — the part of Knot DNS's control socket (libknot's knot_ctl_*,
 * the protocol knotc speaks) that DNS cannot do: reload one zone from its
 * file after a full load, waiting for the load to finish.
 */
#ifndef ENUMDR_KNOTCTL_H
#define ENUMDR_KNOTCTL_H

/* `knotc -s SOCKET --blocking zone-reload ZONE` (ZONE NULL: every zone),
 * bounded by timeout_ms.  0, or -1 with err naming the zone and Knot's
 * error. */
int knotctl_zone_reload(const char *socket_path, const char *zone,
    int timeout_ms, char *err);

#endif
