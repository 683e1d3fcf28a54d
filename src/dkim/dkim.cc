#include "authmilter/dkim/dkim.h"

namespace authmilter::dkim {

std::string_view to_token(Result result) {
  switch (result) {
    case Result::kNone:
      return "none";
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kNeutral:
      return "neutral";
    case Result::kPolicy:
      return "policy";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "permerror";
}

}  // namespace authmilter::dkim
