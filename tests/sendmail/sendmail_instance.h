// authmilter::sendmail_test SendmailInstance — a private, real Sendmail (Debian's sendmail-bin
// 8.17) on a loopback port, for the Sendmail integration suite (docs/sendmail.md).
//
// What: unpacks sendmail-bin and sendmail-cf (the .debs that `install-deps.sh --test` fetched
//   with apt-get download; never installed: they conflict with postfix) with dpkg-deb -x into
//   the test's directory, builds sendmail.cf from a .mc with m4 and sendmail-cf's macros
//   (mc_text() below: confDOMAIN_NAME, its own queue, aliases, status, pid and help files,
//   INPUT_MAIL_FILTER to the daemon, a smart host that is the test's SMTP sink, no DNS of its
//   own), runs `sendmail -bD` (daemon in the foreground) and stops it by its PID.
// Host name: Sendmail qualifies the machine's host name before it reads any configuration
//   (myhostname() in daemon.c) and sleeps 60 s when it cannot; confDOMAIN_NAME does not help
//   there. So it runs in its own UTS namespace (unshare --uts) with the host name
//   mx.sendmail.test: the machine's host name is not touched.
// Limits: start-up bounded by kSendmailStartTimeout; stop by SIGTERM, then SIGKILL to its
//   process group after kSendmailStopGrace.
// Security: runs as root (as Debian's does) on 127.0.0.1 only; FEATURE(promiscuous_relay) is
//   safe there and lets the test relay to the sink without access maps.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "process.h"

namespace authmilter::sendmail_test {

using integration::ChildProcess;
using integration::ExitStatus;

inline constexpr std::chrono::seconds kSendmailStartTimeout{15};
inline constexpr std::chrono::seconds kSendmailStopGrace{5};
inline constexpr const char* kSendmailHostName = "mx.sendmail.test";

struct SendmailSettings {
  std::filesystem::path dir;                    // everything of this instance lives here
  std::filesystem::path debs_dir;               // sendmail-bin_*.deb and sendmail-cf_*.deb
  std::uint16_t smtp_port = 0;                  // where it listens (127.0.0.1)
  std::uint16_t sink_port = 0;                  // where it relays every message (127.0.0.1)
  std::uint16_t milter_port = 0;                // INPUT_MAIL_FILTER S=inet:PORT@127.0.0.1
  std::size_t max_headers_length = 256 * 1024;  // confMAX_HEADERS_LENGTH
};

// The .mc the suite runs with (docs/sendmail.md shows the same lines).
std::string mc_text(const SendmailSettings& settings);

class SendmailInstance {
 public:
  // Unpacks, configures and starts Sendmail; throws std::runtime_error saying what failed.
  static std::unique_ptr<SendmailInstance> start(const SendmailSettings& settings);
  ~SendmailInstance();

  std::uint16_t port() const { return settings_.smtp_port; }
  const std::filesystem::path& queue_dir() const { return queue_dir_; }
  // The sendmail binary of the unpacked tree.
  std::filesystem::path binary() const;
  // The sendmail.cf built from mc_text().
  std::filesystem::path config() const { return settings_.dir / "sendmail.cf"; }
  // SIGTERM to its PID, then SIGKILL to its group after kSendmailStopGrace.
  ExitStatus stop();
  std::string output() const;  // what it printed (errors before start-up)

 private:
  SendmailInstance() = default;
  SendmailSettings settings_;
  std::filesystem::path root_;
  std::filesystem::path queue_dir_;
  ChildProcess process_;
};

}  // namespace authmilter::sendmail_test
