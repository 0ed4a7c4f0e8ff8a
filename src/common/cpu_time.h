#pragma once
// CPU time (user + system) consumed by one thread, from the kernel's per-thread clock: what a
// component costs the machine, as opposed to how long it took.
#include <pthread.h>

#include <ctime>

namespace kvtier {

// Seconds of CPU the calling thread has used so far.
inline double this_thread_cpu_seconds() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0.0;
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Seconds of CPU `thread` has used so far; 0 when its clock cannot be read.
inline double thread_cpu_seconds(pthread_t thread) {
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0.0;
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

}  // namespace kvtier
