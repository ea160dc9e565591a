#include "image/module_order.hpp"

#include <functional>
#include <optional>

namespace microagent::image {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t start = text.find_first_not_of(" \t\r", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = text.find_first_of(" \t\r", start);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(start, end - start));
    pos = end;
  }
  return words;
}

template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    fn(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

std::string normalize_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

}  // namespace

std::string module_name_from_path(std::string_view path) {
  std::size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  // Compressed modules (.ko.xz, .ko.zst, .ko.gz) keep the name before ".ko".
  std::size_t ko = base.find(".ko");
  if (ko != std::string_view::npos) base = base.substr(0, ko);
  return normalize_name(base);
}

Result<ModuleIndex> ModuleIndex::parse(std::string_view modules_dep) {
  ModuleIndex index;
  std::size_t line_no = 0;
  std::optional<Error> error;
  for_each_line(modules_dep, [&](std::string_view raw) {
    ++line_no;
    if (error) return;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') return;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error = Error{ErrorCode::invalid_request,
                    "modules.dep line " + std::to_string(line_no) + " has no \"<module>:\" prefix: rerun depmod"};
      return;
    }
    std::string path(trim(line.substr(0, colon)));
    std::vector<std::string> deps;
    for (auto word : split_words(line.substr(colon + 1))) deps.emplace_back(word);
    index.path_by_name_[module_name_from_path(path)] = path;
    index.deps_by_path_[path] = std::move(deps);
  });
  if (error) return std::unexpected(*error);
  return index;
}

void ModuleIndex::add_builtin(std::string_view modules_builtin) {
  for_each_line(modules_builtin, [&](std::string_view line) {
    line = trim(line);
    if (!line.empty()) builtin_.insert(module_name_from_path(line));
  });
}

bool ModuleIndex::contains(std::string_view name) const {
  std::string key = normalize_name(name);
  return path_by_name_.contains(key) || builtin_.contains(key);
}

Result<std::vector<std::string>> ModuleIndex::load_order(const std::vector<std::string>& wanted) const {
  std::vector<std::string> order;
  std::set<std::string, std::less<>> done, in_progress;
  std::optional<Error> error;
  // Depth-first, dependencies first: a module is emitted only after every
  // module it needs. modules.dep already lists the transitive closure, but
  // walking each dependency's own line keeps the order right even for a
  // hand-written or partial file.
  std::function<void(const std::string&)> visit = [&](const std::string& path) {
    if (error || done.contains(path)) return;
    if (!in_progress.insert(path).second) {
      error = Error{ErrorCode::invalid_request, "modules.dep has a dependency cycle through " + path + ": rerun depmod"};
      return;
    }
    if (auto it = deps_by_path_.find(path); it != deps_by_path_.end()) {
      for (const auto& dep : it->second) visit(dep);
    }
    in_progress.erase(path);
    if (done.insert(path).second) order.push_back(path);
  };
  for (const auto& name : wanted) {
    std::string key = normalize_name(name);
    auto it = path_by_name_.find(key);
    if (it == path_by_name_.end()) {
      if (builtin_.contains(key)) continue;
      return fail(ErrorCode::not_found, "kernel module '" + name +
                                            "' is not in modules.dep: check the name, or use a kernel that builds it");
    }
    visit(it->second);
    if (error) return std::unexpected(*error);
  }
  return order;
}

}  // namespace microagent::image
