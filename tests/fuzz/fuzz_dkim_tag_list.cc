// Fuzz target: DKIM tag=value lists (dkim/tag_list.h, RFC 6376 §3.2).
//
// Input: a DKIM-Signature field body or a key record (any bytes).
// Invariants: no tag value holds whitespace (SP, HTAB, CR, LF: all removed); every tag found
//   can be looked up by its name; a tag list without an error has no empty and no duplicate
//   tag names.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "authmilter/dkim/tag_list.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace authmilter;
  const dkim::TagList list = dkim::parse_tag_list(fuzz::as_text(data, size));
  std::set<std::string> names;
  bool duplicate = false;
  for (const auto& tag : list.tags) {
    FUZZ_CHECK(tag.value.find_first_of(" \t\r\n") == std::string::npos);
    FUZZ_CHECK(list.find(tag.name) != nullptr);
    if (list.error.empty()) FUZZ_CHECK(!tag.name.empty());
    duplicate = duplicate || !names.insert(tag.name).second;
  }
  if (list.error.empty()) FUZZ_CHECK(!duplicate);
  return 0;
}
