// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * bench/sockmap/relay.bpf.c - the kernel half of bench/sockmap/relay.c, a
 * benchmark prototype (not moat code)
 *
 * Theory of operation
 * -------------------
 * An sk_skb stream verdict program attached to a SOCKMAP of two slots:
 * slot 0 holds the relay's socket towards the client, slot 1 the one
 * towards the server. Every skb received on either socket is redirected
 * to the other one's transmit path (bpf_sk_redirect_map(), flags 0:
 * egress), so the bytes of an established relay never reach the
 * relaying process. Which side an skb came from is told by its local
 * port: the client's connection is the one on the relay's listening port
 * (relay_conf[0], written by the loader).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} relay_socks SEC(".maps");

/* [0]: the relay's listening port, host order (written by the loader) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} relay_conf SEC(".maps");

/**
 * relay_verdict() - send what one side received to the other side
 * @skb:	received data
 *
 * Return: SK_PASS once redirected, SK_DROP if the other side is missing
 */
SEC("sk_skb/stream_verdict")
int relay_verdict(struct __sk_buff *skb)
{
	__u32 k = 0, *port = bpf_map_lookup_elem(&relay_conf, &k);
	__u32 to = port && skb->local_port == *port ? 1 : 0;

	return bpf_sk_redirect_map(skb, &relay_socks, to, 0);
}

char LICENSE[] SEC("license") = "GPL";
