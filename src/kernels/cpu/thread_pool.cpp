#include "kernels/thread_pool.h"

#include <algorithm>

namespace kvtier::kernels {

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  workers_.reserve(num_threads - 1);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks(int thread_index) {
  for (;;) {
    int64_t begin = next_item_.fetch_add(job_chunk_, std::memory_order_relaxed);
    if (begin >= job_items_) return;
    (*job_)(begin, std::min(job_items_, begin + job_chunk_), thread_index);
  }
}

void ThreadPool::worker_loop(int thread_index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (!job_open_) continue;  // woke too late: the caller already finished that job
      ++active_workers_;
    }
    run_chunks(thread_index);
    {
      std::lock_guard lock(mutex_);
      if (--active_workers_ == 0) done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (workers_.empty() || n <= grain) {
    fn(0, n, 0);
    return;
  }
  // A few chunks per thread balance uneven items without much contention on next_item_.
  const int64_t chunk = std::max(grain, n / (int64_t(size()) * 4));
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_items_ = n;
    job_chunk_ = chunk;
    next_item_.store(0, std::memory_order_relaxed);
    job_open_ = true;
    ++generation_;
  }
  start_cv_.notify_all();
  run_chunks(0);
  // Every chunk is claimed now; wait for the workers that claimed some to finish them.
  std::unique_lock lock(mutex_);
  job_open_ = false;
  done_cv_.wait(lock, [&] { return active_workers_ == 0; });
  job_ = nullptr;
}

}  // namespace kvtier::kernels
