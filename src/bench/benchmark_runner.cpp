#include "bench/benchmark_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "bench/bench_clock.h"
#include "bench/random.h"

namespace kvtier::bench {
namespace {

constexpr double kProgressPeriodS = 0.25;

struct Conversation {
  explicit Conversation(ConversationSpec s) : spec(std::move(s)), text(escape_conversation(spec)) {}
  ConversationSpec spec;
  EscapedConversation text;  // prompts, and the server's replies as turns finish, escaped once
  size_t next_turn = 0;
};
using ConversationPtr = std::shared_ptr<Conversation>;

class Runner {
 public:
  Runner(StreamClient& client, ConversationSource& source, const Strategy& strategy,
         const RunLimits& limits, const RunOptions& options)
      : client_(client),
        source_(source),
        strategy_(strategy),
        limits_(limits),
        options_(options),
        limit_(strategy.in_flight_limit()),
        sample_rng_(options.seed) {}

  Expected<BenchmarkRun> run(const ProgressFn& progress);

 private:
  bool may_launch_locked() const {
    return !stopping_ && (!limits_.max_requests || launched_ < *limits_.max_requests);
  }
  bool finished_locked() const {
    if (in_flight_ > 0 || pending_refills_ > 0 || callbacks_running_ > 0) return false;
    if (strategy_.open_loop() && !arrivals_done_) return false;
    return stopping_ || !may_launch_locked() || (strategy_.open_loop() && waiting_.empty());
  }
  void reserve_locked() {
    ++launched_;
    ++in_flight_;
    peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
    if (limits_.max_requests && launched_ >= *limits_.max_requests && end_queuing_ == 0) {
      end_queuing_ = BenchClock::now();
    }
  }
  void submit_turn(ConversationPtr c, double scheduled);
  void on_done(ConversationPtr c, RequestRecord&& record);
  void stop(std::string reason, std::string constraint);
  // The error rate over the last kErrorRateWindow finished requests once that many finished
  // and it reached --max-error-rate (GuideLLM's MaxErrorRateConstraint), else none.
  std::optional<int64_t> error_window_exceeded_locked(bool errored);
  // Sleeps until `at` (BenchClock), reporting progress and honouring the interrupt flag;
  // false when the run is stopping. `lock` holds mu_ on entry and on return.
  bool sleep_until_locked(std::unique_lock<std::mutex>& lock, double at, double& last_progress,
                          const ProgressFn& progress);
  // Stops the run if the interrupt flag is up; true if stopping. Called without mu_ held.
  bool check_interrupt();
  void sample_locked(size_t index);
  ProgressSnapshot snapshot_locked() const;
  Status launch_initial(std::optional<double> deadline, const ProgressFn& progress);
  Status run_arrivals(std::optional<double> deadline, const ProgressFn& progress);
  void wait_until_finished(std::optional<double> deadline, const ProgressFn& progress);

  StreamClient& client_;
  ConversationSource& source_;
  const Strategy strategy_;
  const RunLimits limits_;
  const RunOptions options_;
  const std::optional<int64_t> limit_;
  const std::shared_ptr<std::atomic<bool>> stop_flag_ = std::make_shared<std::atomic<bool>>(false);

