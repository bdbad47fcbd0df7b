# netns.sh: test hosts in network namespaces on one bridge (sourced,
# POSIX sh). The namespaces are the test's own and it removes them.
#
# netns_bridge PREFIX N NET: makes PREFIXb holding bridge br0, and PREFIXn1
# .. PREFIXnN, each with eth0 on the bridge at NET.i/24 (with a broadcast
# address) and lo up. Returns 1, having made nothing, when namespaces
# cannot be made here (the caller skips).
netns_bridge() {
	ip netns add "${1}b" 2>/dev/null || return 1
	ip -n "${1}b" link add br0 type bridge
	ip -n "${1}b" link set br0 up
	for _i in $(seq 1 "$2"); do
		ip netns add "${1}n$_i"
		ip -n "${1}b" link add "h$_i" type veth peer name eth0 \
		    netns "${1}n$_i"
		ip -n "${1}b" link set "h$_i" master br0 up
		ip -n "${1}n$_i" addr add "$3.$_i/24" brd + dev eth0
		ip -n "${1}n$_i" link set eth0 up
		ip -n "${1}n$_i" link set lo up
	done
}

# netns_remove PREFIX N: removes what netns_bridge made (quietly, so it
# can run from an EXIT trap whatever was made).
netns_remove() {
	for _i in $(seq 1 "$2"); do
		ip netns del "${1}n$_i" 2>/dev/null
	done
	ip netns del "${1}b" 2>/dev/null
}
