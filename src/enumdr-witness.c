/*
 * enumdr-witness — the witness of a two-room enumdr service (issue 15,
 * doc/witness.md): a small program at a third site that holds no numbers.
 * It answers GET /v1/witness?room=R with {"v":1,"witness":NAME,"time":UTC}
 * (lib/peerproto.c builds the answer); a room that gets the answer counts
 * the witness's vote, so that a room cut from its peer and from the
 * witness alone stops accepting changes (quorum.mode majority).
 *
 *   enumdr-witness --listen ADDR:PORT [--name NAME]
 *
 * It logs (syslog and stderr) the first request of each room and when a
 * room has not asked for 10 s.  SIGTERM or SIGINT stops it.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exitcodes.h"
#include "peerproto.h"
#include "util.h"

#define WITNESS_ROOMS_MAX 16
#define WITNESS_QUIET_MS  10000

static const char *witness_name = "witness";
static struct {
	char room[CONFIG_NAME_MAX];
	int64_t seen_ms;
	int quiet;
} rooms[WITNESS_ROOMS_MAX];
static size_t nrooms;
static pthread_mutex_t rooms_lock = PTHREAD_MUTEX_INITIALIZER;

static void
seen(const char *room)
{
	int64_t now = util_now_ms();
	size_t i;

	pthread_mutex_lock(&rooms_lock);
	for (i = 0; i < nrooms; i++)
		if (strcmp(rooms[i].room, room) == 0)
			break;
	if (i == nrooms && nrooms < WITNESS_ROOMS_MAX) {
		strlcpy_(rooms[i].room, room, sizeof(rooms[i].room));
		nrooms++;
		fprintf(stderr, "enumdr-witness: room %s asks\n", room);
	} else if (i < nrooms && rooms[i].quiet) {
		fprintf(stderr, "enumdr-witness: room %s asks again\n", room);
	}
	if (i < nrooms) {
		rooms[i].seen_ms = now;
		rooms[i].quiet = 0;
	}
	for (i = 0; i < nrooms; i++)
		if (!rooms[i].quiet && now - rooms[i].seen_ms > WITNESS_QUIET_MS) {
			rooms[i].quiet = 1;
			fprintf(stderr, "enumdr-witness: room %s has not asked for"
			    " %d s\n", rooms[i].room, WITNESS_QUIET_MS / 1000);
		}
	pthread_mutex_unlock(&rooms_lock);
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	const char *room;
	json_t *o;
	char *text;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, PEERPROTO_WITNESS_PATH) != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"no such"
		    " resource: the witness answers GET /v1/witness?room=R\"}");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "{\"error\":\"method not allowed (allowed: GET)\"}");
	room = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "room");
	if (room == NULL || !peerproto_room_valid(room))
		return reply(conn, MHD_HTTP_BAD_REQUEST, "{\"error\":\"room=R:"
		    " a room name ([A-Za-z0-9_-]{1,63})\"}");
	seen(room);
	if ((o = peerproto_witness_json(witness_name)) == NULL ||
	    (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "{\"error\":\"out of memory\"}");
	}
	json_decref(o);
	ret = reply(conn, MHD_HTTP_OK, text);
	free(text);
	return ret;
}

static int
parse_listen(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const char *listen_on = NULL;
	sigset_t set;
	int i, sig;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_on = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			witness_name = argv[++i];
		else
			break;
	}
	if (i != argc || listen_on == NULL || !peerproto_room_valid(witness_name)) {
		fprintf(stderr, "usage: enumdr-witness --listen ADDR:PORT"
		    " [--name NAME]   (NAME: [A-Za-z0-9_-]{1,63})\n");
		return EXIT_USAGE;
	}
	if (parse_listen(listen_on, &sa) == -1) {
		fprintf(stderr, "enumdr-witness: --listen %s: not IPv4ADDR:PORT\n",
		    listen_on);
		return EXIT_USAGE;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "enumdr-witness: cannot listen on %s: %s\n",
		    listen_on, strerror(errno));
		return EXIT_UNAVAILABLE;
	}
	fprintf(stderr, "enumdr-witness: witness %s listening on %s\n",
	    witness_name, listen_on);
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "enumdr-witness: stopping\n");
	MHD_stop_daemon(d);
	return EXIT_OK;
}
