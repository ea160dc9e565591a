#pragma once
// A fake host for doctor checks: a temp dir standing in for "/", with helpers
// to lay out /proc, /sys, /dev, /etc, /mnt/c, and canned `qemu ... help`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "backends/linux_kvm/doctor_checks.hpp"
#include "common/sha256.hpp"

namespace microagent::doctor_testing {

namespace fs = std::filesystem;

class FakeHost {
 public:
  FakeHost() {
    std::string pattern = (fs::temp_directory_path() / "ma-doctor-test-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    fs::create_directories(dir_ / "root");
    fs::create_directories(dir_ / "home");
  }
  ~FakeHost() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  fs::path root() const { return dir_ / "root"; }
  fs::path home() const { return dir_ / "home"; }  // outside the root: kernel cache, guest init
  fs::path at(const std::string& host_path) const { return root() / host_path.substr(1); }

  void write(const std::string& host_path, const std::string& text) const {
    fs::create_directories(at(host_path).parent_path());
    std::ofstream(at(host_path), std::ios::binary) << text;
  }
  void write_real(const fs::path& path, const std::string& text) const {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }

  // A plain Linux host with everything present: sysctls, tun, a regular file
  // for /dev/kvm (which the probe must reject cleanly).
  void make_linux() const {
    write("/proc/sys/kernel/osrelease", "6.1.0-26-amd64\n");
    write("/proc/sys/user/max_user_namespaces", "15000\n");
    write("/proc/sys/net/ipv4/ip_forward", "1\n");
    write("/dev/net/tun", "");
    write("/proc/meminfo", "MemTotal:        8052168 kB\nMemFree:         1000000 kB\n");
    write("/proc/cpuinfo", "processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\nmodel name\t: x\n");
  }
  void make_wsl2(bool with_interop = true) const {
    make_linux();
    write("/proc/sys/kernel/osrelease", "5.15.153.1-microsoft-standard-WSL2\n");
    if (with_interop) write("/proc/sys/fs/binfmt_misc/WSLInterop", "enabled\n");
  }

  // <home>/kernels/x86_64/current -> release, with a manifest that verifies.
  fs::path make_kernel_artifact(const std::string& release = "6.1.0-99-cloud-amd64") const {
    const fs::path cache = home() / "kernels" / "x86_64";
    const fs::path dir = cache / release;
    write_real(dir / "vmlinux", "vmlinux bytes");
    write_real(dir / "bzImage", "bzImage bytes");
    write_real(dir / "lib" / "modules" / release / "modules.dep", "");
    write_real(dir / "manifest.json", "{\"release\":\"" + release + "\",\"sha256\":{\"vmlinux\":\"" +
                                          sha256_hex("vmlinux bytes") + "\",\"bzImage\":\"" +
                                          sha256_hex("bzImage bytes") + "\"}}");
    fs::create_directory_symlink(release, cache / "current");
    return cache;
  }

  // Canned output per `qemu <flag>`; a flag absent from the map fails.
  std::map<std::string, std::string> qemu_output{
      {"--version", "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022\n"},
      {"-machine", "Supported machines are:\nmicrovm              microvm (i386)\npc                   Standard PC\n"},
      {"-device", "name \"virtio-blk-device\", bus virtio-bus\nname \"vhost-user-vsock-device\", bus virtio-bus\n"},
      {"-chardev", "Available chardev backend types: \n  stdio\n  socket\n  file\n"},
  };
  std::map<std::string, std::string> programs{{"qemu-system-x86_64", "/usr/bin/qemu-system-x86_64"},
                                              {"passt", "/usr/bin/passt"},
                                              {"nft", "/usr/sbin/nft"}};
  std::string passt_version = "passt 2025_05_03.587980c\n";
  std::string hostname_ips = "172.28.1.5 fd00::5\n";
  mutable std::vector<std::vector<std::string>> ran;

  linux_kvm::DoctorContext context(const std::string& state_dir = "/var/lib/microagent") const {
    linux_kvm::DoctorContext context;
    context.root = HostRoot(root());
    context.state_dir = state_dir;
    context.kernel_cache = home() / "kernels" / "x86_64";
    context.guest_init = home() / "bin" / "microagent-guestinit-x86_64";
    context.run = [this](const std::vector<std::string>& argv) -> Result<CommandOutput> {
      ran.push_back(argv);
      CommandOutput output;
      if (argv.at(0) == "hostname") {
        output.status.exit_code = 0;
        output.out = hostname_ips;
        return output;
      }
      if (argv.at(0).ends_with("passt")) {
        output.status.exit_code = 0;
        output.out = passt_version;
        return output;
      }
      auto it = qemu_output.find(argv.at(1));
      if (it == qemu_output.end()) {
        output.status.exit_code = 1;
        output.err = "unknown option";
        return output;
      }
      output.status.exit_code = 0;
      output.out = it->second;
      return output;
    };
    context.built_passt = home() / "tools" / "passt-test" / "passt";
    context.find_program = [this](const std::string& name) -> std::optional<std::string> {
      auto it = programs.find(name);
      if (it == programs.end()) return std::nullopt;
      return it->second;
    };
    return context;
  }

 private:
  fs::path dir_;
};

// The check named `name` in a list (fails the test when absent).
inline protocol::DoctorCheck find_check(const std::vector<protocol::DoctorCheck>& checks, const std::string& name) {
  for (const auto& check : checks) {
    if (check.name == name) return check;
  }
  ADD_FAILURE() << "no check named " << name;
  return {};
}

}  // namespace microagent::doctor_testing
