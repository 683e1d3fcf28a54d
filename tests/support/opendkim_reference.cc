// The libopendkim reference verifier (opendkim_reference.h): authmilter's DKIM verifier as it
// was on libopendkim (main b4818e1, src/dkim/verifier.cc and key_lookup.*), kept verbatim in
// its logic so the differential test compares our own verifier with exactly what the daemon
// used to do. Only the names changed (namespace, class names, the constants it takes from
// opendkim_reference.h). Not linked into the daemon.
#include "opendkim_reference.h"

#include <sys/time.h>
#include <sys/types.h>
// clang-format off
#include <stdbool.h>
#include <opendkim/dkim.h>
// clang-format on

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "authmilter/dkim/signature_engine.h"
#include "authmilter/dkim/tag_list.h"
#include "authmilter/dns/wire.h"
#include "authmilter/util/ascii.h"

namespace authmilter::test_support::opendkim {

// ---------------------------------------------------------------------------------------------
// Key lookups: libopendkim's DNS query hooks over dns::Resolver (was src/dkim/key_lookup.*).
// Temporary failures are reported as DKIM_DNS_ERROR / _EXPIRED rather than as a SERVFAIL
// reply, because libopendkim reads an empty SERVFAIL reply as "no key" (permerror) where
// RFC 6376 §6.1.2 wants TEMPFAIL. The hooks see only the library-wide service handle, so the
// verifier publishes its LookupContext in a thread-local pointer while libopendkim runs.

namespace detail {

inline constexpr std::size_t kMaxKeyRecordText = 2048;

struct KeyAnswer {
  dns::Status status = dns::Status::kError;
  bool authenticated = false;
  std::string detail;
};

struct LookupContext {
  dns::Deadline deadline;
  const work::CancelToken* cancel = nullptr;
  std::map<std::string, dns::PendingAnswer> started;  // normalized key name -> lookup
  std::map<std::string, KeyAnswer> answers;           // normalized key name -> outcome
};

// Publishes `context` to the hooks on this thread for the lifetime of the object.
class ScopedContext {
 public:
  explicit ScopedContext(LookupContext* context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  LookupContext* previous_;
};

// The DNS service handle libopendkim passes to the hooks.
struct HookService {
  dns::Resolver* resolver = nullptr;
};

// Installs the query hooks (and no-op init/close/nslist/config/trustanchor hooks, so
// libopendkim never treats `service` as a libresolv state).
void install_hooks(DKIM_LIB* lib, HookService* service);

namespace {

thread_local LookupContext* t_context = nullptr;

// libopendkim's own default (DEFTIMEOUT) when a hook runs outside any verifier.
constexpr auto kFallbackTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxCharacterString = 255;

struct Query {
  std::string name;  // as libopendkim asked
  std::string key;   // normalized
  unsigned char* buf = nullptr;
  std::size_t buflen = 0;
  dns::PendingAnswer pending;
};

dns::Answer failure(dns::Status status, std::string detail) {
  return dns::Answer::failure(status, std::move(detail));
}

// The same answer in a form the wire encoder takes: character-strings of at most 255
// octets (RFC 1035 §3.3; libopendkim joins them again), and with `trim` at most two records
// of at most kMaxKeyRecordText characters each.
dns::Answer wire_ready(const dns::Answer& answer, bool trim) {
  dns::Answer out = answer;
  if (trim && out.records.size() > 2) out.records.resize(2);
  for (auto& record : out.records) {
    std::string text;
    if (record.strings.empty()) {
      text = record.data;
    } else {
      for (const auto& piece : record.strings) text += piece;
    }
    if (trim && text.size() > kMaxKeyRecordText) text.resize(kMaxKeyRecordText);
    record.strings.clear();
    for (std::size_t pos = 0; pos < text.size(); pos += kMaxCharacterString) {
      record.strings.push_back(text.substr(pos, kMaxCharacterString));
    }
    if (record.strings.empty()) record.strings.emplace_back();
    record.data = std::move(text);
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> encode(const Query& query, const dns::Answer& answer) {
  for (bool trim : {false, true}) {
    try {
      auto wire =
          dns::wire::encode_response(0, query.name, dns::RrType::kTxt, wire_ready(answer, trim));
      if (wire.size() <= query.buflen) return wire;
    } catch (const std::exception&) {
      // Unencodable name or record: try the trimmed form, then give up.
    }
  }
  return std::nullopt;
}

int query_start(void* service, int type, unsigned char* question, unsigned char* buf,
                std::size_t buflen, void** handle) noexcept {
  try {
    if (service == nullptr || question == nullptr || buf == nullptr || handle == nullptr) {
      return -1;
    }
    auto query = std::make_unique<Query>();
    query->name = reinterpret_cast<const char*>(question);
    query->key = dns::normalize_name(query->name);
    query->buf = buf;
    query->buflen = buflen;
    LookupContext* context = t_context;
    if (type != static_cast<int>(dns::RrType::kTxt)) {
      query->pending = dns::ready_answer(failure(dns::Status::kError, "unexpected query type"));
    } else if (!dkim::valid_key_name(query->key)) {
      query->pending =
          dns::ready_answer(failure(dns::Status::kNxDomain, "key name is not a domain name"));
    } else if (context != nullptr && context->started.count(query->key) != 0) {
      query->pending = context->started.at(query->key);
    } else {
      query->pending =
          static_cast<HookService*>(service)->resolver->start(query->key, dns::RrType::kTxt);
      if (context != nullptr) context->started.emplace(query->key, query->pending);
    }
    *handle = query.release();
    return 0;
  } catch (...) {
    return -1;
  }
}

int query_cancel(void* /*service*/, void* handle) noexcept {
  delete static_cast<Query*>(handle);
  return 0;
}

int query_waitreply(void* /*service*/, void* handle, struct timeval* timeout, std::size_t* bytes,
                    int* error, int* dnssec) noexcept {
  try {
    auto* query = static_cast<Query*>(handle);
    if (query == nullptr) return DKIM_DNS_INVALID;
    if (error != nullptr) *error = 0;
    if (dnssec != nullptr) *dnssec = DKIM_DNSSEC_UNKNOWN;
    LookupContext* context = t_context;
    dns::Deadline deadline;
    if (context != nullptr) {
      // The message deadline rules; libopendkim's own timeout (10 s from the start of this
      // wait) would let a slow key lookup outlive the milter's reply budget.
      deadline = context->deadline;
    } else {
      auto wait = timeout != nullptr ? std::chrono::seconds(timeout->tv_sec) +
                                           std::chrono::microseconds(timeout->tv_usec)
                                     : std::chrono::microseconds(kFallbackTimeout);
      deadline = dns::Clock::now() + wait;
    }
    dns::Answer answer =
        dns::Resolver::await(query->pending, deadline, context ? context->cancel : nullptr);
    std::optional<std::vector<std::uint8_t>> wire;
    if (!answer.is_temporary_failure()) {
      wire = encode(*query, answer);
      if (!wire) answer = failure(dns::Status::kError, "key reply could not be passed on");
    }
    if (context != nullptr) {
      context->answers[query->key] = KeyAnswer{answer.status, answer.authenticated, answer.detail};
    }
    if (answer.status == dns::Status::kTimeout) return DKIM_DNS_EXPIRED;
    if (answer.is_temporary_failure()) return DKIM_DNS_ERROR;
    std::memcpy(query->buf, wire->data(), wire->size());
    if (bytes != nullptr) *bytes = wire->size();
    if (dnssec != nullptr && answer.authenticated) *dnssec = DKIM_DNSSEC_SECURE;
    return DKIM_DNS_SUCCESS;
  } catch (...) {
    return DKIM_DNS_ERROR;
  }
}

int no_init(void** /*service*/) noexcept { return 0; }
void no_close(void* /*service*/) noexcept {}
int no_setting(void* /*service*/, const char* /*value*/) noexcept { return 0; }

}  // namespace

ScopedContext::ScopedContext(LookupContext* context) : previous_(t_context) { t_context = context; }

ScopedContext::~ScopedContext() { t_context = previous_; }

void install_hooks(DKIM_LIB* lib, HookService* service) {
  (void)dkim_dns_set_query_service(lib, service);
  dkim_dns_set_query_start(lib, query_start);
  dkim_dns_set_query_cancel(lib, query_cancel);
  dkim_dns_set_query_waitreply(lib, query_waitreply);
  dkim_dns_set_init(lib, no_init);
  dkim_dns_set_close(lib, no_close);
  dkim_dns_set_nslist(lib, no_setting);
  dkim_dns_set_config(lib, no_setting);
  dkim_dns_set_trustanchor(lib, no_setting);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The verifier (was src/dkim/verifier.cc).

namespace {

struct LibDeleter {
  void operator()(DKIM_LIB* lib) const { dkim_close(lib); }
};
struct DkimDeleter {
  void operator()(DKIM* dkim) const { dkim_free(dkim); }
};
using LibHandle = std::unique_ptr<DKIM_LIB, LibDeleter>;
using DkimHandle = std::unique_ptr<DKIM, DkimDeleter>;

constexpr std::string_view kSignatureField = "DKIM-Signature";

// libopendkim's messages are short ASCII; keep them printable for the header comment.
std::string printable(const char* text) {
  std::string out;
  if (text == nullptr) return out;
  for (const char* p = text; *p != '\0' && out.size() < 200; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

// The key-record problems libopendkim reports per signature, in words for the A-R comment.
std::string key_problem(int error) {
  switch (error) {
    case DKIM_SIGERROR_DNSSYNTAX:
      return "key record syntax error";
    case DKIM_SIGERROR_KEYDECODE:
      return "key could not be decoded";
    case DKIM_SIGERROR_KEYVERSION:
      return "unknown key version";
    case DKIM_SIGERROR_KEYUNKNOWNHASH:
      return "key h= names an unknown hash";
    case DKIM_SIGERROR_KEYHASHMISMATCH:
      return "key h= does not allow the signature's hash";
    case DKIM_SIGERROR_NOTEMAILKEY:
      return "key s= does not allow email";
    case DKIM_SIGERROR_KEYTYPEMISSING:
      return "key type missing";
    case DKIM_SIGERROR_KEYTYPEUNKNOWN:
      return "unknown key type";
    case DKIM_SIGERROR_MULTIREPLY:
      return "several key records";
    default:
      return {};
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct ReferenceLibrary::Impl {
  dns::Resolver& resolver;
  dkim::VerifierOptions options;
  detail::HookService service;
  LibHandle lib;
  bool ed25519 = false;

  Impl(dns::Resolver& r, dkim::VerifierOptions o) : resolver(r), options(o) {
    options.max_signatures = std::min(options.max_signatures, kMaxSignatureFields);
    service.resolver = &resolver;
    lib.reset(dkim_init(nullptr, nullptr));
    if (!lib) throw std::runtime_error("dkim_init failed");
    // FIXCRLF: milter header folds may be bare LF, and RFC 6376 §3.4.3 supplies a missing
    //   final CRLF where libopendkim would otherwise refuse the whole message.
    // BADSIGHANDLES: otherwise an unparsable From: makes libopendkim drop every signature;
    //   the malformed signatures it then keeps are ignored by our prescreen.
    // DELAYSIGPROC: keys are fetched at end of message, after our own lookups (started at
    //   end of headers) had the body's streaming time to complete; by default libopendkim
    //   would block in dkim_eoh.
    std::uint32_t flags =
        DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_DELAYSIGPROC;
    if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
        DKIM_STAT_OK) {
      throw std::runtime_error("dkim_options(FLAGS) failed");
    }
    unsigned int bits = options.min_key_bits;
    if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits, sizeof bits) !=
        DKIM_STAT_OK) {
      throw std::runtime_error("dkim_options(MINKEYBITS) failed");
    }
    if (dkim_set_prescreen(lib.get(), &ReferenceLibrary::Impl::prescreen) != DKIM_STAT_OK) {
      throw std::runtime_error("dkim_set_prescreen failed");
    }
    detail::install_hooks(lib.get(), &service);
    ed25519 = dkim_libfeature(lib.get(), DKIM_FEATURE_ED25519);
  }

  static DKIM_CBSTAT prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int nsigs);
};

// ---------------------------------------------------------------------------------------------

enum class Disposition {
  kVerify,     // libopendkim verifies it; its outcome decides
  kMalformed,  // syntax error (libopendkim's or ours): permerror
  kBadName,    // s= / d= cannot form a key name: permerror
  kSha1,       // rsa-sha1 while DKIMAllowSHA1 is off: policy
  kOverLimit,  // past MaxSignatures: policy
  kUnmapped,   // libopendkim's list does not match ours (should not happen): neutral
};

struct SigField {
  dkim::TagList tags;
  bool fed = false;        // handed to libopendkim, so it has a DKIM_SIGINFO for it
  bool syntax_ok = false;  // libopendkim and our tag reader both accepted it
  std::string syntax_error;
  Disposition disposition = Disposition::kUnmapped;
  DKIM_SIGINFO* sig = nullptr;
  std::string key;  // normalized key name, for kVerify
};

struct ReferenceVerifier::Impl {
  enum class State { kHeaders, kBody, kDone };

  const ReferenceLibrary::Impl& library;
  std::string id;  // libopendkim keeps the pointer, so it lives here
  DkimHandle dkim;
  detail::LookupContext lookups;
  State state = State::kHeaders;
  std::vector<SigField> fields;
  std::size_t header_fields = 0;
  std::size_t header_bytes = 0;
  std::size_t skipped = 0;
  std::size_t dropped = 0;
  DKIM_STAT eoh_status = DKIM_STAT_OK;
  std::string eoh_error;
  bool mapped = false;  // prescreen ran and matched libopendkim's list to ours
  std::vector<unsigned char> buffer;
  std::vector<dkim::SignatureResult> results;

  Impl(const ReferenceLibrary::Impl& lib, std::string_view message_id, dns::Deadline deadline,
       const work::CancelToken* cancel)
      : library(lib), id(message_id.empty() ? "-" : message_id) {
    lookups.deadline = deadline;
    lookups.cancel = cancel;
    DKIM_STAT status = DKIM_STAT_OK;
    dkim.reset(dkim_verify(library.lib.get(), reinterpret_cast<const unsigned char*>(id.c_str()),
                           nullptr, &status));
    if (!dkim) throw std::runtime_error("dkim_verify failed");
    dkim_set_user_context(dkim.get(), this);
  }

  void header_field(std::string_view field);
  void end_of_headers();
  void body(std::string_view chunk);
  std::vector<dkim::SignatureResult> finish();

  DKIM_CBSTAT prescreen(DKIM_SIGINFO** sigs, int nsigs);
  dkim::SignatureResult judge(const SigField& field) const;
  void judge_verified(const SigField& field, dkim::SignatureResult& result) const;
  void assign_b_prefixes();
};

DKIM_CBSTAT ReferenceLibrary::Impl::prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int nsigs) {
  auto* verifier = static_cast<ReferenceVerifier::Impl*>(dkim_get_user_context(dkim));
  if (verifier == nullptr) return DKIM_CBSTAT_CONTINUE;
  try {
    return verifier->prescreen(sigs, nsigs);
  } catch (...) {
    // Nothing may unwind through libopendkim; it then gives up on the message.
    return DKIM_CBSTAT_ERROR;
  }
}

void ReferenceVerifier::Impl::header_field(std::string_view field) {
  if (state != State::kHeaders || field.empty() || header_fields >= kMaxHeaderFields ||
      field.size() > kMaxHeaderBytes - header_bytes) {
    ++dropped;
    return;
  }
  std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) {
    ++dropped;  // libopendkim refuses a field without a colon
    return;
  }
  // libopendkim's rules for the field name: bytes 32..126, trailing spaces trimmed.
  std::string_view name = field.substr(0, colon);
  bool name_ok = std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 32 && u <= 126;
  });
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  bool is_signature = name_ok && util::iequals_ascii(name, kSignatureField);
  bool has_nul = field.find('\0') != std::string_view::npos;

