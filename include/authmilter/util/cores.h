// authmilter::util::usable_cores — how many CPU cores this process may run on.
//
// Why: its CPU affinity (taskset, systemd CPUAffinity=, a container's cpuset) can be fewer
//   than the machine's cores; decisions that depend on free cores use this count.
#pragma once

#include <cstddef>

namespace authmilter::util {

// The cores in this process's CPU affinity mask; the machine's count should that be
// unreadable; at least 1.
std::size_t usable_cores();

}  // namespace authmilter::util
