#include "libopendmarc.h"

#include <opendmarc/dmarc.h>

#include <cstring>
#include <memory>
#include <vector>

namespace authmilter::dmarc::detail {
namespace {

struct PolicyFree {
  void operator()(DMARC_POLICY_T* ctx) const { opendmarc_policy_connect_shutdown(ctx); }
};
using PolicyPtr = std::unique_ptr<DMARC_POLICY_T, PolicyFree>;

// libopendmarc's process-global state: initialised once, without a PSL (org_domain.h) and
// without name servers (we never let it query DNS).
class Library {
 public:
  static Library& instance() {
    static Library library;
    return library;
  }
  bool ok() const { return status_ == DMARC_PARSE_OKAY; }
  int status() const { return status_; }
  ~Library() {
    if (ok()) opendmarc_policy_library_shutdown(&lib_);
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

 private:
  Library() {
    std::memset(&lib_, 0, sizeof lib_);
    lib_.tld_type = OPENDMARC_TLD_TYPE_NONE;
    status_ = opendmarc_policy_library_init(&lib_);
  }
  OPENDMARC_LIB_T lib_;
  int status_ = DMARC_PARSE_OKAY;
};

// libopendmarc takes u_char* everywhere and copies what it keeps; a mutable NUL-terminated
// copy for each call.
std::vector<u_char> c_string(const std::string& s) {
  std::vector<u_char> out(s.begin(), s.end());
  out.push_back('\0');
  return out;
}

std::optional<Policy> policy_of(int token) {
  switch (token) {
    case DMARC_RECORD_P_NONE:
      return Policy::kNone;
    case DMARC_RECORD_P_QUARANTINE:
      return Policy::kQuarantine;
    case DMARC_RECORD_P_REJECT:
      return Policy::kReject;
    default:
      return std::nullopt;
  }
}

std::optional<Alignment> alignment_of(int token) {
  switch (token) {
    case DMARC_RECORD_A_RELAXED:
      return Alignment::kRelaxed;
    case DMARC_RECORD_A_STRICT:
      return Alignment::kStrict;
    default:
      return std::nullopt;
  }
}

std::optional<RequestedPolicy> fail(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return std::nullopt;
}

}  // namespace

std::optional<RequestedPolicy> requested_policy(const Record& record,
                                                const std::string& from_domain,
                                                const std::string& org_domain, std::string* error) {
  const Library& library = Library::instance();
  if (!library.ok()) {
    return fail(error, "opendmarc_policy_library_init: " +
                           std::string(opendmarc_policy_status_to_str(library.status())));
  }
  if (!record.valid) return fail(error, "record is void");
  // connect_init wants the client address only to store it; DMARC evaluation never uses it.
  u_char no_address[] = "";
  PolicyPtr ctx(opendmarc_policy_connect_init(no_address, 0));
  if (ctx == nullptr) return fail(error, "opendmarc_policy_connect_init failed");

  std::vector<u_char> text = c_string(record.canonical_text());
  std::vector<u_char> domain = c_string(from_domain);
  std::vector<u_char> org = c_string(org_domain);
  const int stored = opendmarc_policy_store_dmarc(ctx.get(), text.data(), domain.data(),
                                                  org_domain.empty() ? nullptr : org.data());
  if (stored != DMARC_PARSE_OKAY) {
    return fail(error, "opendmarc_policy_store_dmarc: " +
                           std::string(opendmarc_policy_status_to_str(stored)));
  }

  int p = 0, sp = 0, adkim = 0, aspf = 0, pct = 0;
  if (opendmarc_policy_fetch_p(ctx.get(), &p) != DMARC_PARSE_OKAY ||
      opendmarc_policy_fetch_sp(ctx.get(), &sp) != DMARC_PARSE_OKAY ||
      opendmarc_policy_fetch_adkim(ctx.get(), &adkim) != DMARC_PARSE_OKAY ||
      opendmarc_policy_fetch_aspf(ctx.get(), &aspf) != DMARC_PARSE_OKAY ||
      opendmarc_policy_fetch_pct(ctx.get(), &pct) != DMARC_PARSE_OKAY) {
    return fail(error, "opendmarc_policy_fetch_* failed");
  }
  RequestedPolicy out;
  const std::optional<Policy> p_policy = policy_of(p);
  const std::optional<Alignment> adkim_mode = alignment_of(adkim);
  const std::optional<Alignment> aspf_mode = alignment_of(aspf);
  if (!p_policy || !adkim_mode || !aspf_mode || pct < 0 || pct > 100) {
    return fail(error, "libopendmarc returned values out of range");
  }
  out.p = *p_policy;
  out.sp = policy_of(sp);  // DMARC_RECORD_P_UNSPECIFIED: absent
  out.adkim = *adkim_mode;
  out.aspf = *aspf_mode;
  out.pct = pct;
  // The canonical text says exactly what we accepted; reading anything else back means the
  // library changed under us, and a policy we cannot vouch for is no policy.
  if (out.p != record.p || out.sp != record.sp || out.adkim != record.adkim ||
      out.aspf != record.aspf || out.pct != record.pct) {
    return fail(error, "libopendmarc read the record differently");
  }

  // Nothing about SPF or DKIM is stored, so this is the policy for a message that fails.
  switch (opendmarc_get_policy_to_enforce(ctx.get())) {
    case DMARC_POLICY_REJECT:
      out.to_enforce = Policy::kReject;
      break;
    case DMARC_POLICY_QUARANTINE:
      out.to_enforce = Policy::kQuarantine;
      break;
    case DMARC_POLICY_NONE:
      out.to_enforce = Policy::kNone;
      break;
    default:
      return fail(error, "opendmarc_get_policy_to_enforce gave no policy");
  }
  out.sp_used = opendmarc_get_policy_token_used(ctx.get()) == DMARC_USED_POLICY_IS_SP;
  return out;
}

}  // namespace authmilter::dmarc::detail
