#include "authmilter/report/delivery.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "authmilter/util/ascii.h"
#include "authmilter/util/domain_name.h"
#include "authmilter/util/unique_fd.h"

namespace authmilter::report {
namespace {

using Clock = std::chrono::steady_clock;

bool atext(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > util::kMaxDomainNameLength) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (host[i - 1] == '-' || host[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = host[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
    ++label;
  }
  return host.find('.') != std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A DMARC-style tag list's tags (RFC 9989 §4.7): name -> value, names lower-cased.
std::vector<std::pair<std::string, std::string>> tags(std::string_view record) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= record.size()) {
    std::size_t end = record.find(';', pos);
    if (end == std::string_view::npos) end = record.size();
    const std::string_view tag = trim(record.substr(pos, end - pos));
    const std::size_t eq = tag.find('=');
    if (eq != std::string_view::npos) {
      out.emplace_back(util::lowercase_ascii(trim(tag.substr(0, eq))),
                       std::string(trim(tag.substr(eq + 1))));
    } else if (!tag.empty()) {
      out.emplace_back(util::lowercase_ascii(tag), std::string());
    }
    pos = end + 1;
  }
  return out;
}

std::vector<std::string> split_uris(std::string_view list) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find(',', pos);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view uri = trim(list.substr(pos, end - pos));
    if (!uri.empty()) out.emplace_back(uri);
    pos = end + 1;
  }
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  for (const char c_char : text.substr(0, 200)) {
    const auto c = static_cast<unsigned char>(c_char);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

std::string base64_lines(std::string_view data) {
  std::string out;
  constexpr std::size_t kChunk = 57;  // 57 bytes -> 76 characters per line (RFC 2045 §6.8)
  unsigned char buffer[80];
  for (std::size_t pos = 0; pos < data.size(); pos += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - pos);
    const int written = EVP_EncodeBlock(
        buffer, reinterpret_cast<const unsigned char*>(data.data() + pos), static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(written));
    out += "\r\n";
  }
  return out;
}

std::string rfc5322_date(std::int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  char buffer[64];
  strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &parts);
  return buffer;
}

// --- SMTP ------------------------------------------------------------------------------------

class SmtpSession {
 public:
  SmtpSession(const std::string& host_port) : host_port_(host_port) {
    std::string host;
    std::string port;
    const std::size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) throw DeliveryError("ReportSMTP " + host_port + ": no port");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) throw DeliveryError("ReportSMTP " + host_port + ": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(list, freeaddrinfo);
    std::string last_error = "no address";
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      util::UniqueFd fd(
          socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
      if (fd.get() < 0) continue;
      if (connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        last_error = std::strerror(errno);
        continue;
      }
      pollfd p{fd.get(), POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(kSmtpTimeout.count() * 1000)) != 1) {
        last_error = "connect timed out";
        continue;
      }
      int error = 0;
      socklen_t len = sizeof error;
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) {
        last_error = std::strerror(error);
        continue;
      }
      fd_ = std::move(fd);
      return;
    }
    throw DeliveryError("ReportSMTP " + host_port + ": connect: " + last_error);
  }

  // The reply's code; `text` gets its last line.
  int reply(std::string* text = nullptr) {
    const auto deadline = Clock::now() + kSmtpTimeout;
    std::size_t total = 0;
    while (true) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos) {
        if (buffer_.size() > 1024) eol = buffer_.find('\n');
        if (eol != std::string::npos) break;
        read_some(deadline);
      }
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 2);
      total += line.size();
      if (total > kMaxSmtpReplyBytes) fail("reply too long");
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) ||
          !std::isdigit(static_cast<unsigned char>(line[2]))) {
        fail("malformed reply '" + printable(line) + "'");
      }
      if (line.size() == 3 || line[3] == ' ') {
        if (text != nullptr) *text = printable(line);
        return std::stoi(line.substr(0, 3));
      }
    }
  }

  void command(std::string_view line, int expected_class, std::string_view what) {
    write_all(std::string(line) + "\r\n");
    expect(expected_class, what);
  }

  void expect(int expected_class, std::string_view what) {
    std::string text;
    const int code = reply(&text);
    if (code / 100 != expected_class) fail(std::string(what) + ": " + text);
  }

  void write_all(std::string_view data) {
    const auto deadline = Clock::now() + kSmtpTimeout;
    while (!data.empty()) {
      const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        fail(std::string("write: ") + std::strerror(errno));
      }
      wait(POLLOUT, deadline);
    }
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw DeliveryError("ReportSMTP " + host_port_ + ": " + why);
  }

 private:
  void wait(short events, Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) fail("timed out");
    pollfd p{fd_.get(), events, 0};
    const int rc = poll(&p, 1, static_cast<int>(left.count()));
    if (rc == 0) fail("timed out");
    if (rc < 0 && errno != EINTR) fail(std::string("poll: ") + std::strerror(errno));
  }

  void read_some(Clock::time_point deadline) {
    char chunk[4096];
    while (true) {
      const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        if (buffer_.size() > kMaxSmtpReplyBytes) fail("reply too long");
        return;
      }
      if (n == 0) fail("connection closed");
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        fail(std::string("read: ") + std::strerror(errno));
      }
      wait(POLLIN, deadline);
    }
  }

  std::string host_port_;
  util::UniqueFd fd_;
  std::string buffer_;
};

