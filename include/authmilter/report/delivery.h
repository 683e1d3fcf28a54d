// authmilter::report delivery — where an aggregate report goes and how it gets there.
//
// What: parse_mailto() reads one rua URI (RFC 6068 mailto:, the obsolete "!size" suffix of
//   RFC 7489 ignored as RFC 9990 says; other schemes are refused: we only send mail).
//   resolve_destinations() applies RFC 9990 §4 (external destination verification): a
//   destination whose organizational domain differs from the policy domain's needs a TXT
//   record starting with v=DMARC1 at <policy-domain>._report._dmarc.<destination host>; its
//   rua= (if any) replaces the URI when it names the same host, and a different host there
//   means no report to either. A temporary DNS failure defers that destination to a later run.
//   report_mail() builds the RFC 5322/2045 message (text part + application/gzip attachment,
//   base64, Subject per RFC 9990 §6.2). Mailers: SmtpMailer (ReportSMTP host:port, plain SMTP
//   with time-outs; no TLS: a local relay adds it) and SendmailMailer (the local sendmail(1)
//   program, fork/exec without a shell, recipient after "--").
// Limits: kMaxDestinations mailto: destinations per report (the rest are skipped, said in the
//   result); addresses at most kMaxAddressLength; SMTP replies are read with kSmtpTimeout per
//   step and at most kMaxSmtpReplyBytes.
// Security: rua URIs come from DNS, i.e. from anyone: an address must be a dot-atom local part
//   and a valid host name (no quoting, no CR/LF, no spaces, no leading '-'), so it can never
//   become a command-line option, an SMTP command or a header line of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dmarc/org_domain.h"
#include "authmilter/dns/resolver.h"
#include "authmilter/report/aggregate.h"

namespace authmilter::report {

inline constexpr std::size_t kMaxDestinations = 10;
inline constexpr std::size_t kMaxAddressLength = 254;
inline constexpr std::chrono::seconds kSmtpTimeout{60};
inline constexpr std::size_t kMaxSmtpReplyBytes = 64 * 1024;
inline constexpr const char* kSendmailPath = "/usr/sbin/sendmail";

struct Mailbox {
  std::string address;  // local@domain
  std::string domain;   // lower case
};

// nullopt with `why` for anything but a usable mailto: URI.
std::optional<Mailbox> parse_mailto(std::string_view uri, std::string* why = nullptr);

struct Destinations {
  std::vector<Mailbox> send_to;       // verified, deduplicated, at most kMaxDestinations
  std::vector<std::string> deferred;  // temporary DNS failure: try again next run
  std::vector<std::string> refused;   // "uri: why" (not mailto, not authorized, ...)
};

Destinations resolve_destinations(std::string_view policy_domain,
                                  const std::vector<std::string>& rua, dns::Resolver& resolver,
                                  const dmarc::OrgDomainFinder& org, dns::Deadline deadline);

struct MailParts {
  std::string from_name;     // ReportOrgName
  std::string from_address;  // ReportEmail
  std::string submitter;     // the domain of ReportEmail
  std::string report_id;
  std::string policy_domain;
  std::string file_name;
  std::string gzipped;
  std::int64_t begin = 0, end = 0;
};

// The whole message with CRLF line ends; `date`: seconds since the epoch for the Date field.
std::string report_mail(const MailParts& parts, const Mailbox& to, std::int64_t date);

class DeliveryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Throws DeliveryError when the message was not accepted.
  virtual void send(std::string_view envelope_from, const Mailbox& to,
                    std::string_view message) = 0;
};

class SmtpMailer final : public Mailer {
 public:
  // `host_port`: "host:port" or "[v6]:port" (ReportSMTP); `helo`: our name.
  SmtpMailer(std::string host_port, std::string helo);
  void send(std::string_view envelope_from, const Mailbox& to, std::string_view message) override;

 private:
  std::string host_port_;
  std::string helo_;
};

class SendmailMailer final : public Mailer {
 public:
  explicit SendmailMailer(std::string program = kSendmailPath);
  void send(std::string_view envelope_from, const Mailbox& to, std::string_view message) override;

 private:
  std::string program_;
};

}  // namespace authmilter::report
