#include "guestinit/workload_user.hpp"

#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <optional>

namespace microagent::guestinit {
namespace {

std::optional<unsigned> parse_id(const std::string& text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) fields.push_back(field);
  if (!line.empty() && line.back() == sep) fields.emplace_back();
  return fields;
}

// name:password:uid:gid:gecos:home:shell
struct PasswdEntry {
  std::string name;
  uid_t uid;
  gid_t gid;
  std::string home;
};

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
  std::vector<PasswdEntry> entries;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto f = split(line, ':');
    if (f.size() < 7) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    entries.push_back({f[0], *uid, *gid, f[5]});
  }
  return entries;
}

// name:password:gid:member,member
struct GroupEntry {
  std::string name;
  gid_t gid;
  std::vector<std::string> members;
};

std::vector<GroupEntry> parse_group(const std::string& text) {
  std::vector<GroupEntry> entries;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry entry{f[0], *gid, {}};
    if (f.size() > 3 && !f[3].empty()) entry.members = split(f[3], ',');
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string read_whole(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

Result<WorkloadUser> resolve_workload_user(const std::string& spec, const std::string& passwd, const std::string& group) {
  WorkloadUser user;
  user.home = "/root";
  if (spec.empty()) {
    user.groups = {0};
    return user;
  }
  const auto colon = spec.find(':');
  const std::string user_part = spec.substr(0, colon);
  const std::string group_part = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (user_part.empty()) return fail(ErrorCode::invalid_request, "user '" + spec + "' names no user");

  const auto users = parse_passwd(passwd);
  const auto groups = parse_group(group);
  const PasswdEntry* entry = nullptr;
  if (auto uid = parse_id(user_part)) {
    for (const auto& e : users) {
      if (e.uid == *uid) {
        entry = &e;
        break;
      }
    }
    user.uid = *uid;
    user.gid = entry ? entry->gid : 0;
    user.home = entry ? entry->home : "/";
  } else {
    for (const auto& e : users) {
      if (e.name == user_part) {
        entry = &e;
        break;
      }
    }
    if (!entry) return fail(ErrorCode::not_found, "user '" + user_part + "' is not in the guest's /etc/passwd");
    user.uid = entry->uid;
    user.gid = entry->gid;
    user.home = entry->home;
  }
  if (!group_part.empty()) {
    if (auto gid = parse_id(group_part)) {
      user.gid = *gid;
    } else {
      const GroupEntry* match = nullptr;
      for (const auto& g : groups) {
        if (g.name == group_part) {
          match = &g;
          break;
        }
      }
      if (!match) return fail(ErrorCode::not_found, "group '" + group_part + "' is not in the guest's /etc/group");
      user.gid = match->gid;
    }
  }
  user.groups = {user.gid};
  if (entry) {
    for (const auto& g : groups) {
      for (const auto& member : g.members) {
        if (member == entry->name && g.gid != user.gid) user.groups.push_back(g.gid);
      }
    }
  }
  if (user.home.empty()) user.home = "/";
  return user;
}

Result<WorkloadUser> resolve_workload_user(const std::string& spec) {
  if (spec.empty()) return resolve_workload_user(spec, "", "");
  return resolve_workload_user(spec, read_whole("/etc/passwd"), read_whole("/etc/group"));
}

int become_workload_user(const WorkloadUser& user) {
  if (::setgroups(user.groups.size(), user.groups.data()) != 0) return errno;
  if (::setgid(user.gid) != 0) return errno;
  if (::setuid(user.uid) != 0) return errno;
  return 0;
}

}  // namespace microagent::guestinit
