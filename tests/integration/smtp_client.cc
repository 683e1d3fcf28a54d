#include "smtp_client.h"

#include <cctype>
#include <regex>

namespace authmilter::integration {
namespace {

bool is_enhanced_code(std::string_view s) {
  static const std::regex kEnhanced(R"([245]\.\d{1,3}\.\d{1,3})");
  return std::regex_match(s.begin(), s.end(), kEnhanced);
}

class Session {
 public:
  Session(UniqueFd fd, Deadline deadline, std::vector<std::string>& transcript)
      : conn_(std::move(fd)), deadline_(deadline), transcript_(transcript) {}

  SmtpReply read_reply() {
    std::vector<std::string> lines;
    while (lines.size() < kMaxReplyLines) {
      auto line = conn_.read_line(deadline_);
      if (!line) break;
      transcript_.push_back("S: " + *line);
      lines.push_back(*line);
      // "250-" continues the reply, "250 " (or a bare "250") ends it.
      if (line->size() < 4 || (*line)[3] != '-') return parse_reply(lines);
    }
    return SmtpReply{};
  }

  SmtpReply command(const std::string& line) {
    transcript_.push_back("C: " + line);
    if (!conn_.write_all(line + "\r\n", deadline_)) return SmtpReply{};
    return read_reply();
  }

  SmtpReply send_data(const std::string& encoded) {
    transcript_.push_back("C: <" + std::to_string(encoded.size()) + " bytes of message data>");
    if (!conn_.write_all(encoded + ".\r\n", deadline_)) return SmtpReply{};
    return read_reply();
  }

 private:
  LineConnection conn_;
  Deadline deadline_;
  std::vector<std::string>& transcript_;
};

}  // namespace

std::string SmtpReply::str() const {
  if (code == 0) return "<no reply>";
  std::string s = std::to_string(code);
  if (!enhanced.empty()) s += " " + enhanced;
  if (!text.empty()) s += " " + text;
  return s;
}

SmtpReply parse_reply(const std::vector<std::string>& lines) {
  SmtpReply reply;
  if (lines.empty()) return reply;
  int code = 0;
  for (const std::string& line : lines) {
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) ||
        !std::isdigit(static_cast<unsigned char>(line[2])) ||
        (line.size() > 3 && line[3] != '-' && line[3] != ' ')) {
      return SmtpReply{};
    }
    int this_code = std::stoi(line.substr(0, 3));
    if (code != 0 && this_code != code) return SmtpReply{};  // RFC 5321 §4.2.1: same code
    code = this_code;
    std::string_view rest = line.size() > 4 ? std::string_view(line).substr(4) : "";
    auto space = rest.find(' ');
    std::string_view first = rest.substr(0, space);
    if (is_enhanced_code(first)) {
      if (reply.enhanced.empty()) reply.enhanced = std::string(first);
      rest = space == std::string_view::npos ? "" : rest.substr(space + 1);
    }
    if (!reply.text.empty()) reply.text += '\n';
    reply.text.append(rest);
  }
  if (code < 200 || code > 599) return SmtpReply{};
  reply.code = code;
  return reply;
}

std::string_view to_string(SmtpStage stage) {
  switch (stage) {
    case SmtpStage::kConnect:
      return "connect";
    case SmtpStage::kGreeting:
      return "greeting";
    case SmtpStage::kEhlo:
      return "EHLO";
    case SmtpStage::kXclient:
      return "XCLIENT";
    case SmtpStage::kXclientEhlo:
      return "EHLO after XCLIENT";
    case SmtpStage::kMailFrom:
      return "MAIL FROM";
    case SmtpStage::kRcptTo:
      return "RCPT TO";
    case SmtpStage::kData:
      return "DATA";
    case SmtpStage::kEndOfData:
      return "end of DATA";
  }
  return "?";
}

std::string SmtpOutcome::describe() const {
  std::string s = "SMTP session ended at " + std::string(to_string(stage)) + " with " +
                  reply.str() + "\ntranscript:\n";
  for (const auto& line : transcript) s += "  " + line + "\n";
  return s;
}

