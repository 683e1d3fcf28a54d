// TransactionEnv: the daemon's shared services over in-memory DNS and one typical message,
// for the whole-Transaction benchmark and the callgrind instruction count.
//
// What: Config::defaults() with AuthservID mx.example.net, the bench zone (bench_support.h),
//   and the daemon's services built by daemon::ServiceSet over it, as the daemon and
//   `authmilter check` build theirs. run() feeds one message through
//   a milter::Transaction exactly as the milter callbacks do with SMFIP_HDR_LEADSPC: MAIL FROM,
//   one recipient, each header field, end of headers, the body in chunks of at most 64 KiB
//   (libmilter's MILTER_CHUNK_SIZE), end of message.
// The typical message: ~10 kB of text from alice@example.org, sent by 192.0.2.10 (listed in
//   example.org's SPF record), signed per Signatures; SPF pass, DKIM pass, DMARC pass.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "authmilter/config/config.h"
#include "authmilter/daemon/service_set.h"
#include "authmilter/dns/zone_resolver.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::bench {

enum class Signatures { kNone, kRsa2048, kRsa2048AndEd25519 };

class TransactionEnv {
 public:
  explicit TransactionEnv(Signatures signatures, std::size_t body_bytes = 10 * 1024);

  milter::Outcome run();
  // Empty when `outcome` is what the typical message must give (SPF pass, every signature
  // pass, DMARC pass, accept); otherwise what differs.
  std::string check(const milter::Outcome& outcome) const;
  std::size_t message_bytes() const { return message_bytes_; }

 private:
  config::Config config_;
  dns::ZoneResolver zone_;
  std::unique_ptr<daemon::ServiceSet> services_;
  milter::Session session_;
  std::vector<mail::HeaderField> headers_;
  std::string body_;
  std::size_t signatures_ = 0;
  std::size_t message_bytes_ = 0;
};

}  // namespace authmilter::bench
