#pragma once
// A fixed set of worker threads for the CPU backend's data-parallel loops. The thread that calls
// parallel_for works too, so a pool of N threads starts N - 1 workers. One caller at a time: the
// model runner's pool belongs to the engine thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kvtier::kernels {

class ThreadPool {
 public:
  // fn(begin, end, thread_index) handles items [begin, end); thread_index < size().
  using RangeFn = std::function<void(int64_t begin, int64_t end, int thread_index)>;

  // num_threads <= 0 means one per hardware thread.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Splits [0, n) into chunks of at least `grain` items and runs them on every thread; returns
  // when all are done. `fn` must not throw.
  void parallel_for(int64_t n, const RangeFn& fn, int64_t grain = 1);

 private:
  void worker_loop(int thread_index);
  void run_chunks(int thread_index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  // The job being run; written by the caller under mutex_ before generation_ changes. Workers
  // join a job only while it is open, so the caller never waits for a worker that was not
  // scheduled in time (on a busy machine the caller simply does all the chunks itself).
  const RangeFn* job_ = nullptr;
  int64_t job_items_ = 0;
  int64_t job_chunk_ = 1;
  std::atomic<int64_t> next_item_{0};
  uint64_t generation_ = 0;
  bool job_open_ = false;
  int active_workers_ = 0;  // workers inside the current job
  bool stopping_ = false;
};

}  // namespace kvtier::kernels
