#pragma once
// Constants of the windows-hyperv backend, each from where it is defined:
// the Hyper-V socket service template (Microsoft's "Make your own integration
// services": a Linux guest's AF_VSOCK port N is the service
// NNNNNNNN-FACB-11E6-BD58-64006A7986D3), the HCS schema version this backend
// writes, and microagent's managed NAT network (DESIGN.md section 5b).
#include <cstdint>
#include <string_view>

namespace microagent::windows_hyperv {

inline constexpr std::string_view kBackendName = "windows-hyperv";

// HCS schema 2.1: the first version with LinuxKernelDirect.
inline constexpr int kSchemaMajor = 2;
inline constexpr int kSchemaMinor = 1;
inline constexpr std::string_view kOwner = "microagent";

// Everything after the 8 hex digits of the port.
inline constexpr std::string_view kVsockServiceGuidTail = "-FACB-11E6-BD58-64006A7986D3";

// The managed NAT network for `user` and `nat` (HCN schema 2.0).
inline constexpr std::string_view kNatNetworkName = "microagent-nat";
inline constexpr std::string_view kNatSubnet = "192.168.127.0/24";
inline constexpr std::string_view kNatGateway = "192.168.127.1";
inline constexpr int kHcnSchemaMajor = 2;
inline constexpr int kHcnSchemaMinor = 0;

// <state-dir>/workspaces/<runtimeID>/ (DESIGN.md section 3).
inline constexpr std::string_view kRootDiskName = "rootfs.vhd";
// The root disk is SCSI LUN 0 (/dev/sda); data disks follow (/dev/sdb, ...).
inline constexpr std::string_view kScsiController = "0";

}  // namespace microagent::windows_hyperv
