// authmilter::integration message — building test messages and reading delivered ones.
//
// What: make_message() writes an RFC 5322 message carrying a unique token (in Subject and
//   Message-ID) so a test finds its own message at the sink or in the hold queue.
//   parse_headers() splits a delivered message's header section into fields, unfolded
//   (RFC 5322 §2.2.3). parse_auth_results() reads an Authentication-Results value
//   (RFC 8601 §2.2) far enough for assertions: authserv-id and each resinfo with its
//   method, result and properties, comments dropped.
// Limits: test-side helpers; they accept what Postfix delivers and never throw on odd
//   input (missing colon, no blank line, CR-only noise).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authmilter::integration {

struct HeaderField {
  std::string name;   // as written
  std::string value;  // unfolded (CRLF+WSP -> WSP), leading/trailing whitespace trimmed
};

// Header fields of `message` in order, up to the first empty line.
std::vector<HeaderField> parse_headers(std::string_view message);
// Fields whose name equals `name` case-insensitively.
std::vector<HeaderField> headers_named(const std::vector<HeaderField>& fields,
                                       std::string_view name);
// Index of the first field named `name`, or nullopt.
std::optional<std::size_t> index_of(const std::vector<HeaderField>& fields, std::string_view name);
// The body: everything after the first empty line.
std::string message_body(std::string_view message);

struct ResInfo {
  std::string method;                                      // "spf"
  std::string result;                                      // "pass"
  std::vector<std::pair<std::string, std::string>> props;  // {"smtp.mailfrom", "a@b"}
  std::optional<std::string> property(std::string_view name) const;
};

struct AuthResults {
  std::string authserv_id;  // lower-cased
  std::vector<ResInfo> results;
  const ResInfo* find(std::string_view method) const;
};

// Parses an Authentication-Results header value; nullopt when it has no authserv-id.
std::optional<AuthResults> parse_auth_results(std::string_view value);

// A message with From/To/Subject/Date/Message-ID, `extra_headers` ("Name: value" each,
// placed first so tests control their position) and a short body naming `token`.
std::string make_message(std::string_view token, std::string_view from,
                         const std::vector<std::string>& extra_headers = {});

// A token unique within this process run: "<prefix>-<pid>-<counter>".
std::string unique_token(std::string_view prefix);

}  // namespace authmilter::integration
