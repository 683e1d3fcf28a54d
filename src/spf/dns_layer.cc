#include "authmilter/spf/dns_layer.h"

// clang-format off
#include <arpa/inet.h>
#include <netdb.h>
// libspf2 1.2.10 headers have no extern "C" guards of their own.
extern "C" {
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include <spf2/spf_record.h>
#include <spf2/spf_request.h>
}
// clang-format on

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>

#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/syntax.h"
#include "authmilter/util/ascii.h"

namespace authmilter::spf {
namespace {

// What a lookup is for, told apart by the order in which libspf2 asks (see dns_layer.h).
enum class Purpose {
  kTerm,         // the query of an a / mx / ptr / exists term: counted, may be void
  kFollow,       // A/AAAA of a name an MX or ptr-mechanism PTR answer gave
  kClientName,   // %{p}: PTR asked with should_cache=FALSE and its A/AAAA follow-ups
  kExplanation,  // TXT of the exp= target
};

LookupContext& context_of(SPF_dns_server_t* server) {
  return *static_cast<LookupContext*>(server->hook);
}

std::string printable(std::string_view name) {
  return sanitize_text(name, util::kMaxDomainNameLength);
}

std::string describe(std::string_view name, dns::RrType type) {
  return printable(name) + "/" + std::string(dns::to_string(type));
}

void note_stop(LookupContext& ctx, Stop stop, std::string detail) {
  if (ctx.stop != Stop::kNone) return;
  ctx.stop = stop;
  ctx.stop_detail = std::move(detail);
}

void note_problem(LookupContext& ctx, std::string problem) {
  if (ctx.problem.empty()) ctx.problem = std::move(problem);
}

// False when no more DNS may be asked: the cancel flag is set or the deadline has passed (the
// resolver itself would still hand out answers that are already cached). `evaluation` says
// whether the refusal ends the evaluation (then it is the check's reason for temperror).
bool may_query(LookupContext& ctx, bool evaluation) {
  if (ctx.cancel != nullptr && ctx.cancel->load(std::memory_order_relaxed)) {
    if (evaluation) note_stop(ctx, Stop::kCancelled, "check cancelled");
    return false;
  }
  if (dns::Clock::now() >= ctx.deadline) {
    if (evaluation) note_stop(ctx, Stop::kDeadline, "message deadline reached");
    return false;
  }
  return true;
}

// The answer for `name`, or NXDOMAIN without asking when no query can be composed from it
// (RFC 7208 §4.3/§4.8: such a name is treated as non-existent).
dns::Answer query(LookupContext& ctx, std::string_view name, dns::RrType type) {
  const std::optional<std::string> qname = query_name(name);
  if (!qname) return dns::Answer::failure(dns::Status::kNxDomain, "not a valid DNS name");
  ++ctx.lookups;
  return ctx.resolver.lookup(*qname, type, ctx.deadline, ctx.cancel);
}

bool is_void(const dns::Answer& answer) {
  return answer.status == dns::Status::kNxDomain || answer.status == dns::Status::kNoData ||
         (answer.status == dns::Status::kNoError && answer.records.empty());
}

void note_temporary(LookupContext& ctx, std::string_view name, dns::RrType type,
                    const dns::Answer& answer) {
  if (!ctx.temp_detail.empty()) return;
  ctx.temp_detail = describe(name, type) + ": " + std::string(dns::to_string(answer.status));
}

SPF_dns_stat_t herrno_of(const dns::Answer& answer) {
  switch (answer.status) {
    case dns::Status::kNoError:
      return answer.records.empty() ? NO_DATA : NETDB_SUCCESS;
    case dns::Status::kNoData:
      return NO_DATA;
    case dns::Status::kNxDomain:
      return HOST_NOT_FOUND;
    case dns::Status::kServFail:
    case dns::Status::kTimeout:
    case dns::Status::kError:
      return TRY_AGAIN;
  }
  return TRY_AGAIN;
}

// An answer without records. libspf2 aborts the process when a layer returns NULL, so a
// failed allocation here is as fatal as it is anywhere else in libspf2.
SPF_dns_rr_t* empty_rr(SPF_dns_server_t* server, const char* domain, ns_type type,
                       SPF_dns_stat_t herrno) {
  return SPF_dns_rr_new_init(server, domain, type, 0, herrno);
}

bool is_name_type(ns_type type) { return type == ns_t_mx || type == ns_t_ptr; }

// Converts `answer` the way spf_dns_resolv.c does: one buffer per record, allocated with
// SPF_dns_rr_buf_realloc so SPF_dns_rr_free releases it. A/AAAA hold raw addresses, MX/PTR
// NUL-terminated names, TXT/SPF the NUL-terminated concatenated strings. At most
// `max_records` records are kept; the names kept are appended to `names`.
SPF_dns_rr_t* to_rr(SPF_dns_server_t* server, const char* domain, ns_type type, dns::RrType rr_type,
                    const dns::Answer& answer, std::size_t max_records,
                    std::vector<std::string>& names) {
  const SPF_dns_stat_t herrno = herrno_of(answer);
  const int ttl = static_cast<int>(std::min<std::uint32_t>(answer.ttl, INT_MAX));
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, type, ttl, herrno);
  if (rr == nullptr || herrno != NETDB_SUCCESS) return rr;
  const bool address = type == ns_t_a || type == ns_t_aaaa;
  const std::size_t address_size = type == ns_t_a ? sizeof(in_addr) : sizeof(in6_addr);
  int count = 0;
  for (const dns::Record& record : answer.records) {
    if (static_cast<std::size_t>(count) >= max_records) break;
    if (record.type != rr_type) continue;
    if (address) {
      if (record.data.size() != address_size) continue;  // malformed: not an address
    } else if (record.data.find('\0') != std::string::npos) {
      continue;  // libspf2 works on C strings; a NUL would silently cut the text
    }
    const std::size_t size = address ? address_size : record.data.size() + 1;
    if (SPF_dns_rr_buf_realloc(rr, count, size) != SPF_E_SUCCESS) {
      rr->num_rr = count;
      rr->herrno = TRY_AGAIN;
      return rr;
    }
    // Through char*: the union's char[1] members are only the start of the buffer.
    char* out = reinterpret_cast<char*>(rr->rr[count]);
    std::memcpy(out, record.data.data(), record.data.size());
    if (!address) out[record.data.size()] = '\0';
    if (is_name_type(type)) names.push_back(record.data);
    ++count;
  }
  rr->num_rr = count;
  if (count == 0) rr->herrno = NO_DATA;
  return rr;
}

std::optional<dns::RrType> rr_type_of(ns_type type) {
  switch (static_cast<int>(type)) {
    case ns_t_a:
      return dns::RrType::kA;
    case ns_t_aaaa:
      return dns::RrType::kAaaa;
    case ns_t_mx:
      return dns::RrType::kMx;
    case ns_t_ptr:
      return dns::RrType::kPtr;
    case ns_t_txt:
      return dns::RrType::kTxt;
    case 99:  // SPF (RFC 4408 §3.1.1); libspf2 spells it ns_t_spf
      return dns::RrType::kSpf;
    default:
      return std::nullopt;
  }
}

bool printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7f;
  });
}

