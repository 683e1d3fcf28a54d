#include "authmilter/mail/header.h"

namespace authmilter::mail {

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    // Line breaks are dropped; the WSP that follows a fold (if any) is copied by the next
    // iteration, which is exactly "CRLF WSP -> WSP". A break not followed by WSP is invalid in
    // a header value and dropping it keeps the value on one line.
    if (c == '\r' || c == '\n') continue;
    out.push_back(c);
  }
  return out;
}

std::string quoted_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (const char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace authmilter::mail
