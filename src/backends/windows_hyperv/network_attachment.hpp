#pragma once
// A VM's network through HNS/HCN: `user` and `nat` get an endpoint on the
// managed microagent-nat network (created when missing, else reused),
// `isolated` gets no adapter, `bridged` joins the HNS network named by
// network.interface and fails closed when there is none. The endpoint is the
// only thing a VM owns here: release_endpoint runs on every path that ends it.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/windows_host.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::windows_hyperv {

struct NetworkAttachment {
  std::string network_id;
  std::string network_name;
  std::string endpoint_id;
  std::string mac_address;
  std::string ip_address;
};

// Mode, interface and port-forward checks that need no host.
Result<void> validate_network(const protocol::NetworkSpec& network);

// nullopt for `isolated`.
Result<std::optional<NetworkAttachment>> attach_network(WindowsHost& host, const protocol::NetworkSpec& network);

// Deletes the endpoint; one that is already gone is not an error.
Result<void> release_endpoint(WindowsHost& host, const std::string& endpoint_id);

nlohmann::json to_json(const NetworkAttachment& attachment);

}  // namespace microagent::windows_hyperv