// The value of macro `letter` (RFC 7208 §7.3) for `request`, as libspf2's expander sees it.
// %{p} needs DNS: it is looked up (and cached in the request) only when `resolve_client_name`.
std::optional<std::string> macro_value(SPF_request_t* request, char letter,
                                       bool resolve_client_name) {
  if (request == nullptr) return std::nullopt;
  auto text = [](const char* value) -> std::optional<std::string> {
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  char buffer[INET6_ADDRSTRLEN] = {};
  switch (letter) {
    case 's':
    case 'S':
      return text(request->env_from);
    case 'l':
    case 'L':
      return text(request->env_from_lp);
    case 'o':
    case 'O':
      return text(request->env_from_dp);
    case 'd':
    case 'D':
      return text(request->cur_dom);
    case 'h':
    case 'H':
      return text(request->helo_dom);
    case 'v':
    case 'V':
      return std::string(request->client_ver == AF_INET6 ? "ip6" : "in-addr");
    case 't':
    case 'T':
      return std::string("0");  // seconds since the epoch: one part
    case 'r':
    case 'R':
      return text(SPF_request_get_rec_dom(request));
    case 'p':
    case 'P':
      if (request->client_dom != nullptr) return std::string(request->client_dom);
      if (!resolve_client_name) return std::nullopt;
      return text(SPF_request_get_client_dom(request));
    case 'i':
    case 'I':
      if (request->client_ver == AF_INET6) {
        // RFC 7208 §7.3: "dot-format" of IPv6 is the 32 nibbles, high first.
        static constexpr char kHex[] = "0123456789abcdef";
        std::string nibbles;
        for (const std::uint8_t octet : request->ipv6.s6_addr) {
          if (!nibbles.empty()) nibbles.push_back('.');
          nibbles.push_back(kHex[octet >> 4]);
          nibbles.push_back('.');
          nibbles.push_back(kHex[octet & 0xf]);
        }
        return nibbles;
      }
      [[fallthrough]];
    case 'c':
    case 'C':
      if (request->client_ver == AF_INET) {
        return text(inet_ntop(AF_INET, &request->ipv4, buffer, sizeof buffer));
      }
      return text(inet_ntop(AF_INET6, &request->ipv6, buffer, sizeof buffer));
    default:
      return std::nullopt;
  }
}

void reset_follow(LookupContext& ctx) {
  ctx.follow_names.clear();
  ctx.follow_next = 0;
  ctx.follow_is_client_name = false;
  ctx.follow_is_ptr = false;
  ctx.follow_zero_cidr = ZeroCidr{};
}

// For "a/0" / "mx/0" (record_lint.h): `answer` with its records replaced by the client's own
// address, when it has any and the asked family is one whose CIDR length is 0.
void apply_zero_cidr(const LookupContext& ctx, ZeroCidr zero, dns::RrType type,
                     dns::Answer& answer) {
  if (ctx.request == nullptr || !answer.has_records()) return;
  dns::Record client;
  client.type = type;
  client.ttl = answer.ttl;
  if (type == dns::RrType::kA && zero.ip4 && ctx.request->client_ver == AF_INET) {
    client.data.assign(reinterpret_cast<const char*>(&ctx.request->ipv4), sizeof(in_addr));
  } else if (type == dns::RrType::kAaaa && zero.ip6 && ctx.request->client_ver == AF_INET6) {
    client.data.assign(reinterpret_cast<const char*>(&ctx.request->ipv6), sizeof(in6_addr));
  } else {
    return;
  }
  answer.records.assign(1, std::move(client));
}

Purpose classify(LookupContext& ctx, std::string_view domain, dns::RrType type, bool should_cache) {
  switch (type) {
    case dns::RrType::kTxt:
    case dns::RrType::kSpf:
      return Purpose::kExplanation;  // policy records come through get_spf, not here
    case dns::RrType::kMx:
      reset_follow(ctx);
      return Purpose::kTerm;
    case dns::RrType::kPtr:
      reset_follow(ctx);
      // SPF_dns_get_client_dom() (the %{p} macro) asks with should_cache=FALSE, the ptr
      // mechanism with TRUE.
      return should_cache ? Purpose::kTerm : Purpose::kClientName;
    default:
      break;
  }
  // A/AAAA: libspf2 looks up the names of an MX or PTR answer one by one, in answer order,
  // right after that answer, stopping early only on a match.
  if (ctx.follow_next < ctx.follow_names.size() &&
      util::iequals_ascii(domain, ctx.follow_names[ctx.follow_next])) {
    ++ctx.follow_next;
    return ctx.follow_is_client_name ? Purpose::kClientName : Purpose::kFollow;
  }
  reset_follow(ctx);
  return Purpose::kTerm;
}

SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain_c, ns_type type,
                     int should_cache) {
  LookupContext& ctx = context_of(server);
  std::string_view domain = domain_c != nullptr ? domain_c : "";
  // "a/0", "mx/0": the real name without the marker (record_lint.h).
  const ZeroCidr zero_cidr = take_zero_cidr_marker(domain);
  const std::optional<dns::RrType> rr_type = rr_type_of(type);
  if (!rr_type) return empty_rr(server, domain_c, type, NO_DATA);

  const Purpose purpose = classify(ctx, domain, *rr_type, should_cache != 0);
  if (ctx.stop != Stop::kNone) return empty_rr(server, domain_c, type, TRY_AGAIN);
  const bool evaluation = purpose == Purpose::kTerm || purpose == Purpose::kFollow;
  if (purpose == Purpose::kTerm) {
    if (ctx.terms >= kMaxDnsTerms) {
      note_stop(ctx, Stop::kTermLimit,
                "more than " + std::to_string(kMaxDnsTerms) +
                    " DNS-querying terms (at the lookup of " + describe(domain, *rr_type) + ")");
      return empty_rr(server, domain_c, type, TRY_AGAIN);
    }
    ++ctx.terms;
  }
  if (!may_query(ctx, evaluation)) return empty_rr(server, domain_c, type, TRY_AGAIN);

  dns::Answer answer = query(ctx, domain, *rr_type);
  if (answer.is_temporary_failure()) {
    // RFC 7208 §5.5: a DNS error on the address lookup of a PTR name skips that name.
    if (purpose == Purpose::kFollow && ctx.follow_is_ptr) {
      return empty_rr(server, domain_c, type, NO_DATA);
    }
    if (evaluation) note_temporary(ctx, domain, *rr_type, answer);
    return empty_rr(server, domain_c, type, TRY_AGAIN);
  }
  if (purpose == Purpose::kTerm) apply_zero_cidr(ctx, zero_cidr, *rr_type, answer);
  if (purpose == Purpose::kFollow) apply_zero_cidr(ctx, ctx.follow_zero_cidr, *rr_type, answer);
  if (purpose == Purpose::kTerm && is_void(answer) && ++ctx.void_lookups > kMaxVoidLookups) {
    note_stop(ctx, Stop::kVoidLimit,
              "more than " + std::to_string(kMaxVoidLookups) + " void lookups (the last " +
                  describe(domain, *rr_type) + ")");
    return empty_rr(server, domain_c, type, TRY_AGAIN);
  }
  std::size_t max_records = SIZE_MAX;
  if (*rr_type == dns::RrType::kMx && answer.records.size() > kMaxMxNames) {
    note_stop(ctx, Stop::kMxLimit,
              describe(domain, *rr_type) + " has " + std::to_string(answer.records.size()) +
                  " names, more than " + std::to_string(kMaxMxNames));
    return empty_rr(server, domain_c, type, TRY_AGAIN);
  }
  if (*rr_type == dns::RrType::kPtr) max_records = kMaxPtrNames;
  if (purpose == Purpose::kExplanation) {
    // RFC 7208 §6.2: several TXT records at the exp= name, or a text that is not a valid
    // explain-string, mean no explanation.
    std::optional<std::string> text;
    if (answer.records.size() == 1) text = prepare_explanation(answer.records.front().data);
    if (!text) return empty_rr(server, domain_c, type, NO_DATA);
    dns::Answer prepared = answer;
    prepared.records.front().data =
        fix_macros(*text, [&ctx](char letter) { return macro_value(ctx.request, letter, false); });
    // CVE-2021-20314 / CVE-2023-42118: a text libspf2 cannot compile safely (record_lint.h).
    if (libspf2_block_size(prepared.records.front().data) > kMaxLibspf2Block) {
      return empty_rr(server, domain_c, type, NO_DATA);
    }
    std::vector<std::string> unused;
    return to_rr(server, domain_c, type, *rr_type, prepared, 1, unused);
  }
  std::vector<std::string> names;
  SPF_dns_rr_t* rr = to_rr(server, domain_c, type, *rr_type, answer, max_records, names);
  if (is_name_type(type)) {
    ctx.follow_names = std::move(names);
    ctx.follow_next = 0;
    ctx.follow_is_client_name = purpose == Purpose::kClientName;
    ctx.follow_is_ptr = type == ns_t_ptr && purpose == Purpose::kTerm;
    ctx.follow_zero_cidr = type == ns_t_mx ? zero_cidr : ZeroCidr{};
  }
  return rr;
}

