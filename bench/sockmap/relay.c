// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * bench/sockmap/relay.c - a TCP relay whose bytes move in the kernel
 * (BPF sockmap), to measure what such a relay reaches on this machine
 * against moat's splice relay; a benchmark prototype, not moat code
 *
 *   relay LISTEN_ADDR LISTEN_PORT SERVER_ADDR SERVER_PORT relay.bpf.o
 *
 * Theory of operation
 * -------------------
 * relay.bpf.o's verdict program is attached to its two-slot SOCKMAP. One
 * client at a time: the relay accepts it, reads its first bytes (the
 * request) itself, connects to the server, puts both sockets in the map
 * (slot 0 the client's, slot 1 the server's) and only then sends the
 * request on: from there every byte either side sends is redirected by
 * the kernel to the other side's transmit path and the relay only waits
 * (poll) for the client to hang up, then takes both out of the map and
 * closes them.
 *
 * What a relay for real use would also need and this one leaves out, on
 * purpose (it measures throughput): a FIN is not redirected (the server's
 * is not passed on; the clients here know the response's length), and
 * the sockets' buffers are the kernel's autotuned ones.
 */
#define _GNU_SOURCE	/* POLLRDHUP */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/**
 * relay_addr() - an IPv4 socket address
 * @sa:		filled in
 * @addr:	dotted quad
 * @port:	port
 *
 * Return: 0, or -1 if @addr is not an IPv4 address
 */
static int relay_addr(struct sockaddr_in *sa, const char *addr, const char *port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -1;
}

/**
 * relay_one() - relay one client through the map until it hangs up
 * @cfd:	the accepted client
 * @srv:	the server's address
 * @map:	the SOCKMAP's descriptor
 */
static void relay_one(int cfd, const struct sockaddr_in *srv, int map)
{
	char req[16384];
	struct pollfd p = { .fd = cfd, .events = POLLRDHUP };
	uint32_t k;
	ssize_t n;
	int sfd, fd;

	n = recv(cfd, req, sizeof(req), 0);
	if (n <= 0)
		return;
	sfd = socket(AF_INET, SOCK_STREAM, 0);
	if (sfd < 0 || connect(sfd, (const struct sockaddr *)srv, sizeof(*srv))) {
		perror("relay: connect");
		if (sfd >= 0)
			close(sfd);
		return;
	}
	for (k = 0; k < 2; k++) {
		uint64_t v;

		fd = k ? sfd : cfd;
		v = (uint64_t)fd;
		if (bpf_map_update_elem(map, &k, &v, BPF_ANY)) {
			perror("relay: sockmap update");
			close(sfd);
			return;
		}
	}
	if (send(sfd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		perror("relay: send");
	} else {
		while (poll(&p, 1, -1) >= 0 &&
		       !(p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			;
	}
	for (k = 0; k < 2; k++)
		bpf_map_delete_elem(map, &k);
	close(sfd);
}

/**
 * main() - load the program, listen, relay clients one after the other
 * @argc:	6
 * @argv:	see the top of the file
 *
 * Return: 1 on a set-up failure (it runs until killed otherwise)
 */
int main(int argc, char **argv)
{
	struct sockaddr_in lsa, srv;
	struct bpf_object *obj;
	struct bpf_program *prog;
	int lfd, map, conf, one = 1;
	uint32_t k = 0, port;

	if (argc != 6 || relay_addr(&lsa, argv[1], argv[2]) ||
	    relay_addr(&srv, argv[3], argv[4])) {
		fprintf(stderr, "usage: relay LISTEN_ADDR LISTEN_PORT SERVER_ADDR SERVER_PORT relay.bpf.o\n");
		return 1;
	}
	obj = bpf_object__open_file(argv[5], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "relay: cannot load %s\n", argv[5]);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "relay_verdict");
	map = bpf_object__find_map_fd_by_name(obj, "relay_socks");
	conf = bpf_object__find_map_fd_by_name(obj, "relay_conf");
	port = (uint32_t)atoi(argv[2]);
	if (!prog || map < 0 || conf < 0 ||
	    bpf_map_update_elem(conf, &k, &port, BPF_ANY) ||
	    bpf_prog_attach(bpf_program__fd(prog), map,
			    BPF_SK_SKB_STREAM_VERDICT, 0)) {
		perror("relay: attach");
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&lsa, sizeof(lsa)) ||
	    listen(lfd, 64)) {
		perror("relay: listen");
		return 1;
	}
	for (;;) {
		int cfd = accept(lfd, NULL, NULL);

		if (cfd < 0)
			continue;
		relay_one(cfd, &srv, map);
		close(cfd);
	}
}
