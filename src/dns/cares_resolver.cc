#include "authmilter/dns/cares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>

#include "authmilter/dns/answer_cache.h"
#include "authmilter/dns/wire.h"
#include "authmilter/util/domain_name.h"
#include "authmilter/util/unique_fd.h"

namespace authmilter::dns {
namespace {

constexpr int kClassIn = 1;
constexpr unsigned char kAdBit = 0x20;  // in the fourth header octet (RFC 4035 §3.2.3)

[[noreturn]] void bad_spec(std::string_view spec, const char* why) {
  throw std::runtime_error("bad DNS server \"" + std::string(spec) + "\": " + why);
}

std::uint16_t parse_port(std::string_view spec, std::string_view text) {
  if (text.empty() || text.size() > 5) bad_spec(spec, "bad port");
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') bad_spec(spec, "bad port");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) bad_spec(spec, "port out of range");
  return static_cast<std::uint16_t>(value);
}

// Process-wide c-ares initialization; ares_library_init is not thread-safe in 1.18.
class LibraryGuard {
 public:
  LibraryGuard() {
    std::lock_guard lock(mutex());
    const int status = ares_library_init(ARES_LIB_INIT_ALL);
    if (status != ARES_SUCCESS) {
      throw std::runtime_error(std::string("ares_library_init: ") + ares_strerror(status));
    }
  }
  ~LibraryGuard() {
    std::lock_guard lock(mutex());
    ares_library_cleanup();
  }
  LibraryGuard(const LibraryGuard&) = delete;
  LibraryGuard& operator=(const LibraryGuard&) = delete;

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
};

struct ChannelDeleter {
  void operator()(ares_channel channel) const { ares_destroy(channel); }
};
using ChannelPtr = std::unique_ptr<ares_channeldata, ChannelDeleter>;

struct AresStringDeleter {
  void operator()(unsigned char* buffer) const { ares_free_string(buffer); }
};

struct ServerListDeleter {
  void operator()(ares_addr_port_node* list) const { ares_free_data(list); }
};

// A name ares_create_query can encode: labels of 1..63 octets, <= 255 octets on the wire,
// no NUL (it takes a C string).
bool encodable(const std::string& name) {
  // 253 octets of text are 255 on the wire (a length octet per label and the root).
  return name.find('\0') == std::string::npos && util::fits_domain_name_limits(name);
}

// ares_create_query reads "\x" as a literal x; a backslash in a name must be doubled.
std::string escape_for_ares(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// The TC bit of a reply (RFC 1035 §4.1.1), third octet.
bool truncated(const unsigned char* reply, int length) {
  return reply != nullptr && length >= static_cast<int>(wire::kHeaderSize) &&
         (reply[2] & 0x02) != 0;
}

Answer from_ares_status(int status) {
  switch (status) {
    case ARES_ETIMEOUT:
      return Answer::failure(Status::kTimeout, "no reply from the DNS servers");
    case ARES_ESERVFAIL:
      return Answer::failure(Status::kServFail, "SERVFAIL");
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return Answer::failure(Status::kError, "resolver shut down");
    case ARES_ECONNREFUSED:
      return Answer::failure(Status::kError, "connection to the DNS server refused or reset");
    default:
      return Answer::failure(Status::kError, std::string("c-ares: ") + ares_strerror(status));
  }
}

}  // namespace

std::string ServerAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, address, text, sizeof text);
  if (family == AF_INET6) return "[" + std::string(text) + "]:" + std::to_string(port);
  return std::string(text) + ":" + std::to_string(port);
}

