/*
 * knotctl.c — `knotc --blocking zone-reload` through libknot's control
 * API: one DATA unit (command, zone, flag B), the BLOCK that ends the
 * request, then Knot's units until its BLOCK; an ERROR item in any of
 * them is the failure.
 */
#include <stdio.h>
#include <string.h>

#include <libknot/libknot.h>

#include "knotctl.h"
#include "util.h"

int
knotctl_zone_reload(const char *socket_path, const char *zone,
    int timeout_ms, char *err)
{
	knot_ctl_t *ctl;
	knot_ctl_data_t data;
	knot_ctl_type_t type;
	const char *what = zone != NULL ? zone : "every zone";
	char name[KNOT_DNAME_TXT_MAXLEN + 2];
	size_t len;
	int r, failed = 0, ret = -1;

	memset(&data, 0, sizeof(data));
	if (zone != NULL) {
		len = strlcpy_(name, zone, sizeof(name) - 1);
		if (len == 0 || len >= sizeof(name) - 1) {
			errf(err, "zone-reload: bad zone name \"%s\"", zone);
			return -1;
		}
		if (name[len - 1] != '.')
			memcpy(name + len, ".", 2);
		data[KNOT_CTL_IDX_ZONE] = name;
	}
	data[KNOT_CTL_IDX_CMD] = "zone-reload";
	data[KNOT_CTL_IDX_FLAGS] = "B";
	if ((ctl = knot_ctl_alloc()) == NULL) {
		errf(err, "zone-reload of %s: out of memory", what);
		return -1;
	}
	/* 0 is infinity to libknot: never wait without a bound */
	knot_ctl_set_timeout(ctl, timeout_ms > 0 ? timeout_ms : 1);
	if ((r = knot_ctl_connect(ctl, socket_path)) != KNOT_EOK) {
		errf(err, "zone-reload of %s: Knot control socket %s: %s",
		    what, socket_path, knot_strerror(r));
		goto done;
	}
	if ((r = knot_ctl_send(ctl, KNOT_CTL_TYPE_DATA, &data)) != KNOT_EOK ||
	    (r = knot_ctl_send(ctl, KNOT_CTL_TYPE_BLOCK, NULL)) != KNOT_EOK) {
		errf(err, "zone-reload of %s: sending to %s: %s", what,
		    socket_path, knot_strerror(r));
		goto close;
	}
	for (;;) {
		if ((r = knot_ctl_receive(ctl, &type, &data)) != KNOT_EOK) {
			errf(err, "zone-reload of %s: reading from %s: %s",
			    what, socket_path, knot_strerror(r));
			goto close;
		}
		if (type == KNOT_CTL_TYPE_BLOCK)
			break;
		if (type == KNOT_CTL_TYPE_END) {
			errf(err, "zone-reload of %s: %s ended the"
			    " conversation without an answer", what,
			    socket_path);
			goto close;
		}
		/* the first error is the one to tell */
		if (data[KNOT_CTL_IDX_ERROR] != NULL && !failed) {
			errf(err, "zone-reload of %s: Knot: %s",
			    data[KNOT_CTL_IDX_ZONE] != NULL ?
			    data[KNOT_CTL_IDX_ZONE] : what,
			    data[KNOT_CTL_IDX_ERROR]);
			failed = 1;
		}
	}
	ret = failed ? -1 : 0;
close:
	(void)knot_ctl_send(ctl, KNOT_CTL_TYPE_END, NULL);
	knot_ctl_close(ctl);
done:
	knot_ctl_free(ctl);
	return ret;
}
