// The whole milter::Transaction for a typical message (transaction_env.h): what one message
// costs the daemon between MAIL FROM and end of message, DNS answered from memory.
//
// CPU time is measured for the whole process (MeasureProcessCPUTime), because the SPF check
// runs on the worker pool (work::Pool, milter/spf_handler.cc): items_per_second is then
// messages per CPU-second, i.e. per core. The two-thread run shows what two concurrent SMTP
// connections get out of this machine's two cores, by wall-clock time.
#include <benchmark/benchmark.h>

#include <string>

#include "transaction_env.h"

namespace authmilter::bench {
namespace {

TransactionEnv& env_for(Signatures signatures) {
  // Function-local statics: built once, thread-safe, shared by a benchmark's threads
  // (Services are shared by all milter threads in the daemon too).
  static TransactionEnv unsigned_env(Signatures::kNone);
  static TransactionEnv rsa_env(Signatures::kRsa2048);
  static TransactionEnv both_env(Signatures::kRsa2048AndEd25519);
  switch (signatures) {
    case Signatures::kNone:
      return unsigned_env;
    case Signatures::kRsa2048:
      return rsa_env;
    case Signatures::kRsa2048AndEd25519:
      break;
  }
  return both_env;
}

void run_transaction(benchmark::State& state, Signatures signatures) {
  TransactionEnv* env = &env_for(signatures);
  const std::string problem = env->check(env->run());
  if (!problem.empty()) {
    state.SkipWithError(problem.c_str());
    return;
  }
  for (auto _ : state) {
    milter::Outcome outcome = env->run();
    benchmark::DoNotOptimize(outcome);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(env->message_bytes()));
}

void BM_TransactionUnsigned(benchmark::State& state) { run_transaction(state, Signatures::kNone); }
BENCHMARK(BM_TransactionUnsigned)->MeasureProcessCPUTime();

void BM_TransactionRsa2048(benchmark::State& state) {
  run_transaction(state, Signatures::kRsa2048);
}
BENCHMARK(BM_TransactionRsa2048)->MeasureProcessCPUTime();
BENCHMARK(BM_TransactionRsa2048)->MeasureProcessCPUTime()->Threads(2)->UseRealTime();

void BM_TransactionRsa2048AndEd25519(benchmark::State& state) {
  run_transaction(state, Signatures::kRsa2048AndEd25519);
}
BENCHMARK(BM_TransactionRsa2048AndEd25519)->MeasureProcessCPUTime();

}  // namespace
}  // namespace authmilter::bench
