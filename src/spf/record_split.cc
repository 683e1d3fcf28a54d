#include "record_split.h"

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/syntax.h"
#include "authmilter/util/ascii.h"

namespace authmilter::spf {
namespace {

// The first error message SPF_record_compile() added at or after index `from`.
std::string compile_message(SPF_response_t* response, int from) {
  for (int i = from; i < SPF_response_messages(response); ++i) {
    SPF_error_t* message = SPF_response_message(response, i);
    if (message != nullptr && SPF_error_errorp(message) && SPF_error_message(message)) {
      return SPF_error_message(message);
    }
  }
  return SPF_strerror(SPF_response_errcode(response));
}

// A prepared record's terms: mechanisms in order, and its exp= and redirect= modifiers (the
// only modifiers prepare_record() keeps; redirect= last).
struct RecordTerms {
  std::vector<std::string> mechanisms;
  std::string explanation;  // "exp=..." or empty
  std::string redirect;     // "redirect=..." or empty
};

RecordTerms split_terms(std::string_view record) {
  RecordTerms terms;
  const std::vector<std::string_view> all = record_terms(record);
  for (std::size_t i = 1; i < all.size(); ++i) {  // all[0] is "v=spf1"
    const std::string_view term = all[i];
    const std::size_t special = term.find_first_of(":/=");
    if (special != std::string_view::npos && term[special] == '=') {
      (util::istarts_with_ascii(term, "exp=") ? terms.explanation : terms.redirect) =
          std::string(term);
    } else {
      terms.mechanisms.emplace_back(term);
    }
  }
  return terms;
}

// "v=spf1 <mechanisms [from, to)> [exp=] [tail]"
std::string join_terms(const RecordTerms& terms, std::size_t from, std::size_t to,
                       const std::string& tail) {
  std::string out = "v=spf1";
  for (std::size_t i = from; i < to; ++i) out += " " + terms.mechanisms[i];
  if (!terms.explanation.empty()) out += " " + terms.explanation;
  if (!tail.empty()) out += " " + tail;
  return out;
}

// Whether libspf2 compiles `record` with all of its `mechanisms` (a trial, with a scratch
// response so the check's response gets no messages).
bool compiles_whole(SPF_server_t* server, const std::string& record, std::size_t mechanisms) {
  ResponsePtr scratch(SPF_response_new(nullptr));
  if (!scratch) throw std::bad_alloc();
  SPF_record_t* raw = nullptr;
  const SPF_errcode_t err = SPF_record_compile(server, scratch.get(), &raw, record.c_str());
  const RecordPtr compiled(raw);
  return err == SPF_E_SUCCESS && compiled &&
         static_cast<std::size_t>(compiled->num_mech) == mechanisms;
}

}  // namespace

SPF_errcode_t record_error(SPF_response_t* response, SPF_result_t result, SPF_errcode_t code) {
  response->result = result;
  response->reason = SPF_REASON_FAILURE;
  response->err = code;
  return code;
}

SPF_errcode_t compile_record(SPF_server_t* server, LookupContext& ctx, SPF_response_t* response,
                             SPF_record_t** recordp, const std::string& record,
                             const std::string& domain, const std::string& where) {
  // CVE-2023-42118: checked again here, on the text libspf2 compiles (after fix_macros()).
  if (const std::string problem = check_libspf2_capacity(record); !problem.empty()) {
    note_problem(ctx, "syntax error in SPF record of " + where + ": " + problem);
    return record_error(response, SPF_RESULT_PERMERROR, SPF_E_BIG_STRING);
  }
  const RecordTerms terms = split_terms(record);
  const std::size_t mechanisms = terms.mechanisms.size() + (terms.redirect.empty() ? 0 : 1);
  const int messages_before = SPF_response_messages(response);
  SPF_errcode_t err = SPF_record_compile(server, response, recordp, record.c_str());
  if (err == SPF_E_SUCCESS && *recordp != nullptr &&
      static_cast<std::size_t>((*recordp)->num_mech) != mechanisms) {
    SPF_record_free(*recordp);
    *recordp = nullptr;
    const std::string name =
        std::to_string(++ctx.continuation_count) + std::string(kContinuationSuffix);
    const std::string redirect = "redirect=" + name;
    // The longest first part that compiles whole (shorter ones always do).
    std::size_t low = 0;
    std::size_t high = terms.mechanisms.empty() ? 0 : terms.mechanisms.size() - 1;
    while (low < high) {
      const std::size_t middle = (low + high + 1) / 2;
      if (compiles_whole(server, join_terms(terms, 0, middle, redirect), middle + 1)) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    if (low == 0) {
      note_problem(ctx, "SPF record of " + where + " is too long for libspf2");
      return record_error(response, SPF_RESULT_PERMERROR, SPF_E_BIG_MECH);
    }
    ctx.continuations[name] = LookupContext::Continuation{
        join_terms(terms, low, terms.mechanisms.size(), terms.redirect), domain, where};
    err =
        SPF_record_compile(server, response, recordp, join_terms(terms, 0, low, redirect).c_str());
  }
  if (err != SPF_E_SUCCESS) {
    if (*recordp != nullptr) SPF_record_free(*recordp);
    *recordp = nullptr;
    note_problem(ctx, "syntax error in SPF record of " + where + ": " +
                          compile_message(response, messages_before));
    // Never SPF_E_DNS_ERROR (that would read as temperror): a broken record is permanent.
    return record_error(response, SPF_RESULT_PERMERROR,
                        err == SPF_E_DNS_ERROR ? SPF_E_SYNTAX : err);
  }
  return SPF_E_SUCCESS;
}

bool serve_continuation(SPF_server_t* server, SPF_request_t* request, LookupContext& ctx,
                        SPF_response_t* response, SPF_record_t** recordp, const std::string& domain,
                        SPF_errcode_t& err) {
  const auto rest = ctx.continuations.find(dns::normalize_name(domain));
  if (rest == ctx.continuations.end()) return false;
  // No DNS, no term; %{d} and the implicit domain of a/mx stay the record's own domain. Each
  // part is served once.
  LookupContext::Continuation continuation = std::move(rest->second);
  ctx.continuations.erase(rest);
  ctx.continuation_domains.push_back(continuation.domain);
  request->cur_dom = ctx.continuation_domains.back().c_str();
  err = compile_record(server, ctx, response, recordp, continuation.record, continuation.domain,
                       continuation.where);
  return true;
}

}  // namespace authmilter::spf
