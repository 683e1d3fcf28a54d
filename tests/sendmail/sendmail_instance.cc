#include "sendmail_instance.h"

#include <sys/stat.h>

#include <csignal>

#include <fstream>
#include <stdexcept>
#include <vector>

#include "net.h"

namespace authmilter::sendmail_test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

fs::path find_deb(const fs::path& dir, const std::string& package) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(package + "_") && name.ends_with(".deb")) return entry.path();
  }
  throw std::runtime_error("no " + package + "_*.deb in " + dir.string() +
                           ": run `bash packaging/install-deps.sh --test` (it downloads them)");
}

void run_or_throw(const std::vector<std::string>& argv, const std::string& what) {
  const integration::CommandResult r = integration::run_command(argv, 60s);
  if (!r.ok())
    throw std::runtime_error(what + " failed (" + r.status.describe() + "): " + r.output);
}

}  // namespace

std::string mc_text(const SendmailSettings& s) {
  const std::string d = s.dir.string();
  return "divert(-1)\n"
         "# authmilter's Sendmail suite (tests/sendmail, docs/sendmail.md)\n"
         "divert(0)dnl\n"
         "VERSIONID(`authmilter sendmail test')dnl\n"
         "OSTYPE(`linux')dnl\n"
         // $j: the name in the greeting and in Received: (no wait on an unqualified name).
         "define(`confDOMAIN_NAME', `" +
         std::string(kSendmailHostName) +
         "')dnl\n"
         "define(`confDONT_PROBE_INTERFACES', `True')dnl\n"
         // Its own files: nothing under /etc/mail or /var/spool is read or written.
         "define(`QUEUE_DIR', `" +
         d + "/queue')dnl\n" + "define(`ALIAS_FILE', `" + d + "/aliases')dnl\n" +
         "define(`STATUS_FILE', `" + d + "/statistics')dnl\n" + "define(`confPID_FILE', `" + d +
         "/sendmail.pid')dnl\n" + "define(`confHELP_FILE', `" + d + "/helpfile')dnl\n" +
         "define(`confCW_FILE', `-o " + d + "/local-host-names')dnl\n" +
         // No DNS of its own: host names from its hosts file only.
         "define(`confSERVICE_SWITCH_FILE', `" + d + "/service.switch')dnl\n" +
         "define(`confHOSTS_FILE', `" + d + "/hosts')dnl\n" +
         "define(`confTO_IDENT', `0s')dnl\n"
         "define(`confMAX_HEADERS_LENGTH', `" +
         std::to_string(s.max_headers_length) +
         "')dnl\n"
         // Everything goes to the test's sink.
         "define(`SMART_HOST', `esmtp:[127.0.0.1]')dnl\n"
         "define(`ESMTP_MAILER_ARGS', `TCP $h " +
         std::to_string(s.sink_port) +
         "')dnl\n"
         "FEATURE(`nocanonify')dnl\n"
         "FEATURE(`accept_unresolvable_domains')dnl\n"
         "FEATURE(`promiscuous_relay')dnl\n"
         "DAEMON_OPTIONS(`Port=" +
         std::to_string(s.smtp_port) +
         ", Addr=127.0.0.1, Name=MTA')dnl\n"
         // The milter: F=T tempfails mail while it is unreachable; timeouts per stage.
         "INPUT_MAIL_FILTER(`authmilter', `S=inet:" +
         std::to_string(s.milter_port) +
         "@127.0.0.1, F=T, T=C:10s;S:10s;R:20s;E:30s')dnl\n"
         "MAILER(`smtp')dnl\n";
}

std::unique_ptr<SendmailInstance> SendmailInstance::start(const SendmailSettings& settings) {
  std::unique_ptr<SendmailInstance> sm(new SendmailInstance());
  sm->settings_ = settings;
  sm->root_ = settings.dir / "root";
  sm->queue_dir_ = settings.dir / "queue";
  fs::create_directories(sm->root_);
  fs::create_directories(sm->queue_dir_);
  // Sendmail refuses group- or world-writable queue and config paths.
  ::chmod(settings.dir.c_str(), 0700);
  ::chmod(sm->queue_dir_.c_str(), 0700);

  for (const char* package : {"sendmail-bin", "sendmail-cf"}) {
    run_or_throw({"/usr/bin/dpkg-deb", "-x", find_deb(settings.debs_dir, package).string(),
                  sm->root_.string()},
                 std::string("dpkg-deb -x ") + package);
  }
  const fs::path mc = settings.dir / "sendmail.mc";
  write_file(mc, mc_text(settings));
  const fs::path cf_dir = sm->root_ / "usr/share/sendmail/cf";
  // m4 writes sendmail.cf on stdout; its warnings (promiscuous_relay) go to the output.
  run_or_throw(
      {"/bin/sh", "-c", "exec /usr/bin/m4 -D_CF_DIR_=\"$0\"/ \"$0\"/m4/cf.m4 \"$1\" > \"$2\"",
       cf_dir.string(), mc.string(), sm->config().string()},
      "m4 (sendmail.mc -> sendmail.cf)");
  write_file(settings.dir / "service.switch", "hosts files\naliases files\n");
  write_file(settings.dir / "hosts",
             "127.0.0.1 localhost " + std::string(kSendmailHostName) + "\n");
  write_file(settings.dir / "aliases", "postmaster: root\nMAILER-DAEMON: postmaster\n");
  write_file(settings.dir / "statistics", "");
  write_file(settings.dir / "local-host-names", std::string(kSendmailHostName) + "\n");
  // No alias database is built (newaliases refuses a path under the world-writable /tmp):
  // every recipient is remote and goes to the smart host.

  sm->process_ = ChildProcess::spawn(
      {.argv = {"/usr/bin/unshare", "--uts", "/bin/sh", "-c",
                "hostname " + std::string(kSendmailHostName) + " && exec \"$0\" -C \"$1\" -bD",
                sm->binary().string(), sm->config().string()},
       .extra_env = {},
       .output_file = (settings.dir / "sendmail.out").string(),
       .working_directory = settings.dir.string()});
  if (!integration::wait_for_tcp_port(settings.smtp_port,
                                      integration::deadline_in(kSendmailStartTimeout))) {
    throw std::runtime_error("sendmail did not listen on port " +
                             std::to_string(settings.smtp_port) + ": " + sm->output());
  }
  return sm;
}

SendmailInstance::~SendmailInstance() {
  if (process_.started()) stop();
}

fs::path SendmailInstance::binary() const { return root_ / "usr/libexec/sendmail/sendmail"; }

ExitStatus SendmailInstance::stop() { return process_.stop(SIGTERM, kSendmailStopGrace); }

std::string SendmailInstance::output() const {
  return integration::read_file((settings_.dir / "sendmail.out").string());
}

}  // namespace authmilter::sendmail_test
