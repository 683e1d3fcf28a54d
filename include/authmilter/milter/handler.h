// authmilter::milter::Handler — one check hooked to the milter stages, and the declared table
// that says which handlers a message gets and in which order they run.
//
// What: a Handler sees the stages of one message (envfrom, rcpt*, header*, eoh, body*, eom),
//   starts its DNS work as early as its input exists and writes its typed result into
//   Transaction::results() at eom. Handlers never call each other: what one needs from
//   another travels in Results (at eom) or Pending (earlier stages).
// Order: every handler declares, in its HandlerSpec, the handlers whose results it reads
//   (`requirements`, as authentication_milter's `*_requires`: SenderID requires SPF, DMARC
//   requires SPF and DKIM). ordered_handlers() turns the table into the run order (each
//   handler after all it requires; otherwise table order) and throws std::logic_error on a
//   requirement that names no handler, a duplicate name or a cycle, so an ordering mistake
//   fails the first message and the unit tests, not silently. A required handler that is not
//   wanted for a message (DKIM without a dkim::Library) does not stop the one requiring it.
// A new check: one handler file (with its spec()), one line in handler_table(), one
//   Results field, one A-R renderer (policy/auth_results_render.h), one config block.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/header.h"
#include "authmilter/policy/policy.h"

namespace authmilter::milter {

class Transaction;
struct Outcome;
struct Services;
struct Session;
enum class Trust;

// One check hooked to the milter stages. A new handler set is made for every message.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void on_envfrom(Transaction& txn) {}
  // At RCPT TO. `argument` as the MTA passed it ("<a@b>"), `recipient` the bare address; a
  // handler may replace `recipient` (BATV drops a valid tag). A verdict refuses this
  // recipient now (the handlers after it do not see it).
  virtual std::optional<policy::Verdict> on_rcpt(Transaction& txn, std::string_view argument,
                                                 std::string& recipient) {
    return std::nullopt;
  }
  // Each kept header field, in order (raw_value keeps the original spacing for DKIM).
  virtual void on_header(Transaction& txn, const mail::HeaderField& field) {}
  // End of headers; Pending's From: domain and PRA are known from here on.
  virtual void on_eoh(Transaction& txn) {}
  virtual void on_body(Transaction& txn, std::string_view chunk) {}
  // End of message, before the body checks have seen the last chunks (a worker may still be
  // hashing them, milter/body_pipeline.h): work that needs the headers only, done meanwhile.
  virtual void on_eom_start(Transaction& txn) {}
  // Waits (bounded by txn.deadline()) for its work and stores its result in txn.results().
  virtual void on_eom(Transaction& txn) {}
  // After the verdict and our A-R value are known (judged messages only): a handler may add
  // header edits that depend on them (ARC sealing over our A-R).
  virtual void on_outcome(Transaction& txn, Outcome& outcome) {}
};

struct HandlerSpec {
  std::string_view name;                                   // "spf", "dmarc", ...
  std::vector<std::string_view> requirements;              // handlers that must run before this one
  bool (*wanted)(const Services&, const Session&, Trust);  // does this message get it?
  std::unique_ptr<Handler> (*make)();
};

// Every handler, each declaring its requirements (the order here only breaks ties).
const std::vector<HandlerSpec>& handler_table();

// `table` in run order: every handler after the handlers it requires, otherwise in table
// order. Throws std::logic_error naming the problem (unknown requirement, duplicate, cycle).
std::vector<const HandlerSpec*> ordered_handlers(std::span<const HandlerSpec> table);

}  // namespace authmilter::milter
