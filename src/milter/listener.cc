#include "authmilter/milter/listener.h"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "authmilter/milter/thread_priority.h"

// Signals (listener.h): libmilter's signal thread sigwait()s for SIGHUP, SIGTERM and SIGINT
// and stops the milter on any of them. The build links libmilter.a with --wrap=sigwait, so
// its call comes here and waits without the three: they stay the daemon's. With nothing left
// to wait for the thread sleeps for good (glibc's sigwait restarts after EINTR).
extern "C" int __real_sigwait(const sigset_t* set, int* sig);
extern "C" int __wrap_sigwait(const sigset_t* set, int* sig) {
  sigset_t without_process_signals = *set;
  for (const int owned : authmilter::milter::kProcessSignals) {
    sigdelset(&without_process_signals, owned);
  }
  return __real_sigwait(&without_process_signals, sig);
}

// Thread priority (thread_priority.h): libmilter's worker pool calls mi_engine() to serve one
// session's commands until the MTA is silent; the build links libmilter.a with
// --wrap=mi_engine, so each such burst runs inside a SessionBurst, and a thread lowered for a
// large body gets its priority back before libmilter gives it to another session.
extern "C" int __real_mi_engine(SMFICTX* ctx);
extern "C" int __wrap_mi_engine(SMFICTX* ctx) {
  const authmilter::milter::thread_priority::SessionBurst burst;
  return __real_mi_engine(ctx);
}

namespace authmilter::milter {
namespace {

// The port a socket is bound to, or 0 when it is not an IPv4/IPv6 socket.
std::uint16_t bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t size = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) return 0;
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return 0;
}

// See the header: the listening TCP socket on our port, found among our open descriptors.
void disable_nagle_on_listener(const config::SocketSpec& socket) {
  if (socket.kind == config::SocketSpec::Kind::kUnix) return;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    const std::string name = entry.path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc()) continue;
    int listening = 0;
    socklen_t size = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0 ||
        bound_port(fd) != socket.port) {
      continue;
    }
    const int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
      spdlog::warn("could not set TCP_NODELAY on the milter socket: {}", std::strerror(errno));
    }
    return;
  }
  spdlog::warn("milter listening socket not found; TCP_NODELAY not set");
}

// Connects once to our own listening socket (an address of the wildcard's family for
// 0.0.0.0 and ::), so libmilter's listener returns from poll() and sees its stop flag.
void wake_listener(const config::SocketSpec& socket) {
  const int family = socket.kind == config::SocketSpec::Kind::kUnix    ? AF_UNIX
                     : socket.kind == config::SocketSpec::Kind::kInet6 ? AF_INET6
                                                                       : AF_INET;
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (family == AF_UNIX) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.path.c_str(), sizeof addr.sun_path - 1);
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } else if (family == AF_INET) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(socket.port);
    const std::string host = socket.host == "0.0.0.0" ? "127.0.0.1" : socket.host;
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1) {
      (void)connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    }
  } else {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(socket.port);
    const std::string host = socket.host == "::" ? "::1" : socket.host;
    if (inet_pton(AF_INET6, host.c_str(), &addr.sin6_addr) == 1) {
      (void)connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    }
  }
  close(fd);
}

}  // namespace

void listen(const config::SocketSpec& socket, unsigned umask_bits) {
  std::string conn = socket.to_string();
  if (smfi_setconn(conn.data()) != MI_SUCCESS) throw std::runtime_error("invalid Socket: " + conn);
  smfi_settimeout(kMilterIoTimeoutSeconds);
  smfi_setbacklog(kListenBacklog);
  const mode_t old_umask = umask(static_cast<mode_t>(umask_bits));
  const int rc = smfi_opensocket(true);  // true: remove a stale unix socket first
  umask(old_umask);
  if (rc != MI_SUCCESS) {
    throw std::runtime_error("cannot listen on " + conn + " (in use, or no permission?)");
  }
  disable_nagle_on_listener(socket);
}

MainLoop::MainLoop(config::SocketSpec socket) : socket_(std::move(socket)) {
  thread_ = std::thread([this] {
    result_ = smfi_main() == MI_SUCCESS ? 0 : 1;
    finished_.store(true);
  });
}

MainLoop::~MainLoop() { stop(); }

int MainLoop::stop() {
  if (stopped_) return result_;
  stopped_ = true;
  // smfi_stop() blocks on the listener's lock; it runs on a helper thread while we poke.
  std::thread stopper([] { smfi_stop(); });
  for (int poke = 0; poke < kMaxStopPokes && !finished_.load(); ++poke) {
    wake_listener(socket_);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stopper.join();
  thread_.join();
  return result_;
}

std::string libmilter_version() {
  unsigned int major = 0, minor = 0, patch = 0;
  smfi_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace authmilter::milter
