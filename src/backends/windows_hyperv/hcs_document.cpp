#include "backends/windows_hyperv/hcs_document.hpp"

#include <string>

#include "backends/windows_hyperv/hv_constants.hpp"
#include "backends/windows_hyperv/hvsocket_service.hpp"

namespace microagent::windows_hyperv {

using nlohmann::json;

namespace {

json scsi_controller(const std::vector<ScsiDisk>& disks) {
  json attachments = json::object();
  for (std::size_t lun = 0; lun < disks.size(); ++lun) {
    attachments[std::to_string(lun)] = {{"Type", "VirtualDisk"}, {"Path", disks[lun].path}, {"ReadOnly", disks[lun].read_only}};
  }
  return {{"Attachments", attachments}};
}

// Every granted service gets the same descriptors; wildcard binds let the
// host listen on HV_GUID_WILDCARD before it knows the VM's runtime id.
json hvsocket(const std::vector<std::uint32_t>& ports) {
  json table = json::object();
  for (auto port : ports) {
    table[vsock_service_id(port)] = {{"BindSecurityDescriptor", kHvSocketSecurityDescriptor},
                                     {"ConnectSecurityDescriptor", kHvSocketSecurityDescriptor},
                                     {"AllowWildcardBinds", true}};
  }
  return {{"HvSocketConfig",
           {{"DefaultBindSecurityDescriptor", kHvSocketSecurityDescriptor},
            {"DefaultConnectSecurityDescriptor", kHvSocketSecurityDescriptor},
            {"ServiceTable", table}}}};
}

}  // namespace

json compute_system_document(const ComputeSystemSpec& spec) {
  json devices = json::object();
  devices["Scsi"] = {{std::string(kScsiController), scsi_controller(spec.disks)}};
  devices["HvSocket"] = hvsocket(spec.vsock_ports);
  if (!spec.com1_pipe.empty()) devices["ComPorts"] = {{"0", {{"NamedPipe", spec.com1_pipe}}}};
  if (spec.adapter) {
    devices["NetworkAdapters"] = {
        {spec.adapter->endpoint_id, {{"EndpointId", spec.adapter->endpoint_id}, {"MacAddress", spec.adapter->mac_address}}}};
  }
  json vm = {
      // A guest reboot (panic=-1 reboots at once) ends the VM instead of booting again.
      {"StopOnReset", true},
      {"Chipset",
       {{"LinuxKernelDirect",
         {{"KernelFilePath", spec.kernel_path}, {"InitRdPath", spec.initrd_path}, {"KernelCmdLine", spec.kernel_cmdline}}}}},
      {"ComputeTopology",
       {{"Memory", {{"SizeInMB", spec.memory_mib}, {"AllowOvercommit", true}}}, {"Processor", {{"Count", spec.cpu_count}}}}},
      {"Devices", devices}};
  return {{"Owner", spec.owner},
          {"SchemaVersion", {{"Major", kSchemaMajor}, {"Minor", kSchemaMinor}}},
          {"ShouldTerminateOnLastHandleClosed", spec.terminate_on_last_handle_closed},
          {"VirtualMachine", vm}};
}

std::string com1_pipe_name(std::string_view runtime_id) {
  return std::string(R"(\\.\pipe\microagent-)") + std::string(runtime_id) + "-com1";
}

}  // namespace microagent::windows_hyperv
