#pragma once
// The guest's network as guest init sets it up before the workload starts:
// `lo` up in every mode; with a NIC (user, nat, bridged) the interface up, its
// IPv4 address and default route over rtnetlink, and /etc/resolv.conf; in
// user mode the RST fix-up of rst_ack_fixup.hpp; /etc/hosts where there is none.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/guest_wire.hpp"

namespace microagent::guestinit {

// Failures are returned as text for the log: a broken NIC must not keep the
// workload from running (it will see the network is down itself).
std::vector<std::string> configure_guest_network(const GuestNetwork& network);

// "nameserver A\n" per server. Pure.
std::string resolv_conf_text(const std::vector<std::string>& dns);

// /etc/hosts for an image that has none: localhost (v4 and v6) and the hostname. Pure.
std::string hosts_file_text(const std::string& hostname);

}  // namespace microagent::guestinit
