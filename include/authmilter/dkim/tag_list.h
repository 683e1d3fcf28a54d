// authmilter::dkim tag lists — a tolerant reader of DKIM tag=value lists (RFC 6376 §3.2).
//
// What: splits a DKIM-Signature field body (or a key record) into tags, so the verifier can
//   report d=, s=, i=, a= and b= of every signature, also of malformed ones, and refuses a
//   tag-list where a tag occurs twice (RFC 6376 §3.2: the entire tag-list is invalid).
// Values: all whitespace (SP, HTAB, CR, LF) removed, as RFC 6376 says for b=, bh= and h= and
//   as libopendkim does for every tag; tag names keep their case (they are case-sensitive).
// Errors: `error` names the first problem found (empty tag name, a tag without '=', a
//   duplicate tag); parsing goes on after it so callers still get the tags for reporting.
//   Empty tag-specs (";;") are skipped. Everything else (value syntax, required tags) is the
//   verifier's (verifier.h) or the key parser's (signature_engine.h).
// Limits: none of its own; the input is one header field, bounded by kMaxHeaderBytes.
// Security: input is hostile; linear, never throws except std::bad_alloc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace authmilter::dkim {

struct Tag {
  std::string name;
  std::string value;  // whitespace removed
};

struct TagList {
  std::vector<Tag> tags;
  std::string error;  // empty when the list is well-formed as far as this reader checks

  // The value of tag `name` (case-sensitive), nullptr when absent.
  const std::string* find(std::string_view name) const;
};

TagList parse_tag_list(std::string_view text);

// RFC 6376 §3.2 beyond what parse_tag_list() checks (for signatures and key records alike):
// every byte is printable ASCII or whitespace (SP, HTAB, CR, LF), so no control, DEL or 8-bit
// byte; and every tag name (the text before '=', whitespace around it dropped) is
// ALPHA *ALNUMPUNC. libopendkim refuses the bytes and whitespace inside names too.
bool tag_list_bytes_valid(std::string_view text);
bool tag_names_valid(std::string_view text);
// An empty tag-spec before the last one (";;"): the ABNF allows one trailing ";" only.
// libopendkim refuses such a DKIM-Signature ("syntax error").
bool has_inner_empty_tag_spec(std::string_view text);

}  // namespace authmilter::dkim
