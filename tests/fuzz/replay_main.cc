// Corpus replay for the fuzz targets: the main() of every fuzz_regression_<target> binary.
//
// What: calls the target's LLVMFuzzerTestOneInput once per file, for every file named on the
//   command line and every regular file in every directory named (not recursive, in sorted
//   order, so a failure always names the same file first). This is how CTest (label
//   fuzz-regression) turns each corpus file, and each crash found by a fuzzer and saved under
//   tests/fuzz/corpus/<target>/, into a regression test that runs with any compiler.
// Failure: the target aborts (a broken invariant, a sanitizer report in an ASan build) or an
//   exception escapes; the file being replayed is printed first, so the log names it. A
//   directory without any file is an error too (a corpus that silently vanished tests
//   nothing).
// Limits: kMaxInputSize bytes per file, as libFuzzer's default -max_len is far below it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

constexpr std::size_t kMaxInputSize = 4 * 1024 * 1024;

bool replay(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > kMaxInputSize) {
    std::fprintf(stderr, "%s: larger than %zu bytes\n", path.c_str(), kMaxInputSize);
    return false;
  }
  std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
  // A copy of exactly `size` bytes, so ASan sees any read past the end of the input.
  std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
        if (entry.is_regular_file(ec)) files.push_back(entry.path());
      }
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
        return 1;
      }
      if (files.empty()) {
        std::fprintf(stderr, "%s holds no corpus files\n", arg.c_str());
        return 1;
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        if (!replay(file)) return 1;
        ++replayed;
      }
    } else {
      if (!replay(arg)) return 1;
      ++replayed;
    }
  }
  std::printf("%zu inputs replayed without a failure\n", replayed);
  return 0;
}
