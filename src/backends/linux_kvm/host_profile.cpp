#include "backends/linux_kvm/host_profile.hpp"

#include <sys/stat.h>

#include <cstdlib>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "backends/linux_kvm/host_tsc.hpp"
#include "common/atomic_file.hpp"
#include "common/paths.hpp"

namespace microagent::linux_kvm {
namespace {

using nlohmann::json;

json to_json(const HostProfile& p, const std::string& key) {
  json out{{"key", key},
           {"accel", p.accel.accel},
           {"cpu", p.accel.cpu},
           {"reason", p.accel.reason},
           {"probe",
            {{"devicePresent", p.accel.probe.device_present},
             {"accessible", p.accel.probe.accessible},
             {"apiVersion", p.accel.probe.api_version},
             {"vmCreated", p.accel.probe.vm_created},
             {"ring0Ok", p.accel.probe.ring0_ok},
             {"probeMs", p.accel.probe.probe_ms},
             {"detail", p.accel.probe.detail}}}};
  if (p.tsc_khz) out["tscKhz"] = *p.tsc_khz;
  return out;
}

std::optional<HostProfile> from_json(const json& j, const std::string& key) {
  try {
    if (j.at("key") != key) return std::nullopt;
    HostProfile p;
    p.accel.accel = j.at("accel");
    p.accel.cpu = j.at("cpu");
    p.accel.reason = j.at("reason");
    const auto& probe = j.at("probe");
    p.accel.probe.device_present = probe.at("devicePresent");
    p.accel.probe.accessible = probe.at("accessible");
    p.accel.probe.api_version = probe.at("apiVersion");
    p.accel.probe.vm_created = probe.at("vmCreated");
    p.accel.probe.ring0_ok = probe.at("ring0Ok");
    p.accel.probe.probe_ms = probe.at("probeMs");
    p.accel.probe.detail = probe.at("detail");
    if (j.contains("tscKhz")) p.tsc_khz = j.at("tscKhz").get<std::uint64_t>();
    return p;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string host_profile_key(const std::filesystem::path& kvm_device) {
  auto boot_id = read_file("/proc/sys/kernel/random/boot_id");
  if (boot_id) boot_id->erase(boot_id->find_last_not_of(" \n") + 1);
  struct stat st {};
  const bool has_kvm = ::stat(kvm_device.c_str(), &st) == 0;
  const char* override_value = std::getenv(std::string(kAccelOverrideEnv).c_str());
  return fmt::format("boot={};kvm={}:{}:{};override={}", boot_id ? *boot_id : std::string("?"),
                     has_kvm ? st.st_rdev : 0, has_kvm ? st.st_ino : 0, has_kvm ? st.st_ctime : 0,
                     override_value ? override_value : "");
}

HostProfile host_profile(const std::filesystem::path& cache_file) {
  const std::string key = host_profile_key();
  if (auto text = read_file(cache_file)) {
    auto j = json::parse(*text, nullptr, false);
    if (auto cached = from_json(j, key)) return *cached;
  }
  HostProfile profile{choose_accel(), host_tsc_khz()};
  // A cache that cannot be written only costs the next run a probe.
  if (ensure_directory(cache_file.parent_path())) write_file_atomic(cache_file, to_json(profile, key).dump(2) + "\n");
  return profile;
}

HostProfile host_profile() { return host_profile(microagent_home() / "cache" / "host-profile.json"); }

}  // namespace microagent::linux_kvm
