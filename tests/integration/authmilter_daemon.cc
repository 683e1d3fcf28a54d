#include "authmilter_daemon.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "net.h"

#ifndef AUTHMILTER_BINARY
#define AUTHMILTER_BINARY ""
#endif

namespace authmilter::integration {

std::string authmilter_binary() {
  if (const char* env = std::getenv("AUTHMILTER_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
  return AUTHMILTER_BINARY;
}

std::unique_ptr<AuthmilterDaemon> AuthmilterDaemon::start(const std::string& binary,
                                                          const std::filesystem::path& config_path,
                                                          const std::filesystem::path& log_path,
                                                          std::uint16_t port,
                                                          const std::string& config) {
  if (binary.empty() || ::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("authmilter binary not found (\"" + binary +
                             "\"): build the authmilter target or set AUTHMILTER_BINARY");
  }
  {
    std::ofstream out(config_path, std::ios::trunc);
    out << config;
    if (!out) throw std::runtime_error("cannot write " + config_path.string());
  }
  std::unique_ptr<AuthmilterDaemon> d(new AuthmilterDaemon());
  d->log_path_ = log_path;
  {
    std::ofstream mark(log_path, std::ios::app);
    mark << "---- starting " << binary << " -f -c " << config_path.string() << "\n";
  }
  d->process_ = ChildProcess::spawn({
      .argv = {binary, "-f", "-c", config_path.string()},
      // Sanitizer builds: a report must fail the run (non-zero exit), not scroll by.
      .extra_env = {"ASAN_OPTIONS=abort_on_error=0:exitcode=23",
                    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"},
      .output_file = log_path.string(),
      .working_directory = {},
  });
  Deadline deadline = deadline_in(kDaemonStartTimeout);
  auto pause = std::chrono::milliseconds(2);
  while (Clock::now() < deadline) {
    if (auto status = d->process_.poll()) {
      throw std::runtime_error("authmilter exited during start-up (" + status->describe() +
                               "); its output:\n" + d->log());
    }
    if (connect_tcp(port, deadline_in(std::chrono::milliseconds(200))).valid()) return d;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  d->stop();
  throw std::runtime_error("authmilter did not listen on 127.0.0.1:" + std::to_string(port) +
                           " within the start-up time; its output:\n" + d->log());
}

AuthmilterDaemon::~AuthmilterDaemon() { stop(); }

ExitStatus AuthmilterDaemon::stop() {
  if (!process_.started()) return {};
  if (auto s = process_.poll()) return *s;
  return process_.stop(SIGTERM, kDaemonStopTimeout);
}

bool AuthmilterDaemon::running() { return process_.started() && !process_.poll(); }

std::string AuthmilterDaemon::log() const { return read_file(log_path_.string()); }

}  // namespace authmilter::integration
