#include "authmilter/dkim/tag_list.h"

#include <algorithm>

namespace authmilter::dkim {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string without_space(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (!is_space(c)) out.push_back(c);
  }
  return out;
}

}  // namespace

const std::string* TagList::find(std::string_view name) const {
  for (const auto& tag : tags) {
    if (tag.name == name) return &tag.value;
  }
  return nullptr;
}

TagList parse_tag_list(std::string_view text) {
  TagList list;
  auto note = [&list](std::string message) {
    if (list.error.empty()) list.error = std::move(message);
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(';', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view spec = text.substr(start, end - start);
    start = end + 1;
    if (std::all_of(spec.begin(), spec.end(), is_space)) continue;  // ";;" or a final ';'
    std::size_t equals = spec.find('=');
    if (equals == std::string_view::npos) {
      note("tag without '='");
      continue;
    }
    std::string name = without_space(spec.substr(0, equals));
    if (name.empty()) {
      note("empty tag name");
      continue;
    }
    if (list.find(name) != nullptr) {
      // RFC 6376 §3.2: "if a tag name does occur more than once, the entire tag-list is
      // invalid". Keep the first for reporting.
      note("duplicate tag " + name + "=");
      continue;
    }
    list.tags.push_back(Tag{std::move(name), without_space(spec.substr(equals + 1))});
  }
  return list;
}

bool tag_list_bytes_valid(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !is_space(c)) || u >= 0x7f;
  });
}

bool tag_names_valid(std::string_view text) {
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view name = text.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t equals = name.find('=');
    if (equals == std::string_view::npos) continue;  // parse_tag_list()'s to judge
    name = name.substr(0, equals);
    while (!name.empty() && is_space(name.front())) name.remove_prefix(1);
    while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
    if (name.empty() || !alpha(name.front())) return false;
    for (char c : name) {
      if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
    }
  }
  return true;
}

bool has_inner_empty_tag_spec(std::string_view text) {
  std::size_t pos = 0;
  for (std::size_t end = text.find(';'); end != std::string_view::npos;
       pos = end + 1, end = text.find(';', pos)) {
    const std::string_view spec = text.substr(pos, end - pos);
    if (std::all_of(spec.begin(), spec.end(), is_space)) return true;  // followed by ';'
  }
  return false;
}

}  // namespace authmilter::dkim
