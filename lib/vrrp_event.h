/*
 * vrrp_event.h — keepalived's notify contract, enumdr-notify's input (S0.6,
 * S0.7): the notify FIFO line (notify_fifo_script)
 *
 *   INSTANCE "VI_1" MASTER 100
 *   GROUP "G1" BACKUP
 *
 * and the argument form of notify / notify_master ... scripts
 *
 *   INSTANCE VI_1 MASTER 100
 *
 * One parser for each, strict and bounded: TYPE INSTANCE or GROUP, a NAME
 * of 1-127 printable ASCII bytes (no '"'), a STATE, and an optional
 * PRIORITY 0-255.  Lines keepalived writes that are not a state change of
 * an instance or group (VS/RS lines of the checker side, the
 * MASTER_RX_LOWER_PRI and *_PRIORITY notices, states this program does not
 * act on) are told apart from malformed ones.
 */
#ifndef ENUMDR_VRRP_EVENT_H
#define ENUMDR_VRRP_EVENT_H

#include <stddef.h>

#define VRRP_NAME_MAX 128     /* NAME, with its NUL */

enum vrrp_state { VRRP_NONE, VRRP_MASTER, VRRP_BACKUP, VRRP_FAULT, VRRP_STOP };

struct vrrp_event {
	char type[16];              /* INSTANCE or GROUP */
	char name[VRRP_NAME_MAX];
	enum vrrp_state state;
	int priority;               /* 0 when not given */
};

/* What vrrp_event_parse_fifo found. */
#define VRRP_EVENT    0         /* a state change of an instance or group */
#define VRRP_IGNORED  1         /* a well-formed line that is not one */
#define VRRP_MALFORMED (-1)     /* anything else (err says why) */

/* Parse one FIFO line (without its newline, at most len bytes, no NUL
 * inside: a NUL byte is malformed). */
int vrrp_event_parse_fifo(const char *line, size_t len, struct vrrp_event *ev,
    char *err);

/* Parse notify arguments TYPE NAME STATE [PRIORITY] (argc 3 or 4): 0, or
 * -1 with err naming the argument. */
int vrrp_event_parse_args(char *const *argv, int argc, struct vrrp_event *ev,
    char *err);

/* "MASTER", "BACKUP", "FAULT", "STOP", "NONE". */
const char *vrrp_state_name(enum vrrp_state s);
/* keepalived's target states; DELETED (an instance removed by a reload)
 * is a stop for us; VRRP_NONE for anything else. */
enum vrrp_state vrrp_state_from(const char *s);

#endif