SPF_errcode_t record_error(SPF_response_t* response, SPF_result_t result, SPF_errcode_t code) {
  response->result = result;
  response->reason = SPF_REASON_FAILURE;
  response->err = code;
  return code;
}

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
  bool version = true;
  std::size_t start = 0;
  while (start <= record.size()) {
    std::size_t end = record.find(' ', start);
    if (end == std::string_view::npos) end = record.size();
    const std::string_view term = record.substr(start, end - start);
    start = end + 1;
    if (term.empty()) continue;
    if (version) {
      version = false;
      continue;
    }
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

struct ResponseFree {
  void operator()(SPF_response_t* response) const { SPF_response_free(response); }
};
struct RecordFree {
  void operator()(SPF_record_t* record) const { SPF_record_free(record); }
};

// Whether libspf2 compiles `record` with all of its `mechanisms` (a trial, with a scratch
// response so the check's response gets no messages).
bool compiles_whole(SPF_server_t* server, const std::string& record, std::size_t mechanisms) {
  std::unique_ptr<SPF_response_t, ResponseFree> scratch(SPF_response_new(nullptr));
  if (!scratch) throw std::bad_alloc();
  SPF_record_t* raw = nullptr;
  const SPF_errcode_t err = SPF_record_compile(server, scratch.get(), &raw, record.c_str());
  const std::unique_ptr<SPF_record_t, RecordFree> compiled(raw);
  return err == SPF_E_SUCCESS && compiled &&
         static_cast<std::size_t>(compiled->num_mech) == mechanisms;
}

// Compiles a prepared record for `domain` into *recordp. libspf2 1.2.10 stores at most
// SPF_MAX_MECH_LEN (511) octets of compiled mechanisms per record and silently drops every
// mechanism past that (SPF_record_compile ignores SPF_E_BIG_MECH): 64 ip4 or 26 ip6 terms
// are enough, and "-all" would vanish. Such a record is split: the first part ends in
// "redirect=<n>.continue.authmilter.invalid", whose get_spf() serves the rest (with the same
// exp=) under the record's own domain. A redirect at the end of a record is exactly "go on
// with these terms", and the part names are under the reserved TLD .invalid (RFC 6761).
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

// RFC 7208 §4.4-§4.6 record retrieval for the top-level domain and every include/redirect
// target. Errors: SPF_E_DNS_ERROR makes libspf2 return temperror for an include/redirect,
// anything else permerror; at the top level the Checker reads response->result.
SPF_errcode_t get_spf(SPF_server_t* server, SPF_request_t* request, SPF_response_t* response,
                      SPF_record_t** recordp) {
  *recordp = nullptr;
  LookupContext& ctx = context_of(server->resolver);
  const std::string domain = request->cur_dom != nullptr ? request->cur_dom : "";
  const bool top = !ctx.top_level_fetched;
  ctx.top_level_fetched = true;
  reset_follow(ctx);
  if (ctx.stop != Stop::kNone) {
    return is_permanent(ctx.stop) ? record_error(response, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS)
                                  : record_error(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);
  }
  if (auto rest = ctx.continuations.find(dns::normalize_name(domain));
      !top && rest != ctx.continuations.end()) {
    // The rest of a record split by compile_record(): no DNS, no term; %{d} and the implicit
    // domain of a/mx stay the record's own domain. Each part is served once.
    LookupContext::Continuation continuation = std::move(rest->second);
    ctx.continuations.erase(rest);
    ctx.continuation_domains.push_back(continuation.domain);
    request->cur_dom = ctx.continuation_domains.back().c_str();
    return compile_record(server, ctx, response, recordp, continuation.record, continuation.domain,
                          continuation.where);
  }
  if (!top) {  // include: or redirect= (RFC 7208 §4.6.4 counts both)
    if (ctx.terms >= kMaxDnsTerms) {
      note_stop(ctx, Stop::kTermLimit,
                "more than " + std::to_string(kMaxDnsTerms) +
                    " DNS-querying terms (at include/redirect " + printable(domain) + ")");
      return record_error(response, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS);
    }
    ++ctx.terms;
  }
  if (!may_query(ctx, true)) return record_error(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);

  const dns::Answer answer = query(ctx, domain, dns::RrType::kTxt);
  if (answer.is_temporary_failure()) {
    note_temporary(ctx, domain, dns::RrType::kTxt, answer);
    return record_error(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);
  }
  const std::string where =
      top ? printable(domain) : "include/redirect target " + printable(domain);
  if (is_void(answer)) {
    if (!top && ++ctx.void_lookups > kMaxVoidLookups) {
      note_stop(ctx, Stop::kVoidLimit,
                "more than " + std::to_string(kMaxVoidLookups) + " void lookups (the last " +
                    describe(domain, dns::RrType::kTxt) + ")");
      return record_error(response, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS);
    }
    if (!top) note_problem(ctx, where + " does not exist or has no TXT record");
    return record_error(response, SPF_RESULT_NONE, SPF_E_NOT_SPF);
  }
  std::vector<std::string> texts;
  texts.reserve(answer.records.size());
  for (const dns::Record& record : answer.records) {
    if (record.type == dns::RrType::kTxt) texts.push_back(record.data);
  }
  RecordSelection selection = select_record(texts, ctx.scope);
  switch (selection.outcome) {
    case RecordSelection::Outcome::kNone:
      if (!top) note_problem(ctx, where + " has no SPF record");
      return record_error(response, SPF_RESULT_NONE, SPF_E_NOT_SPF);
    case RecordSelection::Outcome::kMultiple:
      note_problem(ctx, where + " has more than one SPF record");
      return record_error(response, SPF_RESULT_PERMERROR, SPF_E_MULTIPLE_RECORDS);
    case RecordSelection::Outcome::kFound:
      break;
  }
  // RFC 7208 §12: records are US-ASCII; libspf2 would read a NUL as the record's end.
  if (!printable_ascii(selection.record)) {
    note_problem(ctx, "SPF record of " + where + " has control or non-ASCII characters");
    return record_error(response, SPF_RESULT_PERMERROR, SPF_E_INVALID_CHAR);
  }
  const PreparedRecord prepared = prepare_record(selection.record);
  if (!prepared.problem.empty()) {
    note_problem(ctx, "syntax error in SPF record of " + where + ": " + prepared.problem);
    return record_error(response, SPF_RESULT_PERMERROR, SPF_E_SYNTAX);
  }
  const std::string record = fix_macros(
      prepared.record, [request](char letter) { return macro_value(request, letter, true); });
  return compile_record(server, ctx, response, recordp, record, domain, where);
}

// libspf2 calls these from C: no exception may escape.
SPF_dns_rr_t* lookup_callback(SPF_dns_server_t* server, const char* domain, ns_type type,
                              int should_cache) noexcept {
  try {
    return lookup(server, domain, type, should_cache);
  } catch (const std::exception& e) {
    note_stop(context_of(server), Stop::kInternal, std::string("internal error: ") + e.what());
  } catch (...) {
    note_stop(context_of(server), Stop::kInternal, "internal error");
  }
  return empty_rr(server, domain, type, TRY_AGAIN);
}

SPF_errcode_t get_spf_callback(SPF_server_t* server, SPF_request_t* request,
                               SPF_response_t* response, SPF_record_t** recordp) noexcept {
  try {
    return get_spf(server, request, response, recordp);
  } catch (const std::exception& e) {
    note_stop(context_of(server->resolver), Stop::kInternal,
              std::string("internal error: ") + e.what());
  } catch (...) {
    note_stop(context_of(server->resolver), Stop::kInternal, "internal error");
  }
  if (*recordp != nullptr) SPF_record_free(*recordp);
  *recordp = nullptr;
  return record_error(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);
}

void destroy_callback(SPF_dns_server_t* server) noexcept { delete server; }

// "spf2.0/mfrom,pra ..." -> true when the scope list names `scope` (RFC 4406 §3.4).
bool spf2_record_has_scope(std::string_view text, std::string_view scope, std::size_t& body) {
  constexpr std::string_view kPrefix = "spf2.0/";
  if (!util::istarts_with_ascii(text, kPrefix)) return false;
  const std::size_t end = std::min(text.find(' '), text.size());
  body = end;
  std::string_view scopes = text.substr(kPrefix.size(), end - kPrefix.size());
  while (true) {
    const std::size_t comma = scopes.find(',');
    if (util::iequals_ascii(scopes.substr(0, comma), scope)) return true;
    if (comma == std::string_view::npos) return false;
    scopes.remove_prefix(comma + 1);
  }
}

// RFC 4406 §3.1: a record "starting with spf2.0" (§3.4), i.e. whose version section (up to
// the scope list's "/" or the first SP) is "spf2.0", whatever its scopes and even if they are
// malformed; "spf2.01/pra" or "spf2.1/pra" are other versions.
bool is_spf2_record(std::string_view text) {
  constexpr std::string_view kVersion = "spf2.0";
  return util::istarts_with_ascii(text, kVersion) &&
         (text.size() == kVersion.size() || text[6] == '/' || text[6] == ' ');
}

bool is_spf1_record(std::string_view text) {
  constexpr std::string_view kVersion = "v=spf1";
  return util::istarts_with_ascii(text, kVersion) &&
         (text.size() == kVersion.size() || text[6] == ' ');
}

}  // namespace

