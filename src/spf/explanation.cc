#include "explanation.h"

#include "authmilter/spf/record_lint.h"
#include "libspf2.h"
#include "macro_values.h"

namespace authmilter::spf {

std::optional<std::string> prepare_explanation(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ') {
      out += "%_";  // libspf2 1.2.10 mis-parses a literal SP in a macro-string
      continue;
    }
    if (c < 0x21 || c > 0x7e) return std::nullopt;  // RFC 7208 §7.1 macro-literal
    out.push_back(c);
    if (c != '%') continue;
    if (i + 1 >= text.size()) return std::nullopt;
    const char next = text[++i];
    out.push_back(next);
    if (next == '%' || next == '_' || next == '-') continue;
    if (next != '{') return std::nullopt;
    // "%{" macro-letter transformers *delimiter "}": no SP before the "}".
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos ||
        text.substr(i, close - i).find(' ') != std::string_view::npos) {
      return std::nullopt;
    }
    out.append(text.substr(i + 1, close - i));
    i = close;
  }
  return out;
}

std::optional<std::string> explanation_text(const dns::Answer& answer,
                                            SPF_request_struct* request) {
  // RFC 7208 §6.2: several TXT records at the exp= name, or a text that is not a valid
  // explain-string, mean no explanation.
  if (answer.records.size() != 1) return std::nullopt;
  const std::optional<std::string> text = prepare_explanation(answer.records.front().data);
  if (!text) return std::nullopt;
  std::string fixed =
      fix_macros(*text, [request](char letter) { return macro_value(request, letter, false); });
  // CVE-2021-20314 / CVE-2023-42118: a text libspf2 cannot compile safely (record_lint.h).
  if (libspf2_block_size(fixed) > kMaxLibspf2Block) return std::nullopt;
  return fixed;
}

}  // namespace authmilter::spf