  // Shared between the main thread (arrivals, deadline) and the client's lanes (completions).
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool arrivals_done_ = false;
  std::string stop_reason_;
  std::string stop_constraint_;
  double end_queuing_ = 0;
  std::deque<bool> error_window_;  // --max-error-rate: whether each recent request errored
  int64_t window_errors_ = 0;
  int64_t launched_ = 0, in_flight_ = 0, peak_in_flight_ = 0, pending_refills_ = 0;
  int64_t callbacks_running_ = 0;  // on_done calls not yet returned: they still use *this
  int64_t counts_[3] = {0, 0, 0};
  int64_t output_tokens_ = 0;
  std::deque<ConversationPtr> waiting_;  // open loop: due, but the in-flight cap was reached
  std::vector<RequestRecord> records_;
  std::array<std::vector<size_t>, 3> samples_;
  int64_t seen_[3] = {0, 0, 0};
  Random sample_rng_;
  std::optional<Status> failure_;
  std::optional<std::string> all_failed_;  // the last error once every request so far failed
  int interrupted_by_ = 0;
  int64_t created_ = 0;  // open loop: arrivals generated (some may never start)
  double t0_ = 0;
};

void Runner::submit_turn(ConversationPtr c, double scheduled) {
  const size_t turn = c->next_turn;
  auto call = std::make_unique<StreamCall>();
  call->route = std::string(request_format_route(options_.body.format));
  call->body = build_request_body(options_.body, c->spec, c->text, turn);
  call->stream = options_.body.stream;
  call->stop = stop_flag_;
  RequestRecord& r = call->record;
  r.request_id = fmt::format("{}-{}-{}", options_.benchmark_index, c->spec.index, turn);
  r.conversation_index = c->spec.index;
  r.turn_index = static_cast<int>(turn);
  r.scheduled_time = scheduled;
  r.keep_details = !options_.sample_requests || *options_.sample_requests > 0;
  const size_t lane = static_cast<size_t>(c->spec.index) % static_cast<size_t>(client_.lanes());
  call->done = [this, c](RequestRecord&& rec) { on_done(c, std::move(rec)); };
  r.dispatch_time = BenchClock::now();
  client_.submit(lane, std::move(call));
}

void Runner::sample_locked(size_t index) {
  if (!options_.sample_requests || *options_.sample_requests == 0) return;
  const auto n = static_cast<size_t>(*options_.sample_requests);
  const size_t s = request_status_index(records_[index].status);
  auto& kept = samples_[s];
  ++seen_[s];
  auto drop_details = [&](size_t i) {
    records_[i].output.clear();
    records_[i].request_args.clear();
    records_[i].keep_details = false;
  };
  if (kept.size() < n) {
    kept.push_back(index);
    return;
  }
  // Reservoir sampling: the new request replaces a kept one with probability n / seen.
  const auto j = static_cast<size_t>(sample_rng_.uniform_int(0, seen_[s] - 1));
  if (j < n) {
    drop_details(kept[j]);
    kept[j] = index;
  } else {
    drop_details(index);
  }
}

std::optional<int64_t> Runner::error_window_exceeded_locked(bool errored) {
  error_window_.push_back(errored);
  window_errors_ += errored ? 1 : 0;
  if (error_window_.size() > kErrorRateWindow) {
    window_errors_ -= error_window_.front() ? 1 : 0;
    error_window_.pop_front();
  }
  const int64_t processed = counts_[0] + counts_[1] + counts_[2];
  if (processed < static_cast<int64_t>(kErrorRateWindow)) return std::nullopt;
  const double rate = static_cast<double>(window_errors_) / error_window_.size();
  if (rate < *limits_.max_error_rate) return std::nullopt;
  return window_errors_;
}

void Runner::on_done(ConversationPtr c, RequestRecord&& record) {
  record.finalize_time = BenchClock::now();
  const bool sent = record.request_start.has_value();
  const bool ok = record.status == RequestStatus::kSuccessful;
  const bool errored = record.status == RequestStatus::kErrored;
  if (ok) c->text.replies.push_back(json_string_literal(record.output));
  record.count_output_text();
  if (!record.keep_details) record.output.clear();
  ++c->next_turn;

  ConversationPtr next;
  bool need_new = false;
  bool too_many_errors = false;
  std::optional<int64_t> error_rate_errors;  // set when --max-error-rate was reached
  bool fail_fast = false;
  struct Leave {
    Runner& r;
    ~Leave() {
      std::lock_guard lock(r.mu_);
      --r.callbacks_running_;
      if (r.finished_locked()) r.cv_.notify_all();
    }
  };
  {
    std::lock_guard lock(mu_);
    ++callbacks_running_;
    --in_flight_;
    if (sent) {
      ++counts_[request_status_index(record.status)];
      output_tokens_ += record.output_token_count().value_or(0);
      records_.push_back(std::move(record));
      sample_locked(records_.size() - 1);
    }
    too_many_errors = limits_.max_errors && counts_[2] >= *limits_.max_errors && !stopping_;
    if (sent && limits_.max_error_rate) {
      error_rate_errors = error_window_exceeded_locked(errored);
      if (stopping_ || too_many_errors) error_rate_errors.reset();
    }
    if (sent && !stopping_ && !all_failed_ && counts_[0] == 0 && counts_[1] == 0 &&
        counts_[2] >= kFailFastRequests) {
      all_failed_ = records_.back().error;
      fail_fast = true;
    }
    if (!stopping_ && !too_many_errors && !error_rate_errors && !fail_fast) {
      if (ok && c->next_turn < c->spec.turns.size() && may_launch_locked()) {
        reserve_locked();
        next = c;  // turns of one conversation are sequential
      } else if (strategy_.open_loop()) {
        if (!waiting_.empty() && may_launch_locked()) {
          next = std::move(waiting_.front());
          waiting_.pop_front();
          reserve_locked();
        }
      } else if (may_launch_locked()) {
        need_new = true;
        ++pending_refills_;
      }
    }
  }
  Leave leave{*this};
  if (fail_fast) {
    stop(fmt::format("the first {} requests all failed", kFailFastRequests), "all_failed");
    return;
  }
  if (too_many_errors) {
    stop(fmt::format("max_errors {} reached", *limits_.max_errors), "max_errors");
  }
  if (error_rate_errors) {
    stop(fmt::format("max_error_rate {} reached ({} of the last {} requests errored)",
                     *limits_.max_error_rate, *error_rate_errors, kErrorRateWindow),
         "max_error_rate");
  }
  if (next) submit_turn(std::move(next), BenchClock::now());
  if (!need_new) return;

  // Closed loop: a new conversation takes the freed slot.
  auto spec = source_.next();
  {
    std::lock_guard lock(mu_);
    --pending_refills_;
    if (!spec) {
      if (!failure_) failure_ = spec.error();
    } else if (may_launch_locked()) {
      next = std::make_shared<Conversation>(std::move(spec).value());
      reserve_locked();
    }
  }
  if (!spec) {
    stop("the data generator failed", "data");
    return;
  }
  if (next) submit_turn(std::move(next), BenchClock::now());
}

void Runner::stop(std::string reason, std::string constraint) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_reason_ = std::move(reason);
    stop_constraint_ = std::move(constraint);
    if (end_queuing_ == 0) end_queuing_ = BenchClock::now();
    waiting_.clear();
    stop_flag_->store(true, std::memory_order_release);
  }
  client_.cancel_in_flight();
  cv_.notify_all();
}

