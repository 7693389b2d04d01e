// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * svctl.c - client of a supervisor's control socket
 *
 * Theory of operation
 * -------------------
 * Every running sandbox's supervisor (supervisor.c) listens on a Unix
 * stream socket, ctl.sock in the sandbox's state directory (mode 0600 in a
 * root-owned directory; the supervisor serves only peers of UID 0). The
 * protocol is one line of request ("status", "stop", ...) and one line of
 * JSON in answer, after which the supervisor closes the connection. This
 * file is the client side, so that commands that only ask a supervisor
 * something ("moat inspect", "moat stats") depend on it and not on the
 * supervisor's own code: svctl_request() connects, sends the request,
 * reads at most SVCTL_RESP_MAX bytes until the supervisor closes, within
 * SVCTL_TIMEOUT_S seconds for each send and read (SVCTL_UPDATE_TIMEOUT_S
 * for "update"), and parses the JSON.
 * svctl_addr() names the socket for both sides.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "err.h"
#include "svctl.h"

#define SVCTL_RESP_MAX		16384	/* bytes of an answer, newline included */
#define SVCTL_TIMEOUT_S		2	/* for each send and read */
#define SVCTL_UPDATE_TIMEOUT_S	30	/* "update": a transaction and a walk of
					 * the conntrack table */

/**
 * svctl_addr() - address of a sandbox's control socket
 * @c:		settings
 * @name:	sandbox
 * @sun:	filled in
 *
 * Return: 0, or -ENAMETOOLONG
 */
int svctl_addr(const struct moat_config *c, const char *name,
	       struct sockaddr_un *sun)
{
	autofree char *path = state_path(c, name, "ctl.sock");

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/**
 * svctl_request() - ask a supervisor something over its control socket
 * @c:		settings
 * @name:	sandbox
 * @req:	the request line, without its newline ("status", "stop", ...)
 * @resp:	set to the parsed JSON answer
 *
 * Return: 0, or -errno (-EPROTO if the answer is not JSON)
 */
int svctl_request(const struct moat_config *c, const char *name,
		  const char *req, json_t **resp)
{
	struct timeval tv = {
		.tv_sec = strcmp(req, "update") ? SVCTL_TIMEOUT_S :
						   SVCTL_UPDATE_TIMEOUT_S,
	};
	autoclose int fd = -1;
	struct sockaddr_un sun;
	char buf[SVCTL_RESP_MAX];
	size_t len = 0;
	ssize_t n;
	int ret;

	*resp = NULL;
	ret = svctl_addr(c, name, &sun);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		return -errno;
	if (dprintf(fd, "%s\n", req) < 0)
		return -errno;
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*resp = json_loads(buf, 0, NULL);
	return *resp ? 0 : -EPROTO;
}
