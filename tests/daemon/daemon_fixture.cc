#include "daemon_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include "net.h"

namespace authmilter::testing {

DaemonProcess::DaemonProcess(const std::string& extra_config,
                             const std::vector<std::string>& extra_env) {
  char pattern[] = "/tmp/authmilter-daemon-test-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  port_ = integration::pick_free_port();
  const std::filesystem::path config = dir_ / "authmilter.conf";
  config_text_ = "Socket inet:" + std::to_string(port_) + "@127.0.0.1\n" +
                 "AuthservID mx.example.net\n"
                 "DNSServers 127.0.0.1:9\n"
                 "DNSTimeout 500ms\n"
                 "MessageTimeout 1s\n"
                 "Syslog no\n"
                 "LogLevel info\n" +
                 extra_config;
  {
    std::ofstream out(config);
    out << config_text_;
  }
  const std::string binary = integration::authmilter_binary();
  if (binary.empty() || ::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("authmilter binary not found: build the authmilter target");
  }
  std::vector<std::string> env = {"ASAN_OPTIONS=abort_on_error=0:exitcode=23",
                                  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  process_ = integration::ChildProcess::spawn({
      .argv = {binary, "-f", "-c", config.string()},
      .extra_env = env,
      .output_file = (dir_ / "authmilter.log").string(),
      .working_directory = {},
  });
  const auto deadline = integration::deadline_in(integration::kDaemonStartTimeout);
  while (integration::Clock::now() < deadline) {
    if (auto status = process_.poll()) {
      throw std::runtime_error("authmilter exited during start-up (" + status->describe() + "):\n" +
                               log());
    }
    if (integration::connect_tcp(port_, integration::deadline_in(std::chrono::milliseconds(200)))
            .valid()) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("authmilter did not listen in time:\n" + log());
}

DaemonProcess::~DaemonProcess() {
  if (process_.started() && !process_.poll()) process_.stop(SIGKILL, std::chrono::seconds(5));
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string DaemonProcess::log() const {
  return integration::read_file((dir_ / "authmilter.log").string());
}

bool DaemonProcess::wait_for_log(const std::string& text, std::chrono::milliseconds within) const {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

integration::ExitStatus DaemonProcess::stop(std::chrono::milliseconds grace) {
  return process_.stop(SIGTERM, grace);
}

}  // namespace authmilter::testing
