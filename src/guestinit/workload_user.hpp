#pragma once
// The image's `User` ("uid", "uid:gid", "name", "name:group", as OCI image
// configs write it) resolved against the guest's /etc/passwd and /etc/group,
// before fork, so the child only calls setgroups/setgid/setuid.
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/error.hpp"

namespace microagent::guestinit {

struct WorkloadUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (always includes gid)
  std::string home;           // from passwd, or "/" for a bare uid without an entry
};

// Pure: `spec` against the texts of passwd and group files. A numeric uid
// without a passwd entry is allowed (gid 0 unless given), as runc does; an
// unknown name is an error.
Result<WorkloadUser> resolve_workload_user(const std::string& spec, const std::string& passwd, const std::string& group);

// Reads /etc/passwd and /etc/group of the running root (missing files are empty).
Result<WorkloadUser> resolve_workload_user(const std::string& spec);

// In the forked child: drops to `user`. Returns errno on failure, 0 on success.
int become_workload_user(const WorkloadUser& user);

}  // namespace microagent::guestinit
