// authmilter_txn_callgrind: instruction counts of whole Transactions, for callgrind.
//
//   valgrind --tool=callgrind --instr-atstart=no build-bench/tests/bench/authmilter_txn_callgrind
//
// Builds the environment and runs one warm-up Transaction uninstrumented (one-time set-up:
// libopendkim and OpenSSL tables, the first thread stacks), then turns callgrind's
// instrumentation on for `count` Transactions (default 10) of the typical message
// (transaction_env.h) and off again. Instruction counts, unlike times, are the same from run to
// run and machine to machine (same build), so they show what a change in the code costs. Without
// valgrind the program simply runs the Transactions and checks their results.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "transaction_env.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#endif

namespace {

constexpr int kDefaultCount = 10;
constexpr int kMaxCount = 10000;

}  // namespace

int main(int argc, char** argv) {
  using authmilter::bench::Signatures;
  int count = kDefaultCount;
  Signatures signatures = Signatures::kRsa2048;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--unsigned") {
      signatures = Signatures::kNone;
    } else if (arg == "--both") {
      signatures = Signatures::kRsa2048AndEd25519;
    } else {
      count = std::atoi(argv[i]);
      if (count < 1 || count > kMaxCount) {
        std::fprintf(stderr, "usage: %s [--unsigned|--both] [COUNT 1..%d]\n", argv[0], kMaxCount);
        return 2;
      }
    }
  }
  authmilter::bench::TransactionEnv env(signatures);
  const std::string problem = env.check(env.run());  // warm-up, not counted
  if (!problem.empty()) {
    std::fprintf(stderr, "unexpected outcome: %s\n", problem.c_str());
    return 1;
  }
  int bad = 0;
  CALLGRIND_ZERO_STATS;
  CALLGRIND_START_INSTRUMENTATION;
  for (int i = 0; i < count; ++i) {
    if (!env.check(env.run()).empty()) ++bad;
  }
  CALLGRIND_STOP_INSTRUMENTATION;
  std::printf("%d transactions of a %zu-byte message, %d unexpected outcomes\n", count,
              env.message_bytes(), bad);
  return bad == 0 ? 0 : 1;
}
