#include "authmilter/log/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <cstdio>

namespace authmilter::log {

void setup(Sink sink, std::string_view level, std::string_view ident) {
  std::shared_ptr<spdlog::logger> logger;
  if (sink == Sink::kSyslog) {
    // syslog adds time, host and pid itself; keep the line bare.
    logger = spdlog::syslog_logger_mt("authmilter", std::string(ident), LOG_PID, LOG_MAIL, true);
    logger->set_pattern("%v");
  } else {
    logger = spdlog::stderr_logger_mt("authmilter");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level == "warning" ? "warn" : level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

void append_field(std::string& line, std::string_view key, std::string_view value) {
  if (!line.empty()) line.push_back(' ');
  line.append(key);
  line.push_back('=');
  bool quote = value.empty();
  for (unsigned char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c < 0x20 || c == 0x7f) quote = true;
  }
  if (quote) line.push_back('"');
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      line.push_back('\\');
      line.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      line.append(buf);
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
  if (quote) line.push_back('"');
}

std::string fields(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  std::string line;
  for (const auto& [key, value] : kv) append_field(line, key, value);
  return line;
}

}  // namespace authmilter::log