// RFC 5321 §4.5.2: a line starting with '.' gets another; line ends become CRLF.
std::string dot_stuffed(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 64);
  bool line_start = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (line_start && c == '.') out.push_back('.');
    if (c == '\n' && (i == 0 || message[i - 1] != '\r')) out.push_back('\r');
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace

std::optional<Mailbox> parse_mailto(std::string_view uri, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<Mailbox> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  if (!util::istarts_with_ascii(uri, "mailto:")) {
    return fail("not a mailto: URI (only mail is sent)");
  }
  std::string_view rest = uri.substr(7);
  // RFC 7489's size limit suffix ("!10m"): obsolete, ignored (RFC 9990).
  if (const std::size_t bang = rest.rfind('!'); bang != std::string_view::npos) {
    std::string_view size = rest.substr(bang + 1);
    if (!size.empty() && std::string_view("kmgtKMGT").find(size.back()) != std::string_view::npos) {
      size.remove_suffix(1);
    }
    if (!size.empty() &&
        std::all_of(size.begin(), size.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      rest = rest.substr(0, bang);
    }
  }
  if (const std::size_t query = rest.find('?'); query != std::string_view::npos) {
    rest = rest.substr(0, query);
  }
  std::string address;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%') {
      const int hi = i + 2 < rest.size() ? hex_value(rest[i + 1]) : -1;
      const int lo = i + 2 < rest.size() ? hex_value(rest[i + 2]) : -1;
      if (hi < 0 || lo < 0) return fail("bad percent-encoding");
      address.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      address.push_back(rest[i]);
    }
  }
  if (address.empty()) return fail("no address");
  if (address.size() > kMaxAddressLength) return fail("address too long");
  if (address.find(',') != std::string::npos) return fail("more than one address");
  const std::size_t at = address.rfind('@');
  if (at == std::string::npos || at == 0) return fail("not local@domain");
  const std::string_view local = std::string_view(address).substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.front() == '-' ||
      local.find("..") != std::string_view::npos) {
    return fail("local part is not a dot-atom");
  }
  for (char c : local) {
    if (!atext(c) && c != '.') return fail("local part is not a dot-atom");
  }
  std::string domain = util::lowercase_ascii(std::string_view(address).substr(at + 1));
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!valid_host(domain)) return fail("not a host name");
  return Mailbox{std::string(local) + "@" + domain, domain};
}

Destinations resolve_destinations(std::string_view policy_domain,
                                  const std::vector<std::string>& rua, dns::Resolver& resolver,
                                  const dmarc::OrgDomainFinder& org, dns::Deadline deadline) {
  Destinations out;
  const std::string policy_org = org.organizational_domain(policy_domain);
  std::vector<std::string> seen;
  std::size_t usable = 0;
  for (const std::string& uri : rua) {
    if (std::find(seen.begin(), seen.end(), uri) != seen.end()) continue;
    seen.push_back(uri);
    std::string why;
    auto mailbox = parse_mailto(uri, &why);
    if (!mailbox) {
      out.refused.push_back(printable(uri) + ": " + why);
      continue;
    }
    if (++usable > kMaxDestinations) {
      out.refused.push_back(printable(uri) + ": more than " + std::to_string(kMaxDestinations) +
                            " destinations");
      continue;
    }
    std::vector<Mailbox> chosen{*mailbox};
    if (org.organizational_domain(mailbox->domain) != policy_org) {
      // RFC 9990 §4: the destination must agree to take reports for this domain.
      const std::string name = std::string(policy_domain) + "._report._dmarc." + mailbox->domain;
      if (!util::fits_domain_name_limits(name)) {
        out.refused.push_back(printable(uri) + ": verification name too long");
        continue;
      }
      const dns::Answer answer = resolver.lookup(name, dns::RrType::kTxt, deadline);
      if (answer.is_temporary_failure()) {
        out.deferred.push_back(printable(uri) + ": " + answer.detail);
        continue;
      }
      const dns::Record* authorizing = nullptr;
      std::vector<std::pair<std::string, std::string>> authorizing_tags;
      for (const dns::Record& record : answer.records) {
        auto record_tags = tags(record.data);
        if (!record_tags.empty() && record_tags.front().first == "v" &&
            record_tags.front().second == "DMARC1") {
          authorizing = &record;
          authorizing_tags = std::move(record_tags);
          break;
        }
      }
      if (authorizing == nullptr) {
        out.refused.push_back(printable(uri) + ": not authorized by " + name);
        continue;
      }
      bool other_host = false;
      for (const auto& [tag, value] : authorizing_tags) {
        if (tag != "rua") continue;
        std::vector<Mailbox> overrides;
        for (const std::string& override_uri : split_uris(value)) {
          auto replacement = parse_mailto(override_uri);
          if (!replacement) continue;
          if (replacement->domain != mailbox->domain) {
            other_host = true;
          } else {
            overrides.push_back(*replacement);
          }
        }
        if (!overrides.empty()) chosen = overrides;
      }
      if (other_host) {
        out.refused.push_back(printable(uri) + ": " + name + " names another host");
        continue;
      }
    }
    for (Mailbox& m : chosen) {
      const bool duplicate =
          std::any_of(out.send_to.begin(), out.send_to.end(),
                      [&](const Mailbox& have) { return have.address == m.address; });
      if (!duplicate && out.send_to.size() < kMaxDestinations) out.send_to.push_back(std::move(m));
    }
  }
  return out;
}