  if (is_signature && fields.size() >= kMaxSignatureFields) {
    ++skipped;
    ++dropped;
    return;
  }
  if (has_nul) {
    // libopendkim works on C strings; a NUL would cut the field short.
    ++dropped;
    if (is_signature) {
      SigField sig;
      sig.tags = dkim::parse_tag_list(field.substr(colon + 1, field.find('\0') - colon - 1));
      sig.syntax_error = "NUL byte in signature";
      sig.disposition = Disposition::kMalformed;
      fields.push_back(std::move(sig));
    }
    return;
  }

  ++header_fields;
  header_bytes += field.size();
  // Bare CR and LF become CRLF here, not by libopendkim's FIXCRLF: that grows the field
  // after libopendkim measured it, and it then parses a DKIM-Signature cut short by the
  // number of line ends it added ("signature data corrupt").
  buffer.clear();
  buffer.reserve(field.size() + 16);
  for (std::size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c == '\r' || c == '\n') {
      buffer.push_back('\r');
      buffer.push_back('\n');
      if (c == '\r' && i + 1 < field.size() && field[i + 1] == '\n') ++i;
    } else {
      buffer.push_back(static_cast<unsigned char>(c));
    }
  }
  DKIM_STAT status = dkim_header(dkim.get(), buffer.data(), buffer.size());
  if (!is_signature) {
    if (status != DKIM_STAT_OK) ++dropped;  // refused (name not printable ASCII): not kept
    return;
  }

