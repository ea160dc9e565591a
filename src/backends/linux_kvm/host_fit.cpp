#include "backends/linux_kvm/host_fit.hpp"

#include <unistd.h>

#include <fstream>
#include <string>

namespace microagent::linux_kvm {

HostCapacity measure_host_capacity() {
  HostCapacity host;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    std::int64_t kib = 0;
    meminfo >> kib;
    if (key == "MemTotal:") {
      host.memory_mib = kib / 1024;
      break;
    }
    meminfo.ignore(1 << 10, '\n');
  }
  host.online_cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return host;
}

}  // namespace microagent::linux_kvm
