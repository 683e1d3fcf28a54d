// Tests for util/unique_fd.h: the descriptor is closed exactly once, by its last owner.
#include "authmilter/util/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <gtest/gtest.h>

namespace authmilter::util {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

TEST(UniqueFd, ClosesOnScopeExit) {
  int fds[2] = {-1, -1};
  ASSERT_EQ(::pipe(fds), 0);
  const UniqueFd write_end(fds[1]);
  {
    const UniqueFd read_end(fds[0]);
    EXPECT_EQ(read_end.get(), fds[0]);
    EXPECT_TRUE(is_open(fds[0]));
  }
  EXPECT_FALSE(is_open(fds[0]));
  EXPECT_TRUE(is_open(fds[1]));
}

TEST(UniqueFd, MoveTransfersOwnership) {
  int fds[2] = {-1, -1};
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd a(fds[0]);
  UniqueFd b(fds[1]);
  UniqueFd c(std::move(a));
  EXPECT_EQ(a.get(), -1);  // NOLINT(bugprone-use-after-move): moved-from state is defined
  EXPECT_EQ(c.get(), fds[0]);
  c = std::move(b);  // closes fds[0], takes fds[1]
  EXPECT_FALSE(is_open(fds[0]));
  EXPECT_EQ(c.get(), fds[1]);
  EXPECT_TRUE(is_open(fds[1]));
}

TEST(UniqueFd, DefaultHoldsNothing) {
  const UniqueFd none;
  EXPECT_EQ(none.get(), -1);
}

}  // namespace
}  // namespace authmilter::util
