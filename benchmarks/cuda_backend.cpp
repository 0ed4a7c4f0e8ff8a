// The CUDA backend on real Qwen3 shapes with seeded random weights generated on the device (no
// checkpoint on disk): decode step time against its memory floor, prefill throughput, and KV block
// store/load bandwidth through the offload tier's copy engine. Prints a summary table at the end;
// scripts/gpu-bench runs it and docs/performance.md records the figures.
#ifdef KVTIER_HAVE_CUDA
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kv/offload/transfer.h"
#include "model/cuda/cuda_model_runner.h"
#include "model/presets.h"

namespace kvtier::model::cuda {
namespace {

namespace kc = kernels::cuda;
using Clock = std::chrono::steady_clock;

constexpr int32_t kDecodeContext = 1024;  // tokens of context of each decoding sequence
constexpr int32_t kPrefillTokens = 8192;
constexpr int32_t kOffloadTokens = 10000;
// A prompt's suffix computed after its prefix came from the prefix cache or the CPU tier.
constexpr int32_t kChunkTokens = 32;
constexpr int32_t kChunkPrefix = 10000;
constexpr int32_t kMaxBatch = 256;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Summary rows, printed after the benchmarks in the order first seen.
struct Row {
  std::string what, measured, floor, ratio;
};
std::vector<Row>& rows() {
  static std::vector<Row> r;
  return r;
}
void report(Row row) {
  for (Row& r : rows())
    if (r.what == row.what) {
      r = std::move(row);
      return;
    }
  rows().push_back(std::move(row));
}

// Device memory bandwidth in bytes/s (read + write of a large copy); BM_DeviceCopy measures it,
// facts.md's 4,227 GB/s stands in when it did not run.
double& device_bandwidth() {
  static double bw = 4227e9;
  return bw;
}

using Tuning = CudaModelRunner::Tuning;
using kc::PrefillKernel;
using kc::SmallBatchGemm;

bool same(const Tuning& a, const Tuning& b) {
  return a.cuda_graphs == b.cuda_graphs && a.small_batch == b.small_batch &&
         a.prefill_kernel == b.prefill_kernel && a.dependent_launch == b.dependent_launch &&
         a.fuse_gate_up_silu == b.fuse_gate_up_silu && a.cascade_attention == b.cascade_attention &&
         a.cascade_min_shared_tokens == b.cascade_min_shared_tokens &&
         a.cascade_min_saved_tokens == b.cascade_min_saved_tokens;
}

// One runner per model, alive between that model's benchmarks (the 8B weights take 16 GB); each
// benchmark sets the kernels it compares.
CudaModelRunner* runner(const std::string& model, const Tuning& tuning, benchmark::State& state) {
  static std::string cached_model;
  static std::unique_ptr<CudaModelRunner> cached;
  if (cached_model != model) {
    cached.reset();
    cached_model.clear();
    auto config = preset_config(model);
    if (!config) {
      state.SkipWithError(config.error().to_string().c_str());
      return nullptr;
    }
    RunnerOptions o;
    o.device = "cuda";
    o.max_num_seqs = kMaxBatch;
    o.max_num_batched_tokens = kPrefillTokens;
    o.num_gpu_blocks = kMaxBatch * (kDecodeContext / 16 + 1) + kPrefillTokens / 16 + 16;
    auto r = CudaModelRunner::create_random(*config, o, 1234, tuning);
    if (!r) {
      state.SkipWithError(r.error().to_string().c_str());
      return nullptr;
    }
    cached = std::move(*r);
    cached_model = model;
  }
  if (!same(cached->tuning(), tuning)) cached->set_tuning(tuning);
  return cached.get();
}

// Bytes a decode step must read: every weight except the embedding table (only its rows), plus
// the context's KV.
double decode_weight_bytes(const ModelConfig& c) {
  const double h = c.hidden_size, d = c.head_dim, i = c.intermediate_size;
  const double q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const double layer = h * (q + 2 * kv) + q * h + 3 * h * i + 2 * h + 2 * d;
  return 2 * (c.num_hidden_layers * layer + h + double(c.vocab_size) * h);
}

double decode_kv_bytes(const ModelConfig& c, int32_t batch) {
  return double(batch) * kDecodeContext * 2.0 * c.num_hidden_layers * c.num_key_value_heads *
         c.head_dim * 2;
}

// Model FLOPs of a prefill of n tokens: the GEMMs, causal attention, one row of LM head.
double prefill_flops(const ModelConfig& c, double n) {
  const double h = c.hidden_size, d = c.head_dim, i = c.intermediate_size;
  const double q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const double gemm = 2 * n * c.num_hidden_layers * (h * (q + 2 * kv) + q * h + 3 * h * i);
  const double attn = c.num_hidden_layers * 4.0 * q * n * (n + 1) / 2;
  return gemm + attn + 2 * h * double(c.vocab_size);
}

void BM_DeviceCopy(benchmark::State& state) {
  const size_t bytes = size_t(1) << 30;
  auto a = kc::DeviceBuffer::allocate(bytes, "copy source");
  auto b = kc::DeviceBuffer::allocate(bytes, "copy destination");
  if (!a || !b) return state.SkipWithError("no device memory for the copy");
  cudaMemset(a->get(), 1, bytes);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double total = 0;
  for (auto _ : state) {
    cudaEventRecord(e0);
    for (int i = 0; i < 10; ++i)
      cudaMemcpyAsync(b->get(), a->get(), bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    state.SetIterationTime(ms / 1e3 / 10);
    total += ms / 1e3 / 10;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  const double bw = 2.0 * bytes * state.iterations() / total;
  device_bandwidth() = bw;
  state.counters["GBps"] = bw / 1e9;
  report({"device copy 1 GiB (read + write)", fmt::format("{:.0f} GB/s", bw / 1e9),
          "4227 GB/s (facts.md)", fmt::format("{:.2f}x", 4227e9 / bw)});
}

// Decode steps of `batch` sequences with kDecodeContext tokens of context each. The step time is
// the host's: metadata upload, graph launch (or eager launches), and the wait for the device.
void BM_Decode(benchmark::State& state, std::string model, Tuning tuning, int32_t batch,
               bool with_logits, std::string label) {
  CudaModelRunner* r = runner(model, tuning, state);
  if (!r) return;
  const ModelConfig& c = r->config();
  const int32_t blocks_per_seq = kDecodeContext / 16 + 1;
  std::vector<std::vector<int32_t>> tables(batch), tokens(batch);
  ForwardBatch fb;
  std::mt19937 rng(7);
  for (int32_t s = 0; s < batch; ++s) {
    tables[s].resize(blocks_per_seq);
    std::iota(tables[s].begin(), tables[s].end(), s * blocks_per_seq);
    tokens[s] = {int32_t(rng() % c.vocab_size)};
    fb.seqs.push_back({tokens[s], kDecodeContext - 1, tables[s], true});
  }
  std::vector<float> logits;
  auto step = [&] { return with_logits ? r->forward(fb, logits) : r->forward_on_device(fb); };
  for (int i = 0; i < 3; ++i)  // graph capture and GEMM plans happen here
    if (Status st = step(); !st) return state.SkipWithError(st.to_string().c_str());
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (Status st = step(); !st) return state.SkipWithError(st.to_string().c_str());
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
  }
  const double seconds = total / double(state.iterations());
  const double weights = decode_weight_bytes(c), kv = decode_kv_bytes(c, batch);
  const double floor = (weights + kv) / device_bandwidth();
  state.counters["step_ms"] = seconds * 1e3;
  state.counters["floor_ms"] = floor * 1e3;
  state.counters["x_floor"] = seconds / floor;
  state.counters["tok_per_s"] = batch / seconds;
  report(
      {label, fmt::format("{:.3f} ms, {:.0f} tok/s", seconds * 1e3, batch / seconds),
       fmt::format("{:.3f} ms ({:.2f} GB w + {:.2f} GB KV)", floor * 1e3, weights / 1e9, kv / 1e9),
       fmt::format("{:.2f}x", seconds / floor)});
}

// Decode steps of `batch` sequences that share a kSharedPrefix-token prefix (the same physical
// blocks, as the prefix cache gives them) and have kOwnTokens tokens of their own: the seed's
// workload. Cascade attention reads the prefix once per step instead of once per sequence; the
// floor is that schedule's (weights + the prefix's KV once + every sequence's own KV).
constexpr int32_t kSharedPrefix = 10000;
constexpr int32_t kOwnTokens = 200;

void BM_SharedPrefixDecode(benchmark::State& state, std::string model, int32_t batch,
                           bool cascade) {
  Tuning tuning;
  tuning.cascade_attention = cascade;
  CudaModelRunner* r = runner(model, tuning, state);
  if (!r) return;
  const ModelConfig& c = r->config();
  const int32_t context = kSharedPrefix + kOwnTokens;
  const int32_t shared_blocks = kSharedPrefix / 16;
  const int32_t own_blocks = (context + 15) / 16 - shared_blocks;
  std::vector<std::vector<int32_t>> tables(batch), tokens(batch);
  ForwardBatch fb;
  std::mt19937 rng(13);
  for (int32_t s = 0; s < batch; ++s) {
    tables[s].resize(shared_blocks + own_blocks);
    std::iota(tables[s].begin(), tables[s].begin() + shared_blocks, 0);
    std::iota(tables[s].begin() + shared_blocks, tables[s].end(), shared_blocks + s * own_blocks);
    tokens[s] = {int32_t(rng() % c.vocab_size)};
    fb.seqs.push_back({tokens[s], context - 1, tables[s], true});
  }
  for (int i = 0; i < 3; ++i)  // graph capture and GEMM plans happen here
    if (Status st = r->forward_on_device(fb); !st)
      return state.SkipWithError(st.to_string().c_str());
  const int32_t groups = r->last_cascade_groups();
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (Status st = r->forward_on_device(fb); !st)
      return state.SkipWithError(st.to_string().c_str());
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
  }
  const double seconds = total / double(state.iterations());
  const double per_token = 2.0 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * 2;
  const double weights = decode_weight_bytes(c);
  const double kv_once = (double(kSharedPrefix) + double(batch) * kOwnTokens) * per_token;
  const double kv_each = double(batch) * context * per_token;
  const double floor = (weights + kv_once) / device_bandwidth();
  state.counters["step_ms"] = seconds * 1e3;
  state.counters["floor_ms"] = floor * 1e3;
  state.counters["plain_floor_ms"] = (weights + kv_each) / device_bandwidth() * 1e3;
  state.counters["groups"] = groups;
  state.counters["tok_per_s"] = batch / seconds;
  report({fmt::format("decode {} batch {} on one {}-token prefix (+{} own), cascade {}", model,
                      batch, kSharedPrefix, kOwnTokens, cascade ? "on" : "off"),
          fmt::format("{:.3f} ms, {:.0f} tok/s", seconds * 1e3, batch / seconds),
          fmt::format("{:.3f} ms ({:.2f} GB w + {:.2f} GB KV)", floor * 1e3, weights / 1e9,
                      kv_once / 1e9),
          fmt::format("{:.2f}x", seconds / floor)});
}

// Decode attention alone on one layer for the same workload: the plain kernel (every sequence
// reads the prefix) or cascade attention (prefix pass + suffix pass + merge), with the grouping
// and split counts the runner would use. Floor: the KV this schedule must read at the copy
// bandwidth; the prefix pass's FLOPs (members x heads x prefix x 4 x head_dim) are reported too.
void BM_SharedPrefixAttention(benchmark::State& state, std::string model, int32_t batch,
                              bool cascade) {
  auto config = preset_config(model);
  if (!config) return state.SkipWithError("no config");
  const ModelConfig& c = *config;
  const int32_t context = kSharedPrefix + kOwnTokens;
  const int32_t shared_blocks = kSharedPrefix / 16;
  const int32_t own_blocks = (context + 15) / 16 - shared_blocks;
  const int32_t blocks = shared_blocks + batch * own_blocks;
  kv::KvLayout layout{1, c.num_key_value_heads, c.head_dim, 16, 2};
  int device = 0, num_sms = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, device);
  const int32_t splits = kc::decode_num_splits(batch, c.num_key_value_heads, num_sms);
  const int64_t q_elems = int64_t(batch) * c.num_attention_heads * c.head_dim;
  // Decode metadata: rows, contexts, table offsets, then the tables.
  std::vector<int32_t> host;
  for (int32_t s = 0; s < batch; ++s) host.push_back(s);
  host.insert(host.end(), batch, context);
  for (int32_t s = 0; s < batch; ++s) host.push_back(s * (shared_blocks + own_blocks));
  std::vector<std::vector<int32_t>> tables(batch);
  ForwardBatch fb;
  const std::vector<int32_t> token = {0};
  for (int32_t s = 0; s < batch; ++s) {
    tables[s].resize(shared_blocks + own_blocks);
    std::iota(tables[s].begin(), tables[s].begin() + shared_blocks, 0);
    std::iota(tables[s].begin() + shared_blocks, tables[s].end(), shared_blocks + s * own_blocks);
    host.insert(host.end(), tables[s].begin(), tables[s].end());
    fb.seqs.push_back({token, context - 1, tables[s], true});
  }
  const CascadeSections sec = CascadeSections::layout(batch);
  std::vector<int32_t> packed(sec.total);
  CascadeGeometry geo{c.num_key_value_heads, c.num_attention_heads / c.num_key_value_heads,
                      cascade_work_slots(num_sms, c.num_key_value_heads)};
  CascadePlan plan;
  if (Status st = build_cascade_plan(fb, 16, batch, batch, {}, geo, packed.data(), plan); !st)
    return state.SkipWithError(st.to_string().c_str());
  const int32_t max_parts = cascade_max_parts(batch);
  auto q = kc::DeviceBuffer::allocate(q_elems * 2, "q");
  auto out = kc::DeviceBuffer::allocate(q_elems * 2, "out");
  auto pool = kc::DeviceBuffer::allocate(layout.block_bytes() * blocks, "kv");
  auto dws = kc::DeviceBuffer::allocate(
      size_t(batch) * c.num_attention_heads * splits * (c.head_dim + 2) * 4, "decode workspace");
  auto pws = kc::DeviceBuffer::allocate(
      kc::cascade_prefix_workspace_bytes(max_parts, c.num_attention_heads, c.head_dim),
      "prefix workspace");
  auto meta = kc::DeviceBuffer::allocate(host.size() * 4, "meta");
  auto cmeta = kc::DeviceBuffer::allocate(packed.size() * 4, "cascade meta");
  if (!q || !out || !pool || !dws || !pws || !meta || !cmeta)
    return state.SkipWithError("no device memory");
  cudaMemcpy(meta->get(), host.data(), host.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(cmeta->get(), packed.data(), packed.size() * 4, cudaMemcpyHostToDevice);
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  (void)kc::fill_uniform(stream, q->get<kc::bf16>(), q_elems, 3, 2.f);
  (void)kc::fill_uniform(stream, pool->get<kc::bf16>(), int64_t(pool->bytes() / 2), 4, 1.f);
  kc::AttentionArgs a;
  a.q = q->get<kc::bf16>();
  a.out = out->get<kc::bf16>();
  a.kv = kc::paged_kv_for_layer(pool->get(), layout, 0);
  a.num_heads = c.num_attention_heads;
  a.scale = 1.f / std::sqrt(float(c.head_dim));
  const int32_t* mp = meta->get<int32_t>();
  kc::DecodeAttentionMeta m;
  m.token_row = mp;
  m.context_len = mp + batch;
  m.block_table_offset = mp + 2 * batch;
  m.block_ids = mp + 3 * batch;
  m.num_seqs = batch;
  m.num_splits = splits;
  const int32_t* cp = cmeta->get<int32_t>();
  kc::CascadeAttentionMeta cm;
  cm.header = cp + sec.header;
  cm.member_begin = cp + sec.member_begin;
  cm.work_begin = cp + sec.work_begin;
  cm.shared_len = cp + sec.shared_len;
  cm.chunk_len = cp + sec.chunk_len;
  cm.part_begin = cp + sec.part_begin;
  cm.members = cp + sec.members;
  cm.seq_group = cp + sec.seq_group;
  cm.seq_local = cp + sec.seq_local;
  cm.seq_start = cp + sec.seq_start;
  cm.work_slots = geo.work_slots;
  cm.max_parts = max_parts;
  auto run = [&] {
    return cascade ? kc::cascade_decode_attention(stream, a, m, cm, dws->get(), dws->bytes(),
                                                  pws->get(), pws->bytes())
                   : kc::decode_attention(stream, a, m, dws->get(), dws->bytes());
  };
  if (auto st = run(); !st.ok()) return state.SkipWithError(st.message.c_str());
  constexpr int kReps = 20;
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double total = 0;
  for (auto _ : state) {
    cudaEventRecord(e0, stream);
    for (int r = 0; r < kReps; ++r) (void)run();
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    state.SetIterationTime(ms / 1e3 / kReps);
    total += ms / 1e3 / kReps;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(stream);
  const double seconds = total / double(state.iterations());
  const double per_token = 2.0 * c.num_key_value_heads * c.head_dim * 2;
  const double kv = cascade ? (double(kSharedPrefix) + double(batch) * kOwnTokens) * per_token
                            : double(batch) * context * per_token;
  const double floor = kv / device_bandwidth();
  const double flops = double(batch) * c.num_attention_heads * kSharedPrefix * 4.0 * c.head_dim;
  state.counters["us_per_layer"] = seconds * 1e6;
  state.counters["prefix_TFLOPs"] = cascade ? flops / seconds / 1e12 : 0;
  state.counters["work_items"] = plan.work_items;
  report({fmt::format("  {} attention alone, batch {}, {}", model, batch,
                      cascade ? fmt::format("cascade ({} items x {} kv heads)", plan.work_items,
                                            c.num_key_value_heads)
                              : fmt::format("plain ({} split{})", splits, splits == 1 ? "" : "s")),
          fmt::format("{:.1f} us/layer{}", seconds * 1e6,
                      cascade ? fmt::format(", prefix {:.0f} TFLOP/s", flops / seconds / 1e12)
                              : std::string()),
          fmt::format("{:.1f} us (KV read)", floor * 1e6), fmt::format("{:.1f}x", seconds / floor)});
}

void BM_Prefill(benchmark::State& state, std::string model, Tuning tuning, int32_t tokens,
                std::string label) {
  CudaModelRunner* r = runner(model, tuning, state);
  if (!r) return;
  const ModelConfig& c = r->config();
  std::vector<int32_t> ids(tokens), table((tokens + 15) / 16);
  std::mt19937 rng(9);
  for (auto& t : ids) t = int32_t(rng() % c.vocab_size);
  // Past the decode benchmarks' blocks.
  std::iota(table.begin(), table.end(), kMaxBatch * (kDecodeContext / 16 + 1));
  ForwardBatch fb;
  fb.seqs.push_back({ids, 0, table, true});
  if (Status st = r->forward_on_device(fb); !st) return state.SkipWithError(st.to_string().c_str());
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (Status st = r->forward_on_device(fb); !st)
      return state.SkipWithError(st.to_string().c_str());
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
  }
  const double seconds = total / double(state.iterations());
  const double flops = prefill_flops(c, tokens);
  state.counters["TFLOPs"] = flops / seconds / 1e12;
  state.counters["ms"] = seconds * 1e3;
  report({label, fmt::format("{:.1f} ms, {:.0f} TFLOP/s", seconds * 1e3, flops / seconds / 1e12),
          fmt::format("{:.1f} ms at 802 TFLOP/s", flops / 802e12 * 1e3),
          fmt::format("{:.0f}% of 802", 100 * flops / seconds / 802e12)});
}

// Stores (device -> pinned host) or loads kOffloadTokens tokens' blocks, one copy per block
// (device blocks shuffled so no two copies merge), timed from submit to the completion poll.
void BM_Offload(benchmark::State& state, std::string model, kv::TransferDirection dir,
                std::string label) {
  CudaModelRunner* r = runner(model, {}, state);
  if (!r) return;
  const kv::KvPool pool = r->kv_pool();
  const int32_t blocks = (kOffloadTokens + pool.layout.block_size - 1) / pool.layout.block_size;
  auto t = kv::create_block_transfer(pool, blocks);
  if (!t) return state.SkipWithError(t.error().to_string().c_str());
  std::vector<int32_t> device(pool.num_blocks);
  std::iota(device.begin(), device.end(), 0);
  std::shuffle(device.begin(), device.end(), std::mt19937(3));
  std::vector<kv::BlockCopy> copies;
  for (int32_t i = 0; i < blocks; ++i) copies.push_back({device[i], i});
  std::vector<kv::TransferCompletion> done;
  auto run_once = [&] {
    const auto t0 = Clock::now();
    const uint64_t ticket = (*t)->submit(dir, copies);
    for (bool finished = false; !finished;) {
      done.clear();
      (*t)->poll(done);
      for (const auto& c : done) finished |= c.ticket == ticket;
    }
    return seconds_since(t0);
  };
  run_once();
  std::vector<double> times;
  for (auto _ : state) {
    const double s = run_once();
    state.SetIterationTime(s);
    times.push_back(s);
  }
  // The median: an occasional slow copy (host memory traffic) should not set the figure.
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double bytes = double(blocks) * pool.layout.block_bytes();
  const double gbps = bytes / median / 1e9;
  state.counters["GBps"] = gbps;
  report({label,
          fmt::format("{:.1f} ms, {:.1f} GB/s (median of {}; best {:.1f})", median * 1e3, gbps,
                      times.size(), bytes / times.front() / 1e9),
          fmt::format("{:.1f} ms at 55 GB/s ({:.2f} GB, {} x {:.2f} MiB)", bytes / 55e9 * 1e3,
                      bytes / 1e9, blocks, pool.layout.block_bytes() / 1048576.0),
          fmt::format("{:.0f}% of 55", 100 * gbps / 55)});
}

// One layer's four GEMMs (qkv, o, gate_up, down) of `model` at m rows, alone: GB/s of weights
// read for small m, TFLOP/s for large m. Separates GEMM efficiency from the rest of a step.
void BM_LayerGemms(benchmark::State& state, std::string model, int32_t m, SmallBatchGemm policy) {
  auto config = preset_config(model);
  auto gemm = kc::Gemm::create({.small_batch = policy});
  if (!config || !gemm) return state.SkipWithError("no config or cuBLASLt");
  const ModelConfig& c = *config;
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim,
                kv = c.num_key_value_heads * c.head_dim, inter = c.intermediate_size;
  struct Shape {
    int64_t n, k;
  };
  const Shape shapes[] = {{q + 2 * kv, h}, {h, q}, {2 * inter, h}, {h, inter}};
  int64_t w_elems = 0, x_elems = 0, y_elems = 0;
  for (const Shape& sh : shapes) {
    w_elems += sh.n * sh.k;
    x_elems = std::max(x_elems, m * sh.k);
    y_elems = std::max(y_elems, m * sh.n);
  }
  auto w = kc::DeviceBuffer::allocate(w_elems * 2, "weights");
  auto x = kc::DeviceBuffer::allocate(x_elems * 2, "x");
  auto y = kc::DeviceBuffer::allocate(y_elems * 2, "y");
  if (!w || !x || !y) return state.SkipWithError("no device memory");
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  (void)kc::fill_uniform(stream, w->get<kc::bf16>(), w_elems, 1, 0.05f);
  (void)kc::fill_uniform(stream, x->get<kc::bf16>(), x_elems, 2, 1.f);
  auto run = [&] {
    const kc::bf16* wp = w->get<kc::bf16>();
    for (const Shape& sh : shapes) {
      Status st = (*gemm)->run(stream, x->get<kc::bf16>(), wp, y->get(), kc::OutType::kBF16, m,
                               int32_t(sh.n), int32_t(sh.k));
      if (!st) return st;
      wp += sh.n * sh.k;
    }
    return Status::ok();
  };
  if (Status st = run(); !st) return state.SkipWithError(st.to_string().c_str());
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  const int reps = m >= 1024 ? 3 : 20;
  double total = 0;
  for (auto _ : state) {
    cudaEventRecord(e0, stream);
    for (int r = 0; r < reps; ++r) (void)run();
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    state.SetIterationTime(ms / 1e3 / reps);
    total += ms / 1e3 / reps;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(stream);
  const double seconds = total / double(state.iterations());
  const double bytes = 2.0 * w_elems, flops = 2.0 * w_elems * m;
  const std::string what =
      fmt::format("  {} layer GEMMs m={} {}", model, m,
                  m <= kc::kSkinnyMaxRows ? kc::small_batch_gemm_name(policy) : "cublaslt");
  if (m <= 64) {
    report({what, fmt::format("{:.1f} us, {:.0f} GB/s", seconds * 1e6, bytes / seconds / 1e9),
            fmt::format("{:.1f} us ({:.0f} MB weights)", bytes / device_bandwidth() * 1e6,
                        bytes / 1e6),
            fmt::format("{:.2f}x", seconds / (bytes / device_bandwidth()))});
  } else {
    report({what, fmt::format("{:.2f} ms, {:.0f} TFLOP/s", seconds * 1e3, flops / seconds / 1e12),
            fmt::format("{:.2f} ms at 802 TFLOP/s", flops / 802e12 * 1e3),
            fmt::format("{:.0f}% of 802", 100 * flops / seconds / 802e12)});
  }
}

// The one-row GEMV (scalar kernel) on each weight shape of `model` alone, 20 back-to-back
// launches of one shape (each reading its own copy of the weights, so nothing stays in L2):
// the bandwidth each shape reaches, with and without programmatic dependent launches.
// Shapes: 0 qkv, 1 o, 2 gate/up, 3 gate/up with the fused SiLU, 4 down, 5 LM head (fp32 out).
void BM_Gemv(benchmark::State& state, std::string model, int shape, bool dependent) {
  auto config = preset_config(model);
  auto gemm = kc::Gemm::create({.small_batch = SmallBatchGemm::kAuto,
                                .dependent_launch = dependent});
  if (!config || !gemm) return state.SkipWithError("no config or cuBLASLt");
  const ModelConfig& c = *config;
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim,
                kv = c.num_key_value_heads * c.head_dim, inter = c.intermediate_size;
  const int64_t dims[6][2] = {{q + 2 * kv, h}, {h, q}, {2 * inter, h}, {2 * inter, h},
                              {h, inter},      {c.vocab_size, h}};
  const char* names[6] = {"qkv", "o", "gate_up", "gate_up+silu", "down", "lm_head"};
  const int64_t n = dims[shape][0], k = dims[shape][1];
  const int copies = shape == 5 ? 4 : 20;
  auto w = kc::DeviceBuffer::allocate(n * k * 2 * copies, "weights");
  auto x = kc::DeviceBuffer::allocate(k * 2, "x");
  auto y = kc::DeviceBuffer::allocate(n * 4, "y");
  if (!w || !x || !y) return state.SkipWithError("no device memory");
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  (void)kc::fill_uniform(stream, w->get<kc::bf16>(), n * k * copies, 1, 0.05f);
  (void)kc::fill_uniform(stream, x->get<kc::bf16>(), k, 2, 1.f);
  auto run = [&] {
    for (int i = 0; i < copies; ++i) {
      const kc::bf16* wp = w->get<kc::bf16>() + i * n * k;
      Status st = shape == 3 ? (*gemm)->run_gate_up_silu(stream, x->get<kc::bf16>(), wp,
                                                         y->get<kc::bf16>(), 1, int32_t(inter),
                                                         int32_t(k))
                             : (*gemm)->run(stream, x->get<kc::bf16>(), wp, y->get(),
                                            shape == 5 ? kc::OutType::kF32 : kc::OutType::kBF16,
                                            1, int32_t(n), int32_t(k));
      if (!st) return st;
    }
    return Status::ok();
  };
  if (Status st = run(); !st) return state.SkipWithError(st.to_string().c_str());
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double total = 0;
  for (auto _ : state) {
    cudaEventRecord(e0, stream);
    (void)run();
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    state.SetIterationTime(ms / 1e3 / copies);
    total += ms / 1e3 / copies;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(stream);
  const double seconds = total / double(state.iterations());
  const double bytes = 2.0 * n * k;
  state.counters["GBps"] = bytes / seconds / 1e9;
  report({fmt::format("  {} GEMV {} {}x{}{}", model, names[shape], n, k,
                      dependent ? ", dependent launch" : ""),
          fmt::format("{:.1f} us, {:.0f} GB/s", seconds * 1e6, bytes / seconds / 1e9),
          fmt::format("{:.1f} us", bytes / device_bandwidth() * 1e6),
          fmt::format("{:.0f}% of copy", 100 * bytes / seconds / device_bandwidth())});
}

// The prefill attention kernel alone on one layer: `tokens` causal positions, the model's heads.
void BM_PrefillAttention(benchmark::State& state, std::string model, int32_t tokens,
                         PrefillKernel kernel) {
  auto config = preset_config(model);
  if (!config) return state.SkipWithError("no config");
  const ModelConfig& c = *config;
  kv::KvLayout layout{1, c.num_key_value_heads, c.head_dim, 16, 2};
  const int32_t blocks = (tokens + 15) / 16;
  const int64_t q_elems = int64_t(tokens) * c.num_attention_heads * c.head_dim;
  auto q = kc::DeviceBuffer::allocate(q_elems * 2, "q");
  auto out = kc::DeviceBuffer::allocate(q_elems * 2, "out");
  auto pool = kc::DeviceBuffer::allocate(layout.block_bytes() * blocks, "kv");
  std::vector<int32_t> host = {0, tokens, tokens, 0};  // q_offset, q_len, context, table offset
  for (int32_t b = 0; b < blocks; ++b) host.push_back(b);
  std::vector<std::pair<int, int>> tiles;
  for (int32_t r = 0; r < tokens; r += kc::kPrefillTileRows) tiles.push_back({0, r});
  std::reverse(tiles.begin(), tiles.end());
  const size_t tiles_at = host.size() + host.size() % 2;
  host.resize(tiles_at);
  for (auto [s, r] : tiles) {
    host.push_back(s);
    host.push_back(r);
  }
  auto meta = kc::DeviceBuffer::allocate(host.size() * 4, "meta");
  if (!q || !out || !pool || !meta) return state.SkipWithError("no device memory");
  cudaMemcpy(meta->get(), host.data(), host.size() * 4, cudaMemcpyHostToDevice);
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  (void)kc::fill_uniform(stream, q->get<kc::bf16>(), q_elems, 3, 2.f);
  (void)kc::fill_uniform(stream, pool->get<kc::bf16>(), int64_t(pool->bytes() / 2), 4, 1.f);
  kc::AttentionArgs a;
  a.q = q->get<kc::bf16>();
  a.out = out->get<kc::bf16>();
  a.kv = kc::paged_kv_for_layer(pool->get(), layout, 0);
  a.num_heads = c.num_attention_heads;
  a.scale = 1.f / std::sqrt(float(c.head_dim));
  const int32_t* mp = meta->get<int32_t>();
  kc::PrefillAttentionMeta m;
  m.q_offset = mp;
  m.q_len = mp + 1;
  m.context_len = mp + 2;
  m.block_table_offset = mp + 3;
  m.block_ids = mp + 4;
  m.tiles = reinterpret_cast<const int2*>(mp + tiles_at);
  m.num_tiles = int32_t(tiles.size());
  if (auto st = kc::prefill_attention(stream, a, m, kernel); !st.ok())
    return state.SkipWithError(st.message.c_str());
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double total = 0;
  for (auto _ : state) {
    cudaEventRecord(e0, stream);
    for (int r = 0; r < 5; ++r) (void)kc::prefill_attention(stream, a, m, kernel);
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    state.SetIterationTime(ms / 1e3 / 5);
    total += ms / 1e3 / 5;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(stream);
  const double seconds = total / double(state.iterations());
  const double flops = 4.0 * c.num_attention_heads * c.head_dim * double(tokens) * (tokens + 1) / 2;
  report({fmt::format("  {} attention alone, {} causal, {}", model, tokens,
                      kc::prefill_kernel_name(kernel)),
          fmt::format("{:.2f} ms/layer, {:.0f} TFLOP/s", seconds * 1e3, flops / seconds / 1e12),
          fmt::format("{:.2f} ms at 802 TFLOP/s", flops / 802e12 * 1e3),
          fmt::format("{:.0f}% of 802", 100 * flops / seconds / 802e12)});
}

// The prefill attention kernel alone on one layer for a kChunkTokens chunk after kChunkPrefix
// cached tokens: the split count the runner picks, or one pass (split count forced to 1).
void BM_ChunkAttention(benchmark::State& state, std::string model, bool one_pass,
                       PrefillKernel kernel) {
  auto config = preset_config(model);
  if (!config) return state.SkipWithError("no config");
  const ModelConfig& c = *config;
  const int32_t context = kChunkPrefix + kChunkTokens;
  kv::KvLayout layout{1, c.num_key_value_heads, c.head_dim, 16, 2};
  const int32_t blocks = (context + 15) / 16;
  const int64_t q_elems = int64_t(kChunkTokens) * c.num_attention_heads * c.head_dim;
  int device = 0, num_sms = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, device);
  const int32_t splits =
      one_pass ? 1 : kc::prefill_num_splits(1, c.num_attention_heads, context, num_sms);
  const size_t ws_bytes = std::max<size_t>(
      kc::prefill_workspace_bytes(1, c.num_attention_heads, c.head_dim, splits), 1);
  auto q = kc::DeviceBuffer::allocate(q_elems * 2, "q");
  auto out = kc::DeviceBuffer::allocate(q_elems * 2, "out");
  auto pool = kc::DeviceBuffer::allocate(layout.block_bytes() * blocks, "kv");
  auto ws = kc::DeviceBuffer::allocate(ws_bytes, "workspace");
  // q_offset, q_len, context, table offset, the block table, then the one tile (0, 0).
  std::vector<int32_t> host = {0, kChunkTokens, context, 0};
  for (int32_t b = 0; b < blocks; ++b) host.push_back(b);
  const size_t tiles_at = host.size() + host.size() % 2;
  host.resize(tiles_at + 2, 0);
  auto meta = kc::DeviceBuffer::allocate(host.size() * 4, "meta");
  if (!q || !out || !pool || !ws || !meta) return state.SkipWithError("no device memory");
  cudaMemcpy(meta->get(), host.data(), host.size() * 4, cudaMemcpyHostToDevice);
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  (void)kc::fill_uniform(stream, q->get<kc::bf16>(), q_elems, 3, 2.f);
  (void)kc::fill_uniform(stream, pool->get<kc::bf16>(), int64_t(pool->bytes() / 2), 4, 1.f);
  kc::AttentionArgs a;
  a.q = q->get<kc::bf16>();
  a.out = out->get<kc::bf16>();
  a.kv = kc::paged_kv_for_layer(pool->get(), layout, 0);
  a.num_heads = c.num_attention_heads;
  a.scale = 1.f / std::sqrt(float(c.head_dim));
  const int32_t* mp = meta->get<int32_t>();
  kc::PrefillAttentionMeta m;
  m.q_offset = mp;
  m.q_len = mp + 1;
  m.context_len = mp + 2;
  m.block_table_offset = mp + 3;
  m.block_ids = mp + 4;
  m.tiles = reinterpret_cast<const int2*>(mp + tiles_at);
  m.num_tiles = 1;
  m.num_splits = splits;
  auto run = [&] { return kc::prefill_attention(stream, a, m, kernel, ws->get(), ws->bytes()); };
  if (auto st = run(); !st.ok()) return state.SkipWithError(st.message.c_str());
  constexpr int kReps = 20;
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double total = 0;
  for (auto _ : state) {
    cudaEventRecord(e0, stream);
    for (int r = 0; r < kReps; ++r) (void)run();
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    state.SetIterationTime(ms / 1e3 / kReps);
    total += ms / 1e3 / kReps;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(stream);
  const double seconds = total / double(state.iterations());
  const double kv_bytes = double(context) * c.num_key_value_heads * c.head_dim * 2 * 2;
  const double floor = kv_bytes / device_bandwidth();
  state.counters["us_per_layer"] = seconds * 1e6;
  state.counters["splits"] = splits;
  report({fmt::format("  {} attention alone, {} tokens after {}, {}, {} split{}", model,
                      kChunkTokens, kChunkPrefix, kc::prefill_kernel_name(kernel), splits,
                      splits == 1 ? " (one pass)" : "s"),
          fmt::format("{:.1f} us/layer, {:.2f} ms/{} layers", seconds * 1e6,
                      seconds * 1e3 * c.num_hidden_layers, c.num_hidden_layers),
          fmt::format("{:.1f} us (KV read)", floor * 1e6),
          fmt::format("{:.1f}x", seconds / floor)});
}

// A whole step computing kChunkTokens tokens of one sequence after kChunkPrefix tokens already in
// the KV pool (a prefix-cache or CPU-tier hit), against reading every weight and the prefix's KV.
void BM_ChunkAfterPrefix(benchmark::State& state, std::string model) {
  CudaModelRunner* r = runner(model, {}, state);
  if (!r) return;
  const ModelConfig& c = r->config();
  const int32_t context = kChunkPrefix + kChunkTokens;
  std::vector<int32_t> ids(kChunkTokens), table((context + 15) / 16);
  std::mt19937 rng(11);
  for (auto& t : ids) t = int32_t(rng() % c.vocab_size);
  std::iota(table.begin(), table.end(), 0);  // whatever KV the blocks hold stands for the prefix
  ForwardBatch fb;
  fb.seqs.push_back({ids, kChunkPrefix, table, true});
  if (Status st = r->forward_on_device(fb); !st) return state.SkipWithError(st.to_string().c_str());
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (Status st = r->forward_on_device(fb); !st)
      return state.SkipWithError(st.to_string().c_str());
    const double s = seconds_since(t0);
    state.SetIterationTime(s);
    total += s;
  }
  const double seconds = total / double(state.iterations());
  const double kv = double(context) * 2.0 * c.num_hidden_layers * c.num_key_value_heads *
                    c.head_dim * 2;
  const double floor = (decode_weight_bytes(c) + kv) / device_bandwidth();
  state.counters["ms"] = seconds * 1e3;
  report({fmt::format("prefill {} {} tokens after a {} cached prefix", model, kChunkTokens,
                      kChunkPrefix),
          fmt::format("{:.2f} ms", seconds * 1e3),
          fmt::format("{:.2f} ms ({:.2f} GB w + {:.2f} GB KV)", floor * 1e3,
                      decode_weight_bytes(c) / 1e9, kv / 1e9),
          fmt::format("{:.2f}x", seconds / floor)});
}

void register_all() {
  benchmark::RegisterBenchmark("DeviceCopy", BM_DeviceCopy)->UseManualTime()->Iterations(20);
  for (const std::string model : {"qwen3-0.6b", "qwen3-8b"}) {
    auto decode = [&](const std::string& name, Tuning t, int32_t batch, bool logits,
                      const std::string& label, int iterations) {
      benchmark::RegisterBenchmark(fmt::format("{}/{}/batch:{}", name, model, batch).c_str(),
                                   BM_Decode, model, t, batch, logits, label)
          ->UseManualTime()
          ->Iterations(iterations);
    };
    for (int32_t b : {1, 8, 64, 256})
      decode("Decode", {}, b, false,
             fmt::format("decode {} batch {} (ctx {})", model, b, kDecodeContext),
             b >= 64 ? 30 : 100);
    decode("DecodeWithLogits", {}, 256, true, fmt::format("  {} b256 + fp32 logits to host", model),
           10);
    if (model == "qwen3-0.6b")
      for (int32_t b : {64, 256})
        for (bool cascade : {false, true})
          benchmark::RegisterBenchmark(
              fmt::format("SharedPrefixDecode/{}/batch:{}/prefix:{}/cascade:{}", model, b,
                          kSharedPrefix, int(cascade))
                  .c_str(),
              BM_SharedPrefixDecode, model, b, cascade)
              ->UseManualTime()
              ->Iterations(cascade ? 30 : 10);
    if (model == "qwen3-0.6b")
      for (int32_t b : {64, 256})
        for (bool cascade : {false, true})
          benchmark::RegisterBenchmark(
              fmt::format("SharedPrefixAttention/{}/batch:{}/prefix:{}/cascade:{}", model, b,
                          kSharedPrefix, int(cascade))
                  .c_str(),
              BM_SharedPrefixAttention, model, b, cascade)
              ->UseManualTime()
              ->Iterations(5);
    // What programmatic dependent launches and the fused gate/up + SiLU GEMV each give.
    for (int32_t b : {1, 8})
      decode("DecodeNoDependentLaunch", {.dependent_launch = false}, b, false,
             fmt::format("  {} b{} without dependent launches", model, b), 100);
    decode("DecodeFusedGateUpSilu", {.fuse_gate_up_silu = true}, 1, false,
           fmt::format("  {} b1 with the fused gate/up + SiLU GEMV", model), 100);
    decode("DecodeFusedNoDependentLaunch", {.dependent_launch = false, .fuse_gate_up_silu = true},
           1, false, fmt::format("  {} b1 fused, without dependent launches", model), 100);
    decode("DecodeNoGraphs", {.cuda_graphs = false}, 1, false,
           fmt::format("  {} b1 without CUDA graphs", model), 50);
    decode("DecodeTensorCoreGemv", {.small_batch = SmallBatchGemm::kTensorCore}, 1, false,
           fmt::format("  {} b1 tensor-core GEMV", model), 50);
    decode("DecodeCublasLt", {.small_batch = SmallBatchGemm::kCublasLt}, 1, false,
           fmt::format("  {} b1 cuBLASLt GEMM", model), 50);
    decode("DecodeTensorCoreGemv", {.small_batch = SmallBatchGemm::kTensorCore}, 8, false,
           fmt::format("  {} b8 tensor-core GEMV", model), 50);
    for (PrefillKernel k : {PrefillKernel::kRows16Keys64, PrefillKernel::kRows32Keys64,
                            PrefillKernel::kRows32Keys32, PrefillKernel::kRows32Keys32Stages3,
                            PrefillKernel::kRows32Keys32Stages4}) {
      benchmark::RegisterBenchmark(
          fmt::format("Prefill/{}/tokens:{}/{}", model, kPrefillTokens, kc::prefill_kernel_name(k))
              .c_str(),
          BM_Prefill, model, Tuning{.prefill_kernel = k}, kPrefillTokens,
          fmt::format("prefill {} {} tokens, {}", model, kPrefillTokens,
                      kc::prefill_kernel_name(k)))
          ->UseManualTime()
          ->Iterations(model == "qwen3-8b" ? 5 : 10);
    }
    for (auto [m, policy] :
         std::vector<std::pair<int32_t, SmallBatchGemm>>{{1, SmallBatchGemm::kScalar},
                                                         {1, SmallBatchGemm::kTensorCore},
                                                         {1, SmallBatchGemm::kCublasLt},
                                                         {8, SmallBatchGemm::kTensorCore},
                                                         {8, SmallBatchGemm::kCublasLt},
                                                         {64, SmallBatchGemm::kAuto},
                                                         {kPrefillTokens, SmallBatchGemm::kAuto}}) {
      benchmark::RegisterBenchmark(
          fmt::format("LayerGemms/{}/m:{}/{}", model, m, kc::small_batch_gemm_name(policy)).c_str(),
          BM_LayerGemms, model, m, policy)
          ->UseManualTime()
          ->Iterations(10);
    }
    for (int shape = 0; shape < 6; ++shape)
      for (bool dependent : {false, true})
        benchmark::RegisterBenchmark(
            fmt::format("Gemv/{}/shape:{}/dependent:{}", model, shape, int(dependent)).c_str(),
            BM_Gemv, model, shape, dependent)
            ->UseManualTime()
            ->Iterations(10);
    for (PrefillKernel k : {PrefillKernel::kRows16Keys64, PrefillKernel::kRows32Keys64,
                            PrefillKernel::kRows32Keys32, PrefillKernel::kRows32Keys32Stages3,
                            PrefillKernel::kRows32Keys32Stages4}) {
      benchmark::RegisterBenchmark(
          fmt::format("PrefillAttention/{}/{}", model, kc::prefill_kernel_name(k)).c_str(),
          BM_PrefillAttention, model, kPrefillTokens, k)
          ->UseManualTime()
          ->Iterations(5);
    }
    benchmark::RegisterBenchmark(
        fmt::format("ChunkAfterPrefix/{}/tokens:{}/prefix:{}", model, kChunkTokens, kChunkPrefix)
            .c_str(),
        BM_ChunkAfterPrefix, model)
        ->UseManualTime()
        ->Iterations(20);
    for (auto [one_pass, k] : std::vector<std::pair<bool, PrefillKernel>>{
             {true, PrefillKernel::kRows32Keys32Stages3},
             {false, PrefillKernel::kRows32Keys32Stages3},
             {false, PrefillKernel::kRows16Keys64}})
      benchmark::RegisterBenchmark(
          fmt::format("ChunkAttention/{}/tokens:{}/prefix:{}/{}/{}", model, kChunkTokens,
                      kChunkPrefix, kc::prefill_kernel_name(k), one_pass ? "one_pass" : "split")
              .c_str(),
          BM_ChunkAttention, model, one_pass, k)
          ->UseManualTime()
          ->Iterations(10);
    benchmark::RegisterBenchmark(fmt::format("KvStore/{}/tokens:{}", model, kOffloadTokens).c_str(),
                                 BM_Offload, model, kv::TransferDirection::kStore,
                                 fmt::format("KV store {} {} tokens", model, kOffloadTokens))
        ->UseManualTime()
        ->Iterations(11);
    benchmark::RegisterBenchmark(fmt::format("KvLoad/{}/tokens:{}", model, kOffloadTokens).c_str(),
                                 BM_Offload, model, kv::TransferDirection::kLoad,
                                 fmt::format("KV load {} {} tokens", model, kOffloadTokens))
        ->UseManualTime()
        ->Iterations(11);
  }
}

void print_table() {
  size_t w[4] = {4, 8, 5, 8};
  for (const Row& r : rows()) {
    w[0] = std::max(w[0], r.what.size());
    w[1] = std::max(w[1], r.measured.size());
    w[2] = std::max(w[2], r.floor.size());
    w[3] = std::max(w[3], r.ratio.size());
  }
  auto line = [&](const std::string& a, const std::string& b, const std::string& c,
                  const std::string& d) {
    std::printf("| %-*s | %-*s | %-*s | %-*s |\n", int(w[0]), a.c_str(), int(w[1]), b.c_str(),
                int(w[2]), c.c_str(), int(w[3]), d.c_str());
  };
  std::printf("\n");
  line("what", "measured", "floor", "vs floor");
  line(std::string(w[0], '-'), std::string(w[1], '-'), std::string(w[2], '-'),
       std::string(w[3], '-'));
  for (const Row& r : rows()) line(r.what, r.measured, r.floor, r.ratio);
}

}  // namespace
}  // namespace kvtier::model::cuda

int main(int argc, char** argv) {
  if (kvtier::kernels::cuda::cuda_device_count() == 0) {
    std::printf("bench_cuda_backend: no CUDA device on this machine\n");
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  kvtier::model::cuda::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  kvtier::model::cuda::print_table();
  return 0;
}
#else
#include <cstdio>
int main() {
  std::printf("bench_cuda_backend: this build has no CUDA backend\n");
  return 0;
}
#endif