bool is_permanent(Stop stop) {
  return stop == Stop::kTermLimit || stop == Stop::kVoidLimit || stop == Stop::kMxLimit;
}

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

RecordSelection select_record(const std::vector<std::string>& texts, Scope scope) {
  RecordSelection selection;
  if (scope == Scope::kPra) {
    // RFC 4406 §4.4: spf2.0 records for the scope win. §3.4: v=spf1 stands for
    // "spf2.0/mfrom,pra" only when no spf2.0 record exists at all; a domain whose spf2.0
    // records name other scopes only has no pra policy ("none").
    std::size_t found = 0;
    bool any_spf2 = false;
    for (const std::string& text : texts) {
      any_spf2 = any_spf2 || is_spf2_record(text);
      std::size_t body = 0;
      if (!spf2_record_has_scope(text, "pra", body)) continue;
      if (++found > 1) {
        return RecordSelection{RecordSelection::Outcome::kMultiple, {}};
      }
      selection.outcome = RecordSelection::Outcome::kFound;
      selection.record = "v=spf1" + text.substr(body);
    }
    if (found == 1 || any_spf2) return selection;
  }
  std::size_t found = 0;
  for (const std::string& text : texts) {
    if (!is_spf1_record(text)) continue;
    if (++found > 1) return RecordSelection{RecordSelection::Outcome::kMultiple, {}};
    selection.outcome = RecordSelection::Outcome::kFound;
    selection.record = text;
  }
  return selection;
}

DnsLayer::DnsLayer(LookupContext& context) : server_(new SPF_dns_server_t{}) {
  server_->destroy = destroy_callback;
  server_->lookup = lookup_callback;
  server_->get_spf = get_spf_callback;
  server_->get_exp = nullptr;  // libspf2 fetches exp= text through lookup() and expands it
  server_->add_cache = nullptr;
  server_->layer_below = nullptr;
  server_->name = "authmilter";
  server_->debug = 0;
  server_->hook = &context;
}

DnsLayer::~DnsLayer() { SPF_dns_free(server_); }

}  // namespace authmilter::spf