bool Runner::check_interrupt() {
  const int sig = options_.interrupt ? options_.interrupt->load(std::memory_order_acquire) : 0;
  if (sig == 0) return false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return true;
    interrupted_by_ = sig;
  }
  stop(fmt::format("interrupted by {}", signal_name(sig)), "interrupt");
  return true;
}

ProgressSnapshot Runner::snapshot_locked() const {
  ProgressSnapshot s;
  s.elapsed = BenchClock::now() - t0_;
  s.successful = counts_[0];
  s.incomplete = counts_[1];
  s.errored = counts_[2];
  s.in_flight = in_flight_;
  s.output_tokens = output_tokens_;
  return s;
}

bool Runner::sleep_until_locked(std::unique_lock<std::mutex>& lock, double at,
                                double& last_progress, const ProgressFn& progress) {
  while (!stopping_ && BenchClock::now() < at) {
    const double wake = std::min(at, BenchClock::now() + kProgressPeriodS);
    cv_.wait_until(lock, BenchClock::to_steady(wake));
    lock.unlock();
    check_interrupt();
    lock.lock();
    if (stopping_) break;
    if (progress && BenchClock::now() - last_progress >= kProgressPeriodS) {
      auto snap = snapshot_locked();
      lock.unlock();
      progress(snap);
      last_progress = BenchClock::now();
      lock.lock();
    }
  }
  return !stopping_;
}

Status Runner::launch_initial(std::optional<double> deadline, const ProgressFn& progress) {
  int64_t slots = limit_.value_or(1);
  if (limits_.max_requests) slots = std::min(slots, *limits_.max_requests);
  double last_progress = t0_;
  for (int64_t i = 0; i < slots; ++i) {
    // --rampup spreads the slots' first requests over the ramp (GuideLLM's concurrent and
    // throughput strategies); meanwhile finished requests already refill their own slots.
    const double at = t0_ + strategy_.initial_offset(i, limit_.value_or(1));
    if (deadline && at >= *deadline) break;
    KVTIER_ASSIGN_OR_RETURN(auto spec, source_.next());
    auto c = std::make_shared<Conversation>(std::move(spec));
    {
      std::unique_lock lock(mu_);
      if (!sleep_until_locked(lock, at, last_progress, progress)) break;
      if (!may_launch_locked()) break;
      reserve_locked();
    }
    submit_turn(std::move(c), at);
  }
  return Status::ok();
}

