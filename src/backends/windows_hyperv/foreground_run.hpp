#pragma once
// `run` on windows-hyperv: create and start a compute system, wait for the
// guest's result on its result port (a Hyper-V socket service), write
// result.json, append COM1 to serial.log, tear everything down and answer
// with the final event (`stopped` with the result, else `failed`).
#include "backends/windows_hyperv/windows_host.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::windows_hyperv {

Result<protocol::Event> run_foreground(WindowsHost& host, const protocol::Request& request);

}  // namespace microagent::windows_hyperv
