// authmilter::util UniqueFd — a file descriptor closed on every path out of its scope.
//
// What: RAII for the descriptors we open directly (wake-up pipes, files read whole); not
//   copyable, movable. -1 means "none".
#pragma once

#include <unistd.h>

#include <utility>

namespace authmilter::util {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace authmilter::util
