// authmilter::integration main — registers the process-wide harness (NSD, Postfix, sink)
// as a GoogleTest global environment, so it starts once per binary, before any suite, and
// stops after all of them — also when tests fail.
#include <gtest/gtest.h>

#include "harness.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new authmilter::integration::IntegrationEnvironment());
  return RUN_ALL_TESTS();
}
