#include "dns_layer.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <vector>

#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/spf.h"
#include "explanation.h"
#include "libspf2.h"
#include "lookup_purpose.h"
#include "macro_values.h"
#include "record_selection.h"
#include "record_split.h"

namespace authmilter::spf {
namespace {

LookupContext& context_of(SPF_dns_server_t* server) {
  return *static_cast<LookupContext*>(server->hook);
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
  if (purpose == Purpose::kTerm &&
      !count_term(ctx, "the lookup of " + describe(domain, *rr_type))) {
    return empty_rr(server, domain_c, type, TRY_AGAIN);
  }
  if (!may_query(ctx, evaluation)) return empty_rr(server, domain_c, type, TRY_AGAIN);

  dns::Answer answer = query(ctx, domain, *rr_type);
  if (answer.is_temporary_failure()) {
    // RFC 7208 §5.5: a DNS error on the address lookup of a PTR name skips that name.
    if (purpose == Purpose::kFollow && ctx.follow.is_ptr) {
      return empty_rr(server, domain_c, type, NO_DATA);
    }
    if (evaluation) note_temporary(ctx, domain, *rr_type, answer);
    return empty_rr(server, domain_c, type, TRY_AGAIN);
  }
  if (purpose == Purpose::kTerm) apply_zero_cidr(ctx, zero_cidr, *rr_type, answer);
  if (purpose == Purpose::kFollow) apply_zero_cidr(ctx, ctx.follow.zero_cidr, *rr_type, answer);
  if (purpose == Purpose::kTerm && is_void(answer) && !count_void(ctx, domain, *rr_type)) {
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
    const std::optional<std::string> text = explanation_text(answer, ctx.request);
    if (!text) return empty_rr(server, domain_c, type, NO_DATA);
    dns::Answer prepared = answer;
    prepared.records.front().data = *text;
    std::vector<std::string> unused;
    return to_rr(server, domain_c, type, *rr_type, prepared, 1, unused);
  }
  std::vector<std::string> names;
  SPF_dns_rr_t* rr = to_rr(server, domain_c, type, *rr_type, answer, max_records, names);
  if (is_name_type(type)) expect_follow_ups(ctx, std::move(names), *rr_type, purpose, zero_cidr);
  return rr;
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
  SPF_errcode_t continued = SPF_E_SUCCESS;
  if (!top && serve_continuation(server, request, ctx, response, recordp, domain, continued)) {
    return continued;  // the rest of a record split by compile_record()
  }
  // include: or redirect= (RFC 7208 §4.6.4 counts both)
  if (!top && !count_term(ctx, "include/redirect " + printable(domain))) {
    return record_error(response, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS);
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
    if (!top && !count_void(ctx, domain, dns::RrType::kTxt)) {
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

}  // namespace

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
