// authmilter::milter::ServiceGate — the one way libmilter's callbacks reach the daemon's
// services, and the proof that the services outlive every use of them.
//
// Why: libmilter runs each MTA connection on its own thread and gives its callbacks no user
//   pointer, and those threads may outlive smfi_main() (an idle MTA connection keeps its
//   thread until the MTA closes it or libmilter's I/O timeout). So the callbacks reach the
//   services through this gate, which lives for the whole process (process(): allocated once,
//   never destroyed), and the daemon destroys the services only after the gate says nobody
//   can touch them any more.
// Uses: every callback holds a CallbackUse for its whole run; every Transaction (a message in
//   flight) holds a MessageUse for its whole life, released only after the Transaction is
//   destroyed (its background DNS work included). Services are reachable only through a use.
// States: open → draining (close_to_new(): no new connection or message; callbacks of messages
//   in flight go on) → sealed (seal(): no use of any kind begins) and, once no use is left, the
//   services may go. Connections still open at the seal are cut by cut_remaining(): each drops
//   its message in flight (the MTA gets no verdict for it and applies its default action).
// Reload: replace() swaps the services new connections and messages get (the daemon's one
//   snapshot pointer, held here under the gate's lock); a Use keeps the snapshot it was given
//   alive (shared ownership), so a message begun before a reload finishes on the old one.
//   Whoever replaces a snapshot keeps a reference to the old one and frees it once it is the
//   only holder (use_count() == 1), so no libmilter thread ever runs a snapshot's destructor.
// Counts for the stop log: messages finished while draining, messages cut.
// Limits: waits are bounded by the caller's deadline; no polling (condition variable).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class ServiceGate {
 public:
  class Use;
  // A connection the gate can cut at shutdown (implemented by the callbacks' per-connection
  // context). cut() runs only when no callback runs, under the gate's lock: it destroys the
  // message in flight, if any, and hands back that message's use (released by the gate after
  // its lock is let go).
  class Tracked {
   public:
    virtual Use cut() = 0;

   protected:
    ~Tracked() = default;
  };

  // A counted use; empty (services() == nullptr) when the gate refused it.
  class Use {
   public:
    Use() = default;
    Use(Use&& other) noexcept;
    Use& operator=(Use&& other) noexcept;
    ~Use() { release(); }
    const Services* services() const { return services_.get(); }
    explicit operator bool() const { return services_ != nullptr; }
    void release();

   private:
    friend class ServiceGate;
    enum class Kind { kCallback, kMessage };
    Use(ServiceGate* gate, std::shared_ptr<const Services> services, Kind kind)
        : gate_(gate), services_(std::move(services)), kind_(kind) {}
    ServiceGate* gate_ = nullptr;
    std::shared_ptr<const Services> services_;
    Kind kind_ = Kind::kCallback;
  };

  enum class State { kClosed, kOpen, kDraining, kSealed };

  // The gate of this process, used by libmilter's callbacks. Never destroyed.
  static ServiceGate& process();

  ServiceGate() = default;
  ServiceGate(const ServiceGate&) = delete;
  ServiceGate& operator=(const ServiceGate&) = delete;

  // Opens the gate on `services` (which must stay alive until drained()).
  void open(const Services& services);
  // Opens the gate on a shared snapshot of the services.
  void open(std::shared_ptr<const Services> services);
  // Reload: new connections and messages get `services` from now on; uses already given keep
  // theirs. Returns the snapshot replaced (for its owner to free once nobody else holds it).
  std::shared_ptr<const Services> replace(std::shared_ptr<const Services> services);
  // After drained(): lets go of the current snapshot.
  void forget_services();

  // For one callback; empty once sealed (or before open()).
  Use enter_callback();
  // For one message; empty unless open.
  Use begin_message();
  // True while open: a new connection may start.
  bool accepting();

  void track(Tracked* connection);
  void untrack(Tracked* connection);

  // Draining: no new connection or message from now on.
  void close_to_new();
  // Waits until no message is in flight or `deadline`; true when none is.
  bool wait_for_messages(std::chrono::steady_clock::time_point deadline);
  // Sealed: no use begins from now on. Waits until no callback runs or `deadline`.
  bool seal(std::chrono::steady_clock::time_point deadline);
  // After a successful seal(): cuts every tracked connection; returns how many messages that
  // dropped.
  std::size_t cut_remaining();
  // True once sealed with no use left: the services may be destroyed.
  bool drained(std::chrono::steady_clock::time_point deadline);

  State state();
  std::size_t messages_in_flight();
  std::size_t connections();
  std::size_t messages_finished_while_draining();

 private:
  void release(Use::Kind kind);

  std::mutex mutex_;
  std::condition_variable changed_;
  State state_ = State::kClosed;
  std::shared_ptr<const Services> services_;
  std::size_t callbacks_ = 0;
  std::size_t messages_ = 0;
  std::size_t finished_while_draining_ = 0;
  std::unordered_set<Tracked*> tracked_;
};

}  // namespace authmilter::milter
