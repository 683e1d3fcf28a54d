// authmilter — SPF, SenderID, DKIM and DMARC for Postfix and Sendmail, as one milter.
#include <iostream>
#include <string>
#include <vector>

#include "authmilter/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return authmilter::cli::main_with_args(args, std::cout, std::cerr);
}
