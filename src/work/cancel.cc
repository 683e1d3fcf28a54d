#include "authmilter/work/cancel.h"

namespace authmilter::work {

void CancelToken::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_.store(true, std::memory_order_release);
  // Under the lock: a Subscription being destroyed waits, so no target is woken after it went.
  for (Wakeable* target : subscribers_) target->wake();
}

CancelToken::Subscription::Subscription(const CancelToken* token, Wakeable& target)
    : token_(token) {
  if (token_ == nullptr) return;
  std::lock_guard lock(token_->mutex_);
  position_ = token_->subscribers_.insert(token_->subscribers_.end(), &target);
}

CancelToken::Subscription::~Subscription() {
  if (token_ == nullptr) return;
  std::lock_guard lock(token_->mutex_);
  token_->subscribers_.erase(position_);
}

}  // namespace authmilter::work