std::string report_mail(const MailParts& parts, const Mailbox& to, std::int64_t date) {
  std::string boundary = "=_authmilter_";
  for (char c : parts.report_id) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) boundary.push_back(c);
    if (boundary.size() >= 60) break;
  }
  std::string display;
  for (char c : parts.from_name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      display.clear();  // 8-bit names would need RFC 2047: left out
      break;
    }
    if (c == '"' || c == '\\') display.push_back('\\');
    display.push_back(c);
  }
  std::string m;
  m += "From: ";
  if (!display.empty()) m += "\"" + display + "\" ";
  m += "<" + parts.from_address + ">\r\n";
  m += "To: <" + to.address + ">\r\n";
  m += "Date: " + rfc5322_date(date) + "\r\n";
  m += "Subject: Report Domain: " + parts.policy_domain + "\r\n Submitter: " + parts.submitter +
       "\r\n Report-ID: <" + parts.report_id + ">\r\n";
  m += "Message-ID: <" + parts.report_id + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "Content-Type: multipart/mixed;\r\n boundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += "This is a DMARC aggregate report (RFC 9990) for " + parts.policy_domain + ",\r\n";
  m += "from " + std::to_string(parts.begin) + " to " + std::to_string(parts.end) +
       " (seconds since 1970, UTC), Report-ID " + parts.report_id + ".\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: application/gzip;\r\n name=\"" + parts.file_name + "\"\r\n";
  m += "Content-Disposition: attachment;\r\n filename=\"" + parts.file_name + "\"\r\n";
  m += "Content-Transfer-Encoding: base64\r\n\r\n";
  m += base64_lines(parts.gzipped);
  m += "--" + boundary + "--\r\n";
  return m;
}

SmtpMailer::SmtpMailer(std::string host_port, std::string helo)
    : host_port_(std::move(host_port)), helo_(std::move(helo)) {}

void SmtpMailer::send(std::string_view envelope_from, const Mailbox& to, std::string_view message) {
  SmtpSession session(host_port_);
  session.expect(2, "greeting");
  session.command("EHLO " + helo_, 2, "EHLO");
  session.command("MAIL FROM:<" + std::string(envelope_from) + ">", 2, "MAIL FROM");
  session.command("RCPT TO:<" + to.address + ">", 2, "RCPT TO");
  session.command("DATA", 3, "DATA");
  session.write_all(dot_stuffed(message));
  session.expect(2, "end of data");
  try {
    session.command("QUIT", 2, "QUIT");
  } catch (const DeliveryError&) {
    // Accepted at end of data: a lost QUIT reply does not make it unsent.
  }
}

SendmailMailer::SendmailMailer(std::string program) : program_(std::move(program)) {}

void SendmailMailer::send(std::string_view envelope_from, const Mailbox& to,
                          std::string_view message) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw DeliveryError("pipe: " + std::string(std::strerror(errno)));
  util::UniqueFd read_end(fds[0]);
  util::UniqueFd write_end(fds[1]);
  const std::string from(envelope_from);
  const pid_t pid = fork();
  if (pid < 0) throw DeliveryError("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    dup2(read_end.get(), STDIN_FILENO);
    // No shell: the address is one argument after "--", never an option.
    execl(program_.c_str(), "sendmail", "-oi", "-f", from.c_str(), "--", to.address.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  read_end = util::UniqueFd();
  std::string text;  // sendmail(1) reads lines ending in LF
  text.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') continue;
    text.push_back(message[i]);
  }
  std::string_view left = text;
  bool write_failed = false;
  while (!left.empty()) {
    const ssize_t n = write(write_end.get(), left.data(), left.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_failed = true;
      break;
    }
    left.remove_prefix(static_cast<std::size_t>(n));
  }
  write_end = util::UniqueFd();
  int status = 0;
  const auto deadline = Clock::now() + kSmtpTimeout;
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 && Clock::now() < deadline) {
    usleep(20 * 1000);
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    throw DeliveryError(program_ + ": did not finish within " +
                        std::to_string(kSmtpTimeout.count()) + " s");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw DeliveryError(program_ + ": exit status " +
                        std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  if (write_failed) throw DeliveryError(program_ + ": could not write the message");
}

}  // namespace authmilter::report
