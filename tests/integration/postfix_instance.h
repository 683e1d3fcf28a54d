// authmilter::integration postfix_instance — a private Postfix for one test run.
//
// What: a complete Postfix instance (Postfix 3.7 as packaged by Debian 12) living in a temp
//   directory: its own config_directory (etc/: main.cf, master.cf), queue_directory and
//   data_directory, logging to a file through postlogd (maillog_file, Postfix 3.4+), two
//   SMTP listeners on 127.0.0.1:
//     milter_smtp_port(): smtpd with smtpd_milters = inet:127.0.0.1:<milter port>,
//       milter_default_action = tempfail (a dead milter defers mail, never passes it);
//     plain_smtp_port(): the same smtpd with the milter switched off (harness self-tests).
//   Mail for test.example is relayed to the in-process sink (transport_maps inline: map),
//   with no DNS lookups. XCLIENT is allowed from 127.0.0.0/8.
// How it runs: the queue directories are created with the owners and modes of Debian's
//   postfix-files (the `postfix` user, the `postdrop` group), then Postfix's master runs as our
//   direct child in the foreground (`master -c DIR -s`, what `postfix start-fg` does) in
//   its own session: stop() sends SIGTERM (master then terminates its daemons), and a crash
//   of the test binary takes master down with it (PR_SET_PDEATHSIG).
// Hold queue: quarantined messages (milter SMFIR_QUARANTINE) sit in DIR/queue/hold;
//   find_held() reads them with postcat(1).
// Limits: start-up bounded by kPostfixStartTimeout, stop by kPostfixStopTimeout.
// Security: needs root (master binds and switches to mail_owner); listens on 127.0.0.1
//   only; chroot disabled for every service so nothing is copied into the temp dir.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "process.h"

namespace authmilter::integration {

inline constexpr std::chrono::seconds kPostfixStartTimeout{20};
inline constexpr std::chrono::seconds kPostfixStopTimeout{10};

struct PostfixSettings {
  std::filesystem::path dir;  // etc/ (config_directory), queue/, data/, maillog inside
  std::uint16_t sink_port = 0;
  std::uint16_t milter_port = 0;
};

struct HeldMessage {
  std::string queue_id;
  std::string content;  // postcat output: envelope records, headers, body
};

class PostfixInstance {
 public:
  // Writes the configuration, creates the queue and starts master; throws
  // std::runtime_error (with the maillog) when Postfix does not come up.
  static std::unique_ptr<PostfixInstance> start(const PostfixSettings& settings);
  ~PostfixInstance();

  std::uint16_t milter_smtp_port() const { return milter_smtp_port_; }
  std::uint16_t plain_smtp_port() const { return plain_smtp_port_; }
  const std::filesystem::path& dir() const { return settings_.dir; }
  // config_directory: main.cf and master.cf only, apart from the queue, so `postfix check`
  // (which walks the config tree for root ownership) does not trip over queue files.
  std::filesystem::path config_dir() const { return settings_.dir / "etc"; }

  // SIGTERM to master, bounded wait, SIGKILL to its process group as a last resort.
  // master's SIGTERM handler signals its process group and then dies of SIGTERM itself,
  // so "killed by SIGTERM" is its clean exit (see stopped_cleanly()).
  ExitStatus stop();
  static bool stopped_cleanly(const ExitStatus& status);
  std::string maillog() const;
  // Queue ids currently in the hold queue.
  std::vector<std::string> hold_queue_ids() const;
  // A held message containing `needle`, waiting up to `timeout`.
  std::optional<HeldMessage> find_held(std::string_view needle,
                                       std::chrono::milliseconds timeout) const;

 private:
  PostfixInstance() = default;
  void write_config() const;

  PostfixSettings settings_;
  std::uint16_t milter_smtp_port_ = 0;
  std::uint16_t plain_smtp_port_ = 0;
  ChildProcess master_;
};

}  // namespace authmilter::integration
