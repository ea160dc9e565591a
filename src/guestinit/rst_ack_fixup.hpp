#pragma once
// Makes passt's refusals visible to the guest's TCP.
//
// passt as Debian 12 ships it (0.0~git20230309) answers a guest SYN to a closed
// port (or one the host refuses) with a bare RST: the ACK bit is clear, although
// the segment's ack_seq is the guest's ISN+1. A SYN-SENT socket must drop a RST
// without ACK (RFC 9293 3.10.7.3), so connect() in the guest kept re-sending SYNs
// for about two minutes instead of failing with ECONNREFUSED: `wget` and `nc` to a
// closed port hung. A small XDP program on the user-mode NIC sets the ACK bit on
// such RSTs (and patches the TCP checksum), which makes the guest accept them.
#include <string>
#include <vector>

#include <linux/bpf.h>

namespace microagent::guestinit {

// The XDP program (pure): IPv4/TCP frames with RST set and ACK clear get ACK set
// and their checksum updated; every frame is passed on.
std::vector<bpf_insn> rst_ack_fixup_program();

// Loads the program and attaches it (generic XDP) to interface `ifindex`.
// Empty on success, else what failed (for the log: the network still works).
std::string attach_rst_ack_fixup(unsigned ifindex);

}  // namespace microagent::guestinit