std::string smtp_data_encode(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 40 + 8);
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t eol = data.find('\n', start);
    std::string_view line =
        data.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line.front() == '.') out.push_back('.');
    out.append(line);
    out.append("\r\n");
    if (eol == std::string_view::npos) break;
    start = eol + 1;
  }
  return out;
}

std::vector<SmtpOutcome> send_session(std::uint16_t port, const std::vector<Envelope>& mails,
                                      std::chrono::milliseconds timeout) {
  std::vector<SmtpOutcome> outcomes;
  if (mails.empty()) return outcomes;
  Deadline deadline = deadline_in(timeout);
  std::vector<std::string> transcript;
  SmtpOutcome setup;  // reported alone when the session fails before the first MAIL
  auto finish_with = [&](SmtpOutcome o) {
    o.transcript = transcript;
    outcomes.push_back(std::move(o));
    return outcomes;
  };
  UniqueFd fd = connect_tcp(port, deadline);
  if (!fd.valid()) {
    transcript.push_back("connect to 127.0.0.1:" + std::to_string(port) + " failed");
    return finish_with(setup);
  }
  Session s(std::move(fd), deadline, transcript);
  auto step = [&](SmtpOutcome& o, SmtpStage stage, SmtpReply reply) {
    o.stage = stage;
    o.reply = std::move(reply);
    return o.reply.positive();
  };

  // Session set-up, from the first envelope: the client identity holds for the session.
  const Envelope& first = mails.front();
  if (!step(setup, SmtpStage::kGreeting, s.read_reply()) || setup.reply.code != 220) {
    return finish_with(setup);
  }
  if (!step(setup, SmtpStage::kEhlo, s.command("EHLO " + first.helo))) return finish_with(setup);
  if (!first.xclient_addr.empty()) {
    if (!step(setup, SmtpStage::kXclient,
              s.command("XCLIENT ADDR=" + first.xclient_addr +
                        " NAME=[UNAVAILABLE] HELO=" + first.helo))) {
      return finish_with(setup);
    }
    // XCLIENT_README: the server restarts the session with a 220 greeting; EHLO again.
    if (!step(setup, SmtpStage::kXclientEhlo, s.command("EHLO " + first.helo))) {
      return finish_with(setup);
    }
  }

  static const std::regex kQueued(R"(queued as ([0-9A-Za-z]+))");
  for (const Envelope& envelope : mails) {
    SmtpOutcome out;
    bool ok = step(out, SmtpStage::kMailFrom, s.command("MAIL FROM:<" + envelope.mail_from + ">"));
    for (std::size_t i = 0; ok && i < envelope.recipients.size(); ++i) {
      ok = step(out, SmtpStage::kRcptTo, s.command("RCPT TO:<" + envelope.recipients[i] + ">"));
    }
    if (ok) ok = step(out, SmtpStage::kData, s.command("DATA")) && out.reply.code == 354;
    if (ok) {
      step(out, SmtpStage::kEndOfData, s.send_data(smtp_data_encode(envelope.data)));
      std::smatch m;
      if (out.reply.code == 250 && std::regex_search(out.reply.text, m, kQueued)) {
        out.queue_id = m[1];
      }
    }
    out.transcript = transcript;  // the session so far
    const bool lost = out.reply.code == 0;
    const bool refused_before_data = !out.accepted() && out.stage != SmtpStage::kEndOfData;
    outcomes.push_back(std::move(out));
    if (lost) break;  // connection lost or timed out: the rest cannot be sent
    // A transaction refused before the end of DATA: reset so the next one starts clean.
    if (refused_before_data) s.command("RSET");
  }
  s.command("QUIT");
  return outcomes;
}

SmtpOutcome send_mail(std::uint16_t port, const Envelope& envelope,
                      std::chrono::milliseconds timeout) {
  return std::move(send_session(port, {envelope}, timeout).front());
}

}  // namespace authmilter::integration