Status Runner::run_arrivals(std::optional<double> deadline, const ProgressFn& progress) {
  ArrivalSchedule schedule(strategy_);
  double last_progress = t0_;
  for (;;) {
    check_interrupt();
    {
      std::lock_guard lock(mu_);
      const int64_t planned = launched_ + static_cast<int64_t>(waiting_.size());
      if (stopping_ || (limits_.max_requests && planned >= *limits_.max_requests)) break;
    }
    const double at = t0_ + schedule.next();
    if (deadline && at >= *deadline) break;
    KVTIER_ASSIGN_OR_RETURN(auto spec, source_.next());
    auto c = std::make_shared<Conversation>(std::move(spec));
    std::unique_lock lock(mu_);
    ++created_;
    if (!sleep_until_locked(lock, at, last_progress, progress)) break;
    if (limit_ && in_flight_ >= *limit_) {
      waiting_.push_back(std::move(c));
      continue;
    }
    reserve_locked();
    lock.unlock();
    submit_turn(std::move(c), at);
  }
  std::lock_guard lock(mu_);
  arrivals_done_ = true;
  if (finished_locked()) cv_.notify_all();
  return Status::ok();
}

void Runner::wait_until_finished(std::optional<double> deadline, const ProgressFn& progress) {
  std::unique_lock lock(mu_);
  while (!finished_locked()) {
    double wake = BenchClock::now() + kProgressPeriodS;
    if (deadline && !stopping_) wake = std::min(wake, *deadline);
    cv_.wait_until(lock, BenchClock::to_steady(wake));
    if (finished_locked()) break;
    if (!stopping_) {
      lock.unlock();
      const bool interrupted = check_interrupt();
      lock.lock();
      if (interrupted) continue;
    }
    if (deadline && !stopping_ && BenchClock::now() >= *deadline) {
      lock.unlock();
      stop("max_seconds reached", "max_seconds");
      lock.lock();
      continue;
    }
    if (progress) {
      auto snap = snapshot_locked();
      lock.unlock();
      progress(snap);
      lock.lock();
    }
  }
}

Expected<BenchmarkRun> Runner::run(const ProgressFn& progress) {
  const double cpu_start = client_.cpu_seconds();
  t0_ = BenchClock::now();
  std::optional<double> deadline;
  if (limits_.max_seconds) deadline = t0_ + *limits_.max_seconds;

  Status started =
      strategy_.open_loop() ? run_arrivals(deadline, progress) : launch_initial(deadline, progress);
  if (!started) stop("the data generator failed", "data");
  wait_until_finished(deadline, progress);
  if (!started) return started;

  std::lock_guard lock(mu_);
  if (failure_) return *failure_;
  BenchmarkRun run;
  run.strategy = strategy_;
  run.start_time = t0_;
  const bool cut = deadline && stop_reason_ == "max_seconds reached";
  double last_end = t0_;
  for (const auto& r : records_) last_end = std::max(last_end, r.end_time());
  run.end_time = cut ? *deadline : last_end;
  run.stop_reason = stop_reason_.empty() ? "max_requests reached" : stop_reason_;
  run.stop_constraint = stop_constraint_.empty() ? "max_requests" : stop_constraint_;
  run.end_processing_time = BenchClock::now();
  run.end_queuing_time = end_queuing_ > 0 ? end_queuing_ : run.end_processing_time;
  run.created_requests = std::max(created_, launched_);
  run.peak_in_flight = peak_in_flight_;
  run.interrupted_by = interrupted_by_;
  run.all_failed = all_failed_;
  if (options_.sample_requests && *options_.sample_requests > 0) run.samples = samples_;
  run.records = std::move(records_);
  run.client_cpu_seconds = client_.cpu_seconds() - cpu_start;
  if (progress) {
    ProgressSnapshot s;
    s.elapsed = run.end_time - t0_;
    s.successful = counts_[0];
    s.incomplete = counts_[1];
    s.errored = counts_[2];
    s.output_tokens = output_tokens_;
    progress(s);
  }
  return run;
}

}  // namespace

Expected<BenchmarkRun> run_benchmark(StreamClient& client, ConversationSource& source,
                                     const Strategy& strategy, const RunLimits& limits,
                                     const RunOptions& options, const ProgressFn& progress) {
  Runner runner(client, source, strategy, limits, options);
  return runner.run(progress);
}

}  // namespace kvtier::bench
