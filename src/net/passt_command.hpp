#pragma once
// passt for `user` networking: argv builder (pure) and the process's lifetime.
// passt drops to `nobody` when started as root, so its socket directory must
// be writable by that user (DESIGN.md section 5). Which passt: passt_binary.hpp.
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/process.hpp"
#include "net/network_plan.hpp"

namespace microagent::net {

inline std::filesystem::path passt_socket_in(const std::filesystem::path& dir) { return dir / "passt.sock"; }

struct PasstSpec {
  std::string binary = "passt";  // locate_passt() picks it in production
  // Holds passt.sock (QEMU connects there: -netdev stream) and passt.log. A
  // directory of its own under /tmp, root:nogroup 0770 when we are root: a
  // state dir under /root is not even traversable for passt.
  std::filesystem::path dir;
  NetworkAssignment assignment;    // address/prefix/gateway/dns the guest uses
  // A foreground run's passt ends with its one QEMU (--one-off) and with the
  // process that started it: parent-death signals do not survive passt's drop
  // to nobody, so QEMU's disconnect is what ends it when we are root.
  bool exit_with_client = false;
  std::filesystem::path socket() const { return passt_socket_in(dir); }
  std::filesystem::path log_file() const { return dir / "passt.log"; }
};

// /tmp/microagent-passt-<hash of the runtime dir>
std::filesystem::path passt_dir_for(const std::string& runtime_key);

std::vector<std::string> build_passt_argv(const PasstSpec& spec);

// Starts passt in the foreground (our child) and waits until its socket exists.
Result<ChildProcess> start_passt(const PasstSpec& spec);
// Removes the directory with its socket and log.
void remove_passt_dir(const std::filesystem::path& dir);

}  // namespace microagent::net
