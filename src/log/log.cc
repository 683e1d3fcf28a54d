#include "authmilter/log/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <cstdio>

#include "authmilter/util/utf8.h"

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
  for (const char raw : value) {
    const auto c = static_cast<unsigned char>(raw);
    if (c == ' ' || c == '"' || c == '=' || c < 0x20 || c == 0x7f) quote = true;
  }
  if (quote) line.push_back('"');
  for (const char raw : value) {
    const auto c = static_cast<unsigned char>(raw);
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

void Line::add(std::string_view key, std::string_view value) {
  fields_.push_back({std::string(key), std::string(value), false});
}

void Line::add_number(std::string_view key, std::int64_t value) {
  fields_.push_back({std::string(key), std::to_string(value), true});
}

std::string Line::render(Format format) const {
  std::string out;
  if (format == Format::kText) {
    for (const Field& field : fields_) append_field(out, field.key, field.value);
    return out;
  }
  out.push_back('{');
  for (const Field& field : fields_) {
    if (out.size() > 1) out.push_back(',');
    out += '"' + json_escape(field.key) + "\":";
    if (field.number) {
      out += field.value;
    } else {
      out += '"' + json_escape(field.value) + '"';
    }
  }
  out.push_back('}');
  return out;
}

void append_field(Line& line, std::string_view key, std::string_view value) {
  line.add(key, value);
}

void append_number(Line& line, std::string_view key, std::int64_t value) {
  line.add_number(key, value);
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto escape_byte = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    out.append(buf);
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      escape_byte(c);
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (const std::size_t n = util::utf8_sequence_length(text, i); n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      escape_byte(c);
      ++i;
    }
  }
  return out;
}

std::string fields(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  std::string line;
  for (const auto& [key, value] : kv) append_field(line, key, value);
  return line;
}

}  // namespace authmilter::log
