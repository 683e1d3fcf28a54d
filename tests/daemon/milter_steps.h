// Stage-by-stage helpers over the shared milter client (tests/support/milter_client.h), for
// tests that stop part-way through a message: each sends one stage and returns the reply.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "milter_client.h"

namespace authmilter::testing {

using test_support::MilterClient;

inline char stage(MilterClient& client, char command, const std::string& data) {
  client.send(command, data);
  return client.receive().command;
}

inline char mail_from(MilterClient& client, const std::string& address,
                      const std::string& queue_id) {
  client.send(test_support::kCmdMacro, std::string("M") + "i" + '\0' + queue_id + '\0');
  return stage(client, test_support::kCmdMail, "<" + address + ">" + '\0');
}

inline char rcpt_to(MilterClient& client, const std::string& address) {
  return stage(client, test_support::kCmdRcpt, "<" + address + ">" + '\0');
}

inline char header(MilterClient& client, const std::string& name, const std::string& value) {
  return stage(client, test_support::kCmdHeader, name + '\0' + value + '\0');
}

// Negotiation, connect and HELO, then a message from alice@example.org to bob@example.net
// with a From: field, up to end of headers; every stage must be answered with continue.
inline void start_message(MilterClient& client, const std::string& client_ip,
                          const std::string& queue_id) {
  client.negotiate();
  client.connect_and_helo("mail.example.org", client_ip);
  ASSERT_EQ(mail_from(client, "alice@example.org", queue_id), 'c');
  ASSERT_EQ(rcpt_to(client, "bob@example.net"), 'c');
  ASSERT_EQ(header(client, "From", " Alice <alice@example.org>"), 'c');
  ASSERT_EQ(stage(client, test_support::kCmdEoh, ""), 'c');
}

// The verdict of end of message and the fields inserted or added before it.
struct EndOfMessage {
  char verdict = 0;
  std::vector<std::pair<std::string, std::string>> added;
};

inline EndOfMessage end_of_message(MilterClient& client) {
  client.send(test_support::kCmdEom, "");
  EndOfMessage result;
  for (;;) {
    test_support::Reply reply = client.receive();
    if (test_support::is_verdict(reply.command)) {
      result.verdict = reply.command;
      return result;
    }
    std::string data = std::move(reply.data);
    if (reply.command == test_support::kReplyInsHeader && data.size() >= 4) data.erase(0, 4);
    if (reply.command == test_support::kReplyInsHeader ||
        reply.command == test_support::kReplyAddHeader) {
      const std::size_t nul = data.find('\0');
      std::string value = nul == std::string::npos ? std::string() : data.substr(nul + 1);
      if (!value.empty() && value.back() == '\0') value.pop_back();
      result.added.emplace_back(data.substr(0, nul), std::move(value));
    }
  }
}

// Reads until the daemon closes or resets the connection (true) or the client's timeout.
inline bool closed_by_peer(MilterClient& client) {
  try {
    for (;;) client.receive();
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    return what.find("closed") != std::string::npos || what.find("reset") != std::string::npos;
  }
}

}  // namespace authmilter::testing
