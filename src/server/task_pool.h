#pragma once
// Worker threads with a bounded queue for the work that must stay off the I/O threads: parsing
// large bodies, tokenizing prompts, rendering chat templates. A 10k-token prompt then never
// stalls other connections, and a flood of requests is refused (503) instead of queued forever.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kvtier::server {

class TaskPool {
 public:
  TaskPool(int threads, size_t max_queued);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // False when the queue is full or the pool is stopping.
  bool try_submit(std::function<void()> task);
  // Runs what is queued, then joins the threads.
  void stop();

 private:
  void run();

  const size_t max_queued_;
  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kvtier::server
