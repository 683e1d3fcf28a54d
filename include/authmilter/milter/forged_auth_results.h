// authmilter::milter::ForgedAuthResults — Authentication-Results headers claiming our
// authserv-id, to be removed before ours is added (RFC 8601 §5).
//
// What: counts the message's Authentication-Results fields (the MTA's smfi_chgheader index is
//   1-based among fields of that name) and notes those whose authserv-id is ours
//   (mail::same_authserv_id: ASCII case-insensitive, one trailing dot ignored).
// Who: the Transaction feeds every header field of untrusted and authenticated clients (a
//   user must not assert our results), also past MaxHeaderBytes; internal clients' headers are
//   left alone (our own A-R from a first pass must survive a content filter's re-injection).
// Config keys: AuthservID.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/header.h"

namespace authmilter::milter {

class ForgedAuthResults {
 public:
  explicit ForgedAuthResults(std::string_view authserv_id) : authserv_id_(authserv_id) {}
  void add(const mail::HeaderField& field);
  // 1-based indexes among the A-R fields, descending (delete from the end).
  std::vector<int> to_remove() const;

 private:
  std::string authserv_id_;
  int seen_ = 0;
  std::vector<int> forged_;
};

}  // namespace authmilter::milter