  SigField sig;
  sig.tags = dkim::parse_tag_list(field.substr(colon + 1));
  sig.fed = true;
  if (status != DKIM_STAT_OK) {
    sig.syntax_error = printable(dkim_geterror(dkim.get()));
    if (sig.syntax_error.empty()) sig.syntax_error = printable(dkim_getresultstr(status));
  } else if (!sig.tags.error.empty()) {
    sig.syntax_error = sig.tags.error;
  } else {
    sig.syntax_ok = true;
  }
  fields.push_back(std::move(sig));
}

DKIM_CBSTAT ReferenceVerifier::Impl::prescreen(DKIM_SIGINFO** sigs, int nsigs) {
  std::size_t fed = static_cast<std::size_t>(
      std::count_if(fields.begin(), fields.end(), [](const SigField& f) { return f.fed; }));
  if (nsigs < 0 || static_cast<std::size_t>(nsigs) != fed) {
    // Our list and libopendkim's disagree; verifying anything would risk reporting one
    // signature's outcome under another's name.
    for (int i = 0; i < nsigs; ++i) dkim_sig_ignore(sigs[i]);
    return DKIM_CBSTAT_CONTINUE;
  }
  mapped = true;
  std::size_t next = 0;
  std::size_t verifying = 0;
  for (auto& field : fields) {
    if (!field.fed) continue;
    DKIM_SIGINFO* sig = sigs[next++];
    field.sig = sig;
    dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
    if (!field.syntax_ok) {
      field.disposition = Disposition::kMalformed;
    } else if (dkim_sig_geterror(sig) != DKIM_SIGERROR_UNKNOWN) {
      // libopendkim already judged it while setting up (expired, bad a=, i= outside d=, ...)
      // and will not verify it; its error code decides.
      field.disposition = Disposition::kVerify;
      continue;
    } else if (dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK && alg == DKIM_SIGN_RSASHA1 &&
               !library.options.allow_sha1) {
      field.disposition = Disposition::kSha1;
    } else if (const char* selector = reinterpret_cast<const char*>(dkim_sig_getselector(sig)),
               *domain = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
               selector == nullptr || domain == nullptr ||
               !dkim::valid_key_name(std::string(selector) + "._domainkey." + domain)) {
      field.disposition = Disposition::kBadName;
    } else if (verifying >= library.options.max_signatures) {
      field.disposition = Disposition::kOverLimit;
    } else {
      ++verifying;
      field.disposition = Disposition::kVerify;
      field.key = dkim::key_name(selector, domain);
      continue;
    }
    dkim_sig_ignore(sig);
  }
  return DKIM_CBSTAT_CONTINUE;
}

void ReferenceVerifier::Impl::end_of_headers() {
  if (state != State::kHeaders) return;
  state = State::kBody;
  detail::ScopedContext scope(&lookups);
  eoh_status = dkim_eoh(dkim.get());
  if (eoh_status != DKIM_STAT_OK && eoh_status != DKIM_STAT_NOSIG) {
    eoh_error = printable(dkim_geterror(dkim.get()));
    if (eoh_error.empty()) eoh_error = printable(dkim_getresultstr(eoh_status));
    return;
  }
  // Start every key lookup now; they complete while the body streams, and libopendkim's
  // query hook joins them at end of message.
  for (const auto& field : fields) {
    if (field.disposition != Disposition::kVerify || field.key.empty() ||
        lookups.started.count(field.key) != 0) {
      continue;
    }
    lookups.started.emplace(field.key, library.resolver.start(field.key, dns::RrType::kTxt));
  }
}

void ReferenceVerifier::Impl::body(std::string_view chunk) {
  if (state == State::kHeaders) end_of_headers();
  if (state != State::kBody || chunk.empty()) return;
  buffer.assign(chunk.begin(), chunk.end());
  // A failing chunk (only on allocation failure) leaves the signatures unverified, which
  // finish() reports from libopendkim's per-signature state.
  (void)dkim_body(dkim.get(), buffer.data(), buffer.size());
}

std::vector<dkim::SignatureResult> ReferenceVerifier::Impl::finish() {
  if (state == State::kDone) return results;
  if (state == State::kHeaders) end_of_headers();
  state = State::kDone;
  if (fields.empty()) return results;  // no signature: dkim=none
  {
    detail::ScopedContext scope(&lookups);
    _Bool testkey = false;
    (void)dkim_eom(dkim.get(), &testkey);
  }
  results.reserve(fields.size());
  for (const auto& field : fields) results.push_back(judge(field));
  assign_b_prefixes();
  return results;
}

dkim::SignatureResult ReferenceVerifier::Impl::judge(const SigField& field) const {
  dkim::SignatureResult result;
  auto tag = [&field](std::string_view name) {
    const std::string* value = field.tags.find(name);
    return value != nullptr ? *value : std::string();
  };
  result.domain = util::lowercase_ascii(tag("d"));
  result.identity = tag("i");
  result.selector = tag("s");
  result.algorithm = util::lowercase_ascii(tag("a"));

  Disposition disposition = mapped || !field.fed ? field.disposition : Disposition::kUnmapped;
  switch (disposition) {
    case Disposition::kMalformed:
      result.result = dkim::Result::kPermError;
      result.comment = "malformed signature: " + field.syntax_error;
      return result;
    case Disposition::kBadName:
      result.result = dkim::Result::kPermError;
      result.comment = "invalid selector or domain";
      return result;
    case Disposition::kSha1:
      result.result = dkim::Result::kPolicy;
      result.comment = "rsa-sha1 not accepted";
      return result;
    case Disposition::kOverLimit:
      result.result = dkim::Result::kPolicy;
      result.comment =
          "more than " + std::to_string(library.options.max_signatures) + " signatures";
      return result;
    case Disposition::kUnmapped:
      result.result = dkim::Result::kNeutral;
      result.comment = eoh_error.empty() ? "signature could not be processed"
                                         : "signature could not be processed: " + eoh_error;
      return result;
    case Disposition::kVerify:
      break;
  }
  judge_verified(field, result);
  return result;
}

void ReferenceVerifier::Impl::judge_verified(const SigField& field,
                                             dkim::SignatureResult& result) const {
  DKIM_SIGINFO* sig = field.sig;
  if (sig == nullptr) {
    result.result = dkim::Result::kNeutral;
    result.comment = "signature could not be processed";
    return;
  }
  unsigned int flags = dkim_sig_getflags(sig);
  int error = dkim_sig_geterror(sig);
  int bh = dkim_sig_getbh(sig);
  dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
  (void)dkim_sig_getsignalg(sig, &alg);
  bool ed25519 = alg == DKIM_SIGN_ED25519SHA256;

  unsigned int bits = 0;
  if (ed25519) {
    // libopendkim reports no size for Ed25519 keys; a key it could use is 256 bits.
    if ((flags & DKIM_SIGFLAG_PROCESSED) != 0 &&
        (error == DKIM_SIGERROR_OK || error == DKIM_SIGERROR_BADSIG)) {
      result.key_bits = kEd25519KeyBits;
    }
  } else if ((flags & DKIM_SIGFLAG_PROCESSED) != 0 &&
             dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK) {
    result.key_bits = bits;
  }
  if (!field.key.empty()) {
    auto it = lookups.answers.find(field.key);
    if (it != lookups.answers.end()) {
      result.dnssec = it->second.status == dns::Status::kNoError && it->second.authenticated;
    }
  }
  if (dkim_sig_getdnssec(sig) == DKIM_DNSSEC_SECURE) result.dnssec = true;
  result.test_key = (flags & DKIM_SIGFLAG_TESTKEY) != 0;

  if ((flags & DKIM_SIGFLAG_PROCESSED) != 0 &&
      (error == DKIM_SIGERROR_OK || error == DKIM_SIGERROR_BADSIG ||
       error == DKIM_SIGERROR_KEYTOOSMALL)) {
    // RFC 6376 §6.1.2 step 7 / RFC 8463 §4.2: the key's k= must suit a=. libopendkim picks
    // the key parser from a= alone, so an Ed25519 signature would verify against a k=rsa
    // record (k= defaults to rsa) holding 32 raw bytes.
    static unsigned char k_tag[] = "k";
    const char* type = reinterpret_cast<const char*>(dkim_sig_gettagvalue(sig, true, k_tag));
    if (type != nullptr && !util::iequals_ascii(type, ed25519 ? "ed25519" : "rsa")) {
      result.result = dkim::Result::kPermError;
      result.comment = "key type does not match the algorithm";
      return;
    }
  }

  bool passed = (flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH;
  bool weak = !ed25519 && result.key_bits != 0 && result.key_bits < library.options.min_key_bits;

  if (passed && (error == DKIM_SIGERROR_OK || error == DKIM_SIGERROR_KEYTOOSMALL)) {
    if (weak || error == DKIM_SIGERROR_KEYTOOSMALL) {
      result.result = dkim::Result::kPolicy;
      result.comment = "key too short (" + std::to_string(result.key_bits) + " bits)";
      return;
    }
    result.result = dkim::Result::kPass;
    ssize_t body = -1;
    ssize_t canon = -1;
    ssize_t limit = -1;
    if (dkim_sig_getcanonlen(dkim.get(), sig, &body, &canon, &limit) == DKIM_STAT_OK &&
        limit >= 0) {
      result.comment = "body length limit l=" + std::to_string(limit);
    }
    return;
  }

  switch (error) {
    case DKIM_SIGERROR_KEYFAIL: {
      result.result = dkim::Result::kTempError;
      result.comment = "key lookup failed";
      auto it = lookups.answers.find(field.key);
      if (it != lookups.answers.end() && !it->second.detail.empty()) {
        result.comment += ": " + printable(it->second.detail.c_str());
      }
      return;
    }
    case DKIM_SIGERROR_BADSIG:
      result.result = dkim::Result::kFail;
      result.comment =
          bh == DKIM_SIGBH_MISMATCH ? "body hash mismatch" : "signature did not verify";
      return;
    case DKIM_SIGERROR_TOOLARGE_L:
      result.result = dkim::Result::kFail;
      result.comment = "l= exceeds body length";
      return;
    case DKIM_SIGERROR_KEYTOOSMALL:
      result.result = dkim::Result::kPolicy;
      result.comment = "key too short (" + std::to_string(result.key_bits) + " bits)";
      return;
    case DKIM_SIGERROR_NOKEY:
      result.result = dkim::Result::kPermError;
      result.comment = "no key for signature";
      return;
    case DKIM_SIGERROR_KEYREVOKED:
      result.result = dkim::Result::kPermError;
      result.comment = "key revoked";
      return;
    case DKIM_SIGERROR_SUBDOMAIN:
      result.result = dkim::Result::kPermError;
      result.comment = "key t=s does not allow a subdomain i=";
      return;
    case DKIM_SIGERROR_EXPIRED:
      result.result = dkim::Result::kPermError;
      result.comment = "signature expired";
      return;
    case DKIM_SIGERROR_FUTURE:
      result.result = dkim::Result::kNeutral;
      result.comment = "signature timestamp in the future";
      return;
    case DKIM_SIGERROR_INVALID_A:
      result.result = dkim::Result::kPermError;
      result.comment = "unsupported algorithm";
      return;
    case DKIM_SIGERROR_UNKNOWN:
    case DKIM_SIGERROR_OK:
    case DKIM_SIGERROR_CONDITIONAL:
    case DKIM_SIGERROR_CONDLOOP:
    case DKIM_SIGERROR_MBSFAILED:
      result.result = dkim::Result::kNeutral;
      result.comment = "signature could not be processed";
      if (!eoh_error.empty()) result.comment += ": " + eoh_error;
      return;
    default:
      break;
  }
  std::string problem = key_problem(error);
  result.result = dkim::Result::kPermError;
  if (!problem.empty()) {
    result.comment = problem;
  } else {
    // Signature syntax found while libopendkim set the signature up (v=, d=/i=, c=, h=, l=,
    // q=, b=, bh=, x= before t=).
    std::string text = printable(dkim_sig_geterrorstr(error));
    result.comment = "malformed signature: " + (text.empty() ? std::to_string(error) : text);
  }
}

void ReferenceVerifier::Impl::assign_b_prefixes() {
  std::vector<const std::string*> b_values;
  b_values.reserve(fields.size());
  for (const auto& field : fields) b_values.push_back(field.tags.find("b"));
  std::vector<std::string> prefixes = dkim::header_b_prefixes(b_values, kMinBPrefix, kMaxBPrefix);
  for (std::size_t i = 0; i < prefixes.size(); ++i) results[i].b_prefix = std::move(prefixes[i]);
}

// ---------------------------------------------------------------------------------------------

ReferenceLibrary::ReferenceLibrary(dns::Resolver& resolver, dkim::VerifierOptions options)
    : impl_(std::make_unique<Impl>(resolver, options)) {}

ReferenceLibrary::~ReferenceLibrary() = default;

std::unique_ptr<ReferenceVerifier> ReferenceLibrary::start_message(
    std::string_view id, dns::Deadline deadline, const work::CancelToken* cancel) const {
  return std::unique_ptr<ReferenceVerifier>(new ReferenceVerifier(
      std::make_unique<ReferenceVerifier::Impl>(*impl_, id, deadline, cancel)));
}

const dkim::VerifierOptions& ReferenceLibrary::options() const { return impl_->options; }

bool ReferenceLibrary::supports_ed25519() const { return impl_->ed25519; }

ReferenceVerifier::ReferenceVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ReferenceVerifier::~ReferenceVerifier() = default;

void ReferenceVerifier::header(const mail::HeaderField& field) {
  std::string text;
  text.reserve(field.name.size() + 1 + field.raw_value.size());
  text.append(field.name).append(":").append(field.raw_value);
  impl_->header_field(text);
}

void ReferenceVerifier::header_field(std::string_view field) { impl_->header_field(field); }

void ReferenceVerifier::end_of_headers() { impl_->end_of_headers(); }

void ReferenceVerifier::body(std::string_view chunk) { impl_->body(chunk); }

std::vector<dkim::SignatureResult> ReferenceVerifier::finish() { return impl_->finish(); }

std::size_t ReferenceVerifier::skipped_signatures() const { return impl_->skipped; }

std::size_t ReferenceVerifier::dropped_header_fields() const { return impl_->dropped; }

}  // namespace authmilter::test_support::opendkim