ServerAddress parse_server(std::string_view spec) {
  ServerAddress server;
  std::string host;
  if (spec.empty()) bad_spec(spec, "empty");
  if (spec.front() == '[') {
    const std::size_t close = spec.find(']');
    if (close == std::string_view::npos) bad_spec(spec, "missing ]");
    host = std::string(spec.substr(1, close - 1));
    const std::string_view rest = spec.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') bad_spec(spec, "junk after ]");
      server.port = parse_port(spec, rest.substr(1));
    }
    server.family = AF_INET6;
  } else if (std::count(spec.begin(), spec.end(), ':') == 1) {
    const std::size_t colon = spec.find(':');
    host = std::string(spec.substr(0, colon));
    server.port = parse_port(spec, spec.substr(colon + 1));
    server.family = AF_INET;
  } else {
    host = std::string(spec);
    server.family = spec.find(':') == std::string_view::npos ? AF_INET : AF_INET6;
  }
  if (host.find('\0') != std::string::npos ||
      inet_pton(server.family, host.c_str(), server.address) != 1) {
    bad_spec(spec, server.family == AF_INET ? "not an IPv4 address" : "not an IPv6 address");
  }
  return server;
}

std::vector<std::string> split_server_list(std::string_view text) {
  std::vector<std::string> specs;
  std::size_t i = 0;
  auto separator = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n'; };
  while (i < text.size()) {
    while (i < text.size() && separator(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !separator(text[i])) ++i;
    if (i > start) specs.emplace_back(text.substr(start, i - start));
  }
  return specs;
}

struct CaresResolver::Impl {
  static constexpr std::size_t kTypeSlots = std::size(kMetricTypes) + 1;  // + "other"
  struct TypeCounters {
    std::atomic<std::uint64_t> queries{0};
    std::atomic<std::uint64_t> cache_hits{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> servfail{0};
  };
  static std::size_t slot(RrType type) {
    for (std::size_t i = 0; i < std::size(kMetricTypes); ++i) {
      if (kMetricTypes[i] == type) return i;
    }
    return std::size(kMetricTypes);
  }
  static void count(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  struct Request {
    std::string name;
    RrType type;
    Deadline deadline;
  };

  struct Inflight {
    Impl* impl = nullptr;
    std::string name;
    RrType type = RrType::kA;
    std::uint16_t id = 0;
    std::vector<unsigned char> query;  // as sent over UDP, for the TCP retry
    bool over_tcp = false;             // truncated over UDP, retried on tcp_channel
    bool finished = false;
    Clock::time_point sent_at{};
    std::list<Inflight>::iterator self;
    std::multimap<Deadline, Inflight*>::iterator deadline;
  };

  explicit Impl(CaresOptions opts)
      : options(std::move(opts)),
        cache({options.cache_size, options.cache_max_ttl, options.negative_ttl_cap},
              options.clock) {
    if (options.timeout.count() <= 0) throw std::runtime_error("DNS timeout must be positive");
    const int tries = std::clamp(options.tries, 1, kMaxTries);
    std::vector<ServerAddress> servers;
    for (const auto& spec : options.servers) servers.push_back(parse_server(spec));

    // c-ares doubles the per-try timeout after each round over the servers; pick the first
    // try's timeout so that all tries together fit in DNSTimeout.
    const long long servers_count = servers.empty()
                                        ? static_cast<long long>(count_resolv_conf_servers())
                                        : static_cast<long long>(servers.size());
    const long long rounds_weight = (1LL << tries) - 1;
    const long long first_try_ms =
        std::max(1LL, static_cast<long long>(options.timeout.count()) /
                          (std::max(1LL, servers_count) * rounds_weight));

    // Two channels: UDP first, with truncated replies handed to us (ARES_FLAG_IGNTC) so that
    // on_reply() retries them on the TCP-only channel itself and knows, when that fails,
    // that the reason is "truncated over UDP and TCP failed" (c-ares's own fallback would
    // only report "could not contact DNS servers").
    const int common_flags = ARES_FLAG_EDNS | ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
    channel = make_channel(common_flags | ARES_FLAG_IGNTC, first_try_ms, tries, servers);
    tcp_channel = make_channel(common_flags | ARES_FLAG_USEVC, first_try_ms, tries, servers);
    wake = std::make_unique<util::UniqueFd>(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (wake->get() < 0) throw std::runtime_error("eventfd failed");
    thread = std::thread([this] { run(); });
  }

  ChannelPtr make_channel(int flags, long long first_try_ms, int tries,
                          const std::vector<ServerAddress>& servers) {
    ares_options ares_opts{};
    ares_opts.flags = flags;
    ares_opts.timeout = static_cast<int>(std::min<long long>(first_try_ms, 1 << 30));
    ares_opts.tries = tries;
    ares_opts.ednspsz = kEdnsUdpSize;
    ares_opts.sock_state_cb = &Impl::on_socket_state;
    ares_opts.sock_state_cb_data = this;
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ |
                     ARES_OPT_SOCK_STATE_CB;
    ares_channel raw = nullptr;
    int status = ares_init_options(&raw, &ares_opts, mask);
    if (status != ARES_SUCCESS) {
      if (raw != nullptr) ares_destroy(raw);
      throw std::runtime_error(std::string("ares_init_options: ") + ares_strerror(status));
    }
    ChannelPtr made(raw);
    if (!servers.empty()) {
      std::vector<ares_addr_port_node> nodes(servers.size());
      for (std::size_t i = 0; i < servers.size(); ++i) {
        nodes[i].next = i + 1 < servers.size() ? &nodes[i + 1] : nullptr;
        nodes[i].family = servers[i].family;
        if (servers[i].family == AF_INET) {
          std::memcpy(&nodes[i].addr.addr4, servers[i].address, 4);
        } else {
          std::memcpy(&nodes[i].addr.addr6, servers[i].address, 16);
        }
        nodes[i].udp_port = servers[i].port;
        nodes[i].tcp_port = servers[i].port;
      }
      status = ares_set_servers_ports(made.get(), nodes.data());
      if (status != ARES_SUCCESS) {
        throw std::runtime_error(std::string("ares_set_servers_ports: ") + ares_strerror(status));
      }
    }
    return made;
  }

  // How many servers /etc/resolv.conf gives c-ares (it falls back to 127.0.0.1 itself).
  static std::size_t count_resolv_conf_servers() {
    ares_channel probe = nullptr;
    if (ares_init(&probe) != ARES_SUCCESS) {
      if (probe != nullptr) ares_destroy(probe);
      return 1;
    }
    ChannelPtr owned(probe);
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(probe, &list) != ARES_SUCCESS) return 1;
    std::unique_ptr<ares_addr_port_node, ServerListDeleter> owned_list(list);
    std::size_t count = 0;
    for (auto* node = list; node != nullptr; node = node->next) ++count;
    return std::max<std::size_t>(count, 1);
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    signal();
    if (thread.joinable()) thread.join();
    // The loop thread is gone; destroying the channel here fails what c-ares still holds
    // (ARES_EDESTRUCTION reaches on_reply) with kError.
    channel.reset();
    tcp_channel.reset();
    fail_queue(take_queue());
  }

  void signal() {
    const std::uint64_t one = 1;
    // Can only fail when the counter would overflow, and then the loop is awake anyway.
    [[maybe_unused]] ssize_t written = ::write(wake->get(), &one, sizeof one);
  }

  std::vector<Request> take_queue() {
    std::lock_guard lock(mutex);
    std::vector<Request> taken;
    taken.swap(queue);
    return taken;
  }

  void fail_queue(const std::vector<Request>& requests) {
    for (const auto& request : requests) {
      cache.complete(request.name, request.type,
                     Answer::failure(Status::kError, "resolver shut down"));
    }
  }

  PendingAnswer start(std::string_view name, RrType type) {
    std::string key = normalize_name(name);
    if (!encodable(key)) {
      return ready_answer(Answer::failure(Status::kError, "invalid domain name"));
    }
    AnswerCache::Lookup lookup = cache.begin(key, type);
    if (!lookup.must_resolve) {
      count(by_type[slot(type)].cache_hits);
      return lookup.pending;
    }
    bool queued = false;
    bool was_empty = false;
    const char* why = "resolver shut down";
    try {
      std::lock_guard lock(mutex);
      if (!stopping) {
        was_empty = queue.empty();
        queue.push_back({key, type, Clock::now() + options.timeout});
        queued = true;
      }
    } catch (const std::bad_alloc&) {
      why = "out of memory";
    }
    if (!queued) {
      // Every in-flight slot must be completed, or later lookups of the key would join it.
      cache.complete(key, type, Answer::failure(Status::kError, why));
    } else if (was_empty) {
      signal();  // a non-empty queue has a wake-up pending already
    }
    return lookup.pending;
  }

  // A cache hit, counted as start() counts it; never a lookup (Resolver::peek).
  PendingAnswer peek(std::string_view name, RrType type) {
    PendingAnswer cached = cache.peek(normalize_name(name), type);
    if (cached.valid()) count(by_type[slot(type)].cache_hits);
    return cached;
  }

  // --- everything below runs on the loop thread only ---

  void run() {
    try {
      loop();
    } catch (const std::exception&) {
      // poll() broke: stop taking work and fail what is in flight now rather than at the
      // callers' deadlines; c-ares lets go of the queries in stop().
      {
        std::lock_guard lock(mutex);
        stopping = true;
      }
      while (!deadlines.empty()) {
        finish(*deadlines.begin()->second, Answer::failure(Status::kError, "resolver failed"));
      }
    }
    fail_queue(take_queue());
  }

  void loop() {
    std::vector<pollfd> fds;
    while (true) {
      std::vector<Request> requests;
      bool stop_now = false;
      {
        std::lock_guard lock(mutex);
        requests.swap(queue);
        stop_now = stopping;
      }
      if (stop_now) {
        fail_queue(requests);
        return;
      }
      for (auto& request : requests) {
        try {
          send(request);
        } catch (const std::exception&) {
          cache.complete(request.name, request.type,
                         Answer::failure(Status::kError, "out of memory"));
        }
      }
      expire(Clock::now());

      fds.clear();
      fds.push_back({wake->get(), POLLIN, 0});
      for (const auto& [fd, events] : sockets) fds.push_back({fd, events, 0});
      const int ready = ::poll(fds.data(), fds.size(), poll_timeout_ms());
      if (ready < 0 && errno != EINTR) throw std::runtime_error("poll failed");
      if (ready <= 0) {
        process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        continue;
      }
      if (fds[0].revents != 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] ssize_t got = ::read(wake->get(), &count, sizeof count);
      }
      bool any = false;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        any = true;
        const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (fds[i].revents & POLLOUT) != 0;
        process(readable ? fds[i].fd : ARES_SOCKET_BAD, writable ? fds[i].fd : ARES_SOCKET_BAD);
      }
      if (!any) process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
  }

  // Both channels: each acts only on its own sockets (and on its timeouts).
  void process(ares_socket_t read_fd, ares_socket_t write_fd) {
    ares_process_fd(channel.get(), read_fd, write_fd);
    ares_process_fd(tcp_channel.get(), read_fd, write_fd);
  }

  int poll_timeout_ms() {
    long long ms = -1;
    timeval tv{};
    for (ares_channel c : {channel.get(), tcp_channel.get()}) {
      if (const timeval* next = ares_timeout(c, nullptr, &tv); next != nullptr) {
        const long long next_ms =
            static_cast<long long>(next->tv_sec) * 1000 + (next->tv_usec + 999) / 1000;
        ms = ms < 0 ? next_ms : std::min(ms, next_ms);
      }
    }
    if (!deadlines.empty()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadlines.begin()->first - Clock::now());
      const long long until = std::max<long long>(0, left.count());
      ms = ms < 0 ? until : std::min(ms, until);
    }
    return static_cast<int>(std::min<long long>(ms, 60'000));
  }

  void send(const Request& request) {
    if (Clock::now() >= request.deadline) {
      count(by_type[slot(request.type)].timeouts);
      cache.complete(request.name, request.type,
                     Answer::failure(Status::kTimeout, "DNSTimeout passed while queued"));
      return;
    }
    const auto id = static_cast<std::uint16_t>(arc4random_uniform(65536));
    unsigned char* raw = nullptr;
    int length = 0;
    const int status =
        ares_create_query(escape_for_ares(request.name).c_str(), kClassIn,
                          static_cast<int>(request.type), id, 1, &raw, &length, kEdnsUdpSize);
    std::unique_ptr<unsigned char, AresStringDeleter> buffer(raw);
    if (status != ARES_SUCCESS) {
      // c-ares refuses .onion names with ENOTFOUND (RFC 7686 §2): they do not exist in DNS.
      cache.complete(request.name, request.type,
                     status == ARES_ENOTFOUND
                         ? Answer::failure(Status::kNxDomain, "special-use name, not resolved")
                         : from_ares_status(status));
      return;
    }
    buffer.get()[3] |= kAdBit;
    // Allocate everything first, so that a throw leaves nothing half-registered.
    std::list<Inflight> node(1);
    auto it = node.begin();
    it->impl = this;
    it->name = request.name;
    it->type = request.type;
    it->id = id;
    it->query.assign(buffer.get(), buffer.get() + length);
    it->deadline = deadlines.emplace(request.deadline, &*it);
    inflight.splice(inflight.end(), node);  // no-throw; `it` stays valid
    it->self = it;
    it->sent_at = Clock::now();
    queries_sent.fetch_add(1, std::memory_order_relaxed);
    count(by_type[slot(request.type)].queries);
    // May call on_reply at once (no servers, no memory); `it` is not touched afterwards.
    ares_send(channel.get(), buffer.get(), length, &Impl::on_reply, &*it);
  }

  void finish(Inflight& query, const Answer& answer) {
    query.finished = true;
    query_duration.observe(Clock::now() - query.sent_at);
    if (answer.status == Status::kTimeout) count(by_type[slot(query.type)].timeouts);
    if (answer.status == Status::kServFail) count(by_type[slot(query.type)].servfail);
    deadlines.erase(query.deadline);
    cache.complete(query.name, query.type, answer);
  }

  // Whether c-ares gave up (ARES_ETIMEOUT) or DNSTimeout passed first, the same words.
  Answer timeout_answer(const Inflight& query) const {
    return Answer::failure(Status::kTimeout,
                           "no reply within " + std::to_string(options.timeout.count()) + " ms" +
                               (query.over_tcp ? " (truncated over UDP, retried over TCP)" : ""));
  }

  void expire(Deadline now) {
    while (!deadlines.empty() && deadlines.begin()->first <= now) {
      Inflight& query = *deadlines.begin()->second;
      finish(query, timeout_answer(query));
    }
  }

  static void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                       int alen) noexcept {
    auto* query = static_cast<Inflight*>(arg);
    Impl* self = query->impl;
    if (!query->finished) {
      try {
        // A UDP reply over the EDNS0 size: c-ares cut it there (it does so under IGNTC), so
        // it is as incomplete as a truncated one.
        if (status == ARES_SUCCESS && !query->over_tcp &&
            (truncated(abuf, alen) || alen >= static_cast<int>(kEdnsUdpSize))) {
          // RFC 7766 §5: retry a truncated UDP reply over TCP. ares_send may call on_reply
          // for `query` at once (out of memory, channel going away); nothing touches
          // `query` after it.
          query->over_tcp = true;
          ares_send(self->tcp_channel.get(), query->query.data(),
                    static_cast<int>(query->query.size()), &Impl::on_reply, query);
          return;
        }
        Answer answer;
        if (status == ARES_SUCCESS && abuf != nullptr && alen >= 0) {
          answer = wire::parse_response(
              std::span<const std::uint8_t>(abuf, static_cast<std::size_t>(alen)), query->name,
              query->type, query->id);
        } else if (status == ARES_ETIMEOUT) {
          answer = self->timeout_answer(*query);
        } else if (query->over_tcp && status != ARES_EDESTRUCTION && status != ARES_ECANCELLED) {
          answer = from_ares_status(status);
          answer.detail = "truncated over UDP and TCP failed (" + answer.detail + ")";
        } else {
          answer = from_ares_status(status);
        }
        self->finish(*query, answer);
      } catch (...) {
        // Allocation failure while parsing: the waiters still get an answer.
        if (!query->finished) {
          try {
            self->finish(*query, Answer::failure(Status::kError, "out of memory"));
          } catch (...) {
          }
        }
      }
    }
    self->inflight.erase(query->self);
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
    auto* self = static_cast<Impl*>(data);
    try {
      if (readable == 0 && writable == 0) {
        self->sockets.erase(fd);
      } else {
        self->sockets[fd] =
            static_cast<short>((readable != 0 ? POLLIN : 0) | (writable != 0 ? POLLOUT : 0));
      }
    } catch (...) {
      // The map could not grow: that socket goes unwatched and its queries time out.
    }
  }

  CaresOptions options;
  AnswerCache cache;
  LibraryGuard library;
  ChannelPtr channel;      // UDP; truncated replies come back to on_reply (ARES_FLAG_IGNTC)
  ChannelPtr tcp_channel;  // TCP only (ARES_FLAG_USEVC): the retries of truncated replies
  std::unique_ptr<util::UniqueFd> wake;

  std::mutex mutex;
  std::vector<Request> queue;  // guarded by mutex
  bool stopping = false;       // guarded by mutex
  std::atomic<std::uint64_t> queries_sent{0};
  std::array<TypeCounters, kTypeSlots> by_type{};
  metrics::Histogram query_duration;

  // Loop thread only (and stop(), after the loop thread has ended).
  std::unordered_map<ares_socket_t, short> sockets;
  std::list<Inflight> inflight;
  std::multimap<Deadline, Inflight*> deadlines;

  std::thread thread;  // last: starts once everything above exists
};

CaresResolver::CaresResolver(CaresOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

CaresResolver::~CaresResolver() { impl_->stop(); }

PendingAnswer CaresResolver::start(std::string_view name, RrType type) {
  return impl_->start(name, type);
}

PendingAnswer CaresResolver::peek(std::string_view name, RrType type) {
  return impl_->peek(name, type);
}

CaresResolver::Stats CaresResolver::stats() const {
  const AnswerCache::Stats cache_stats = impl_->cache.stats();
  Stats stats;
  stats.queries_sent = impl_->queries_sent.load(std::memory_order_relaxed);
  stats.cache_hits = cache_stats.hits;
  stats.coalesced = cache_stats.coalesced;
  for (std::size_t i = 0; i < Impl::kTypeSlots; ++i) {
    const Impl::TypeCounters& counters = impl_->by_type[i];
    stats.by_type.push_back(
        {i < std::size(kMetricTypes) ? std::string(to_string(kMetricTypes[i])) : "other",
         counters.queries.load(std::memory_order_relaxed),
         counters.cache_hits.load(std::memory_order_relaxed),
         counters.timeouts.load(std::memory_order_relaxed),
         counters.servfail.load(std::memory_order_relaxed)});
  }
  stats.query_duration = impl_->query_duration.snapshot();
  return stats;
}

std::size_t CaresResolver::cache_entries() const { return impl_->cache.size(); }

void CaresResolver::clear_cache() { impl_->cache.clear(); }

}  // namespace authmilter::dns
