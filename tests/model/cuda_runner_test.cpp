// The CUDA model runner against the CPU runner on the same checkpoints, and against itself. The
// CUDA runner keeps activations and the KV cache in bf16 where the CPU runner uses fp32, and these
// random models sharpen attention on purpose (q/k norm weights near 2), which amplifies bf16
// rounding of q and k: logits agree to a few percent (relative RMS under 8%), and greedy ids
// wherever the CPU's top-1 leads by more than 0.25. Against itself: chunked prefill equals one
// prefill, a sequence's logits do not depend on its batch, graph replay equals eager execution,
// batches larger than the step capacity are split. Also step planning, which needs no GPU.
#ifdef KVTIER_HAVE_CUDA
#include <iostream>

#include "model/cuda/step_plan.h"
#include "model/cuda_test_models.h"

namespace kvtier::model::cuda {
namespace {

using namespace testing;

// ---- Step planning (host only) ------------------------------------------------------------

TEST(CudaStepPlan, SplitsLongBatchesAndKeepsLogitsOnLastPiece) {
  std::vector<int32_t> a(10, 1), b(3, 2), c(1, 3);
  std::vector<int32_t> table(8, 0);
  ForwardBatch batch;
  batch.seqs = {{a, 0, table, true}, {b, 5, table, false}, {c, 9, table, true}};
  auto pieces = split_forward_batch(batch, 4, 8);
  // 10 tokens of a: 4 + 4 + 2; then b's 3 tokens: 2 with a's last 2, 1 in the next; then c.
  ASSERT_EQ(pieces.size(), 4u);
  std::vector<std::vector<std::tuple<size_t, int32_t, bool>>> want = {
      {{4, 0, false}},
      {{4, 4, false}},
      {{2, 8, true}, {2, 5, false}},
      {{1, 7, false}, {1, 9, true}}};
  for (size_t p = 0; p < pieces.size(); ++p) {
    ASSERT_EQ(pieces[p].seqs.size(), want[p].size()) << "piece " << p;
    for (size_t s = 0; s < want[p].size(); ++s) {
      EXPECT_EQ(pieces[p].seqs[s].tokens.size(), std::get<0>(want[p][s])) << p << "/" << s;
      EXPECT_EQ(pieces[p].seqs[s].start_pos, std::get<1>(want[p][s])) << p << "/" << s;
      EXPECT_EQ(pieces[p].seqs[s].want_logits, std::get<2>(want[p][s])) << p << "/" << s;
    }
  }
  // At most 2 sequences a piece.
  auto by_seqs = split_forward_batch(batch, 100, 2);
  ASSERT_EQ(by_seqs.size(), 2u);
  EXPECT_EQ(by_seqs[0].seqs.size(), 2u);
  EXPECT_EQ(by_seqs[1].seqs.size(), 1u);
}

TEST(CudaStepPlan, FillsSlotsTablesTilesAndDecodePadding) {
  StepCapacity cap{300, 8, 64};
  const StepSections sec = StepSections::layout(cap);
  std::vector<int32_t> packed(sec.total, -99);
  std::vector<int32_t> prefill(200), decode = {7};
  std::iota(prefill.begin(), prefill.end(), 0);
  std::vector<int32_t> t1 = {5, 9, 2, 11, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39}, t2 = {4, 8};
  ForwardBatch batch;
  batch.seqs = {{prefill, 20, t1, true}, {decode, 17, t2, true}};
  StepPlan plan;
  ASSERT_TRUE(build_step_plan(batch, cap, 16, 0, packed.data(), plan).is_ok());
  EXPECT_EQ(plan.num_tokens, 201);
  EXPECT_EQ(plan.num_prefill, 1);
  EXPECT_EQ(plan.num_decode, 1);
  EXPECT_EQ(plan.num_tiles, 2);  // 200 rows: tiles of 128
  EXPECT_EQ(plan.num_logit_rows, 2);
  EXPECT_EQ(packed[sec.logit_rows], 199);
  EXPECT_EQ(packed[sec.logit_rows + 1], 200);
  // Token 0 of the prefill is position 20: block t1[1] = 9, offset 4.
  EXPECT_EQ(packed[sec.positions], 20);
  EXPECT_EQ(packed[sec.slots], 9 * 16 + 4);
  // The decode token is position 17: block t2[1] = 8, offset 1; context 18 needs 2 blocks.
  EXPECT_EQ(packed[sec.slots + 200], 8 * 16 + 1);
  EXPECT_EQ(packed[sec.dec_ctx], 18);
  EXPECT_EQ(packed[sec.dec_row], 200);
  // Context 220 uses all 14 blocks of t1, then the decode's 2 blocks follow.
  EXPECT_EQ(packed[sec.pre_ctx], 220);
  EXPECT_EQ(plan.num_block_ids, 16);
  EXPECT_EQ(packed[sec.block_ids + 13], 39);
  EXPECT_EQ(packed[sec.dec_bto], 14);
  EXPECT_EQ(packed[sec.block_ids + 15], 8);
  EXPECT_EQ(packed[sec.pre_qlen], 200);
  // The tile ending later (rows 128..199) comes first.
  EXPECT_EQ(packed[sec.tiles + 1], 128);
  EXPECT_EQ(packed[sec.tiles + 3], 0);

  std::vector<int32_t> one = {3};
  ForwardBatch dec;
  dec.seqs = {{one, 0, t2, true}};
  ASSERT_TRUE(build_step_plan(dec, cap, 16, 4, packed.data(), plan).is_ok());
  EXPECT_EQ(plan.num_tokens, 4);
  EXPECT_EQ(plan.num_decode, 4);
  EXPECT_EQ(plan.num_logit_rows, 4);
  EXPECT_EQ(plan.num_real_logit_rows, 1);
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(packed[sec.dec_ctx + i], 0);
    EXPECT_EQ(packed[sec.slots + i], -1);
  }
  // Only decode batches are padded.
  EXPECT_FALSE(build_step_plan(batch, cap, 16, 4, packed.data(), plan).is_ok());
}

// ---- CUDA against CPU ----------------------------------------------------------------------

class CudaVsCpu : public CudaModelTest, public ::testing::WithParamInterface<std::string> {};

// A batch of prompts prefilled together, then decoded together for several steps fed with the
// CPU's greedy tokens; every logits row is compared.
TEST_P(CudaVsCpu, PrefillAndDecodeMatch) {
  const auto dir = test_model_dir(GetParam());
  const auto opts = runner_options(dir, "cuda");
  auto gpu = make_cuda_runner(opts);
  auto cpu = make_cpu_runner(opts);
  ASSERT_TRUE(gpu && cpu);
  const int32_t vocab = gpu->config().vocab_size;
  SeqBuilder b;
  std::vector<Seq> seqs;
  for (int32_t len : {1, 17, 64, 300})
    seqs.push_back(b.make(random_prompt(len, vocab, len), len + 16));

  double worst_rel = 0, worst_abs = 0;
  int compared = 0, clear = 0;
  for (int step = 0; step < 7; ++step) {
    ForwardBatch batch;
    for (auto& s : seqs) batch.seqs.push_back(chunk(s, int32_t(s.tokens.size()) - s.computed));
    std::vector<float> lg, lc;
    auto sg = gpu->forward(batch, lg);
    ASSERT_TRUE(sg.is_ok()) << sg.to_string();
    ASSERT_TRUE(cpu->forward(batch, lc).is_ok());
    ASSERT_EQ(lg.size(), lc.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
      std::span<const float> g(lg.data() + i * vocab, vocab), c(lc.data() + i * vocab, vocab);
      const Diff d = compare_rows(g, c);
      worst_rel = std::max(worst_rel, d.rel_rms);
      worst_abs = std::max(worst_abs, d.max_abs / std::max(1.0, d.ref_max));
      EXPECT_LT(d.rel_rms, 0.08) << "step " << step << " seq " << i;
      EXPECT_LT(d.max_abs, 0.15 * std::max(1.0, d.ref_max)) << "step " << step << " seq " << i;
      ++compared;
      if (margin(c) > 0.25f) {
        ++clear;
        EXPECT_EQ(argmax(g), argmax(c))
            << "step " << step << " seq " << i << " margin " << margin(c);
      }
      seqs[i].computed = int32_t(seqs[i].tokens.size());
      seqs[i].tokens.push_back(argmax(c));
    }
  }
  std::cout << "[ cuda vs cpu ] model " << GetParam() << ": " << compared << " rows, worst rel rms "
            << worst_rel << ", worst max abs / max|ref| " << worst_abs << ", " << clear
            << " rows with a clear top-1\n";
  EXPECT_GT(clear, compared / 2) << "the random model should usually have a clear top-1";
}

INSTANTIATE_TEST_SUITE_P(Models, CudaVsCpu, ::testing::Values("tiny", "d128"));

// ---- CUDA against itself --------------------------------------------------------------------

class CudaRunner : public CudaModelTest {
 protected:
  void SetUp() override {
    CudaModelTest::SetUp();
    if (IsSkipped()) return;
    dir_ = test_model_dir("d128");
  }
  std::filesystem::path dir_;
};

TEST_F(CudaRunner, ChunkedPrefillEqualsSinglePrefill) {
  auto r = make_cuda_runner(runner_options(dir_, "cuda"));
  ASSERT_TRUE(r);
  const int32_t vocab = r->config().vocab_size;
  SeqBuilder b;
  Seq whole = b.make(random_prompt(300, vocab, 5), 320);
  Seq chunked = b.make(whole.tokens, 320);
  std::vector<float> lw, lc;
  ASSERT_TRUE(r->forward({{chunk(whole, 300)}}, lw).is_ok());
  // 100 + 150 + 50 tokens; the chunk edges fall inside blocks.
  for (int32_t n : {100, 150, 50}) {
    const bool last = chunked.computed + n == 300;
    ASSERT_TRUE(r->forward({{chunk(chunked, n, last)}}, lc).is_ok());
    EXPECT_EQ(lc.size(), last ? size_t(vocab) : 0u);
    chunked.computed += n;
  }
  const Diff d = compare_rows(lc, lw);
  EXPECT_LT(d.rel_rms, 5e-3);
  EXPECT_EQ(argmax(lc), argmax(lw));
  // Then decode from both caches: the same token gives the same distribution.
  whole.computed = chunked.computed = 300;
  whole.tokens.push_back(argmax(lw));
  chunked.tokens.push_back(argmax(lw));
  ASSERT_TRUE(r->forward({{chunk(whole, 1)}}, lw).is_ok());
  ASSERT_TRUE(r->forward({{chunk(chunked, 1)}}, lc).is_ok());
  EXPECT_LT(compare_rows(lc, lw).rel_rms, 5e-3);
  EXPECT_EQ(argmax(lc), argmax(lw));
}

TEST_F(CudaRunner, SequenceLogitsDoNotDependOnItsBatch) {
  auto r = make_cuda_runner(runner_options(dir_, "cuda"));
  ASSERT_TRUE(r);
  const int32_t vocab = r->config().vocab_size;
  SeqBuilder b;
  Seq alone = b.make(random_prompt(77, vocab, 9), 100);
  Seq x = b.make(alone.tokens, 100);
  std::vector<Seq> others;
  for (int32_t len : {5, 200, 33})
    others.push_back(b.make(random_prompt(len, vocab, len + 1), len + 20));
  for (int step = 0; step < 5; ++step) {
    std::vector<float> la, lb;
    ASSERT_TRUE(
        r->forward({{chunk(alone, int32_t(alone.tokens.size()) - alone.computed)}}, la).is_ok());
    ForwardBatch batch;
    batch.seqs.push_back(chunk(others[0], int32_t(others[0].tokens.size()) - others[0].computed));
    batch.seqs.push_back(chunk(x, int32_t(x.tokens.size()) - x.computed));
    for (size_t i = 1; i < others.size(); ++i)
      batch.seqs.push_back(chunk(others[i], int32_t(others[i].tokens.size()) - others[i].computed));
    ASSERT_TRUE(r->forward(batch, lb).is_ok());
    std::span<const float> in_batch(lb.data() + vocab, vocab);
    const Diff d = compare_rows(in_batch, la);
    // Alone the GEMMs run on one row, in the batch on four (another kernel, another summation
    // order): bf16 noise, which this sharp model amplifies, but the same greedy token.
    EXPECT_LT(d.rel_rms, 2e-2) << "step " << step;
    EXPECT_EQ(argmax(in_batch), argmax(la)) << "step " << step;
    const int32_t next = argmax(la);
    alone.computed = x.computed = int32_t(alone.tokens.size());
    alone.tokens.push_back(next);
    x.tokens.push_back(next);
    for (size_t i = 0; i < others.size(); ++i) {
      others[i].computed = int32_t(others[i].tokens.size());
      others[i].tokens.push_back(
          argmax(std::span<const float>(lb.data() + (i == 0 ? 0 : i + 1) * vocab, vocab)));
    }
  }
}

TEST_F(CudaRunner, GraphReplayMatchesEagerExecution) {
  auto graphs = make_cuda_runner(runner_options(dir_, "cuda"));
  auto eager = make_cuda_runner(runner_options(dir_, "cuda"), {.cuda_graphs = false});
  ASSERT_TRUE(graphs && eager);
  EXPECT_EQ(eager->max_graph_batch(), 0);
  const int32_t vocab = graphs->config().vocab_size;
  // Three sequences (padded to a graph of 4), then a fourth joins (the same graph, unpadded).
  SeqBuilder b;
  std::vector<Seq> seqs;
  for (int32_t len : {3, 40, 129, 16})
    seqs.push_back(b.make(random_prompt(len, vocab, len), len + 16));
  for (auto* r :
       {static_cast<ModelRunner*>(graphs.get()), static_cast<ModelRunner*>(eager.get())}) {
    std::vector<float> l;
    ForwardBatch prefill;
    for (auto& s : seqs) prefill.seqs.push_back(chunk(s, int32_t(s.tokens.size())));
    ASSERT_TRUE(r->forward(prefill, l).is_ok());
  }
  for (auto& s : seqs) {
    s.computed = int32_t(s.tokens.size());
    s.tokens.push_back(1);
  }
  for (int step = 0; step < 6; ++step) {
    const size_t n = step < 3 ? 3 : 4;
    ForwardBatch batch;
    for (size_t i = 0; i < n; ++i) batch.seqs.push_back(chunk(seqs[i], 1));
    std::vector<float> lg, le;
    ASSERT_TRUE(graphs->forward(batch, lg).is_ok());
    ASSERT_TRUE(eager->forward(batch, le).is_ok());
    ASSERT_EQ(lg.size(), n * vocab);
    for (size_t i = 0; i < n; ++i) {
      std::span<const float> g(lg.data() + i * vocab, vocab), e(le.data() + i * vocab, vocab);
      EXPECT_LT(compare_rows(g, e).rel_rms, 1e-3) << "step " << step << " seq " << i;
      EXPECT_EQ(argmax(g), argmax(e));
    }
    for (size_t i = 0; i < n; ++i) {
      seqs[i].computed = int32_t(seqs[i].tokens.size());
      seqs[i].tokens.push_back(argmax(std::span<const float>(le.data() + i * vocab, vocab)));
    }
  }
  EXPECT_EQ(graphs->num_captured_graphs(), 1);
  EXPECT_EQ(eager->num_captured_graphs(), 0);
}

// Every GEMM and prefill-attention kernel choice computes the same model: a prefill and decode
// steps of three sequences under each give the same greedy ids and logits within bf16 noise
// (different summation orders, amplified by the sharp random model: a few percent at most).
TEST_F(CudaRunner, KernelChoicesAgree) {
  using kernels::cuda::PrefillKernel;
  using kernels::cuda::SmallBatchGemm;
  auto r = make_cuda_runner(runner_options(dir_, "cuda"));
  ASSERT_TRUE(r);
  const int32_t vocab = r->config().vocab_size;
  const std::vector<CudaModelRunner::Tuning> choices = {
      {},
      {.small_batch = SmallBatchGemm::kTensorCore, .prefill_kernel = PrefillKernel::kRows32Keys64},
      {.small_batch = SmallBatchGemm::kScalar, .prefill_kernel = PrefillKernel::kRows16Keys64},
      {.small_batch = SmallBatchGemm::kScalarThenTensorCore,
       .prefill_kernel = PrefillKernel::kRows32Keys32},
      {.prefill_kernel = PrefillKernel::kRows32Keys32Stages4, .fuse_gate_up_silu = true},
      {.cuda_graphs = false, .small_batch = SmallBatchGemm::kCublasLt}};
  std::vector<std::vector<float>> results;
  for (const auto& tuning : choices) {
    r->set_tuning(tuning);
    EXPECT_EQ(r->num_captured_graphs(), 0);
    SeqBuilder b;
    std::vector<Seq> seqs;
    for (int32_t len : {150, 20, 300})
      seqs.push_back(b.make(random_prompt(len, vocab, len), len + 8));
    std::vector<float> all;
    for (int step = 0; step < 4; ++step) {
      ForwardBatch batch;
      for (auto& s : seqs) batch.seqs.push_back(chunk(s, int32_t(s.tokens.size()) - s.computed));
      std::vector<float> l;
      ASSERT_TRUE(r->forward(batch, l).is_ok());
      for (size_t i = 0; i < seqs.size(); ++i) {
        seqs[i].computed = int32_t(seqs[i].tokens.size());
        // The first choice's greedy tokens drive every choice, so inputs stay the same.
        const size_t at = size_t(step) * seqs.size() * vocab + i * vocab;
        const auto& drive = results.empty() ? l : results[0];
        const size_t off = results.empty() ? i * vocab : at;
        seqs[i].tokens.push_back(argmax(std::span<const float>(drive.data() + off, vocab)));
      }
      all.insert(all.end(), l.begin(), l.end());
    }
    results.push_back(std::move(all));
  }
  for (size_t c = 1; c < choices.size(); ++c) {
    ASSERT_EQ(results[c].size(), results[0].size());
    for (size_t row = 0; row < results[0].size() / vocab; ++row) {
      std::span<const float> a(results[c].data() + row * vocab, vocab),
          ref(results[0].data() + row * vocab, vocab);
      EXPECT_LT(compare_rows(a, ref).rel_rms, 3e-2) << "choice " << c << " row " << row;
      EXPECT_EQ(argmax(a), argmax(ref)) << "choice " << c << " row " << row;
    }
  }
}

// Programmatic dependent launches and the fused gate/up + SiLU GEMV change when kernels start
// and how many there are, not the math: one sequence (the scalar GEMV at one row, graphs) and
// three under the scalar policy (the fused kernel at three rows) give bit-identical logits with
// them on and off, over a prefill and graph-replayed decode steps.
TEST_F(CudaRunner, DependentLaunchAndFusedMlpAreExact) {
  using kernels::cuda::SmallBatchGemm;
  auto r = make_cuda_runner(runner_options(dir_, "cuda"));
  ASSERT_TRUE(r);
  const int32_t vocab = r->config().vocab_size;
  for (SmallBatchGemm policy : {SmallBatchGemm::kAuto, SmallBatchGemm::kScalar}) {
    const size_t num_seqs = policy == SmallBatchGemm::kAuto ? 1 : 3;
    std::vector<std::vector<float>> results;
    for (bool on : {true, false}) {
      r->set_tuning({.small_batch = policy, .dependent_launch = on, .fuse_gate_up_silu = on});
      SeqBuilder b;
      std::vector<Seq> seqs;
      for (size_t i = 0; i < num_seqs; ++i) {
        const int32_t len = 40 + 37 * int32_t(i);
        seqs.push_back(b.make(random_prompt(len, vocab, len + 5), len + 8));
      }
      std::vector<float> all;
      for (int step = 0; step < 5; ++step) {
        ForwardBatch batch;
        for (auto& s : seqs) batch.seqs.push_back(chunk(s, int32_t(s.tokens.size()) - s.computed));
        std::vector<float> l;
        ASSERT_TRUE(r->forward(batch, l).is_ok());
        for (size_t i = 0; i < seqs.size(); ++i) {
          seqs[i].computed = int32_t(seqs[i].tokens.size());
          seqs[i].tokens.push_back(argmax(std::span<const float>(l.data() + i * vocab, vocab)));
        }
        all.insert(all.end(), l.begin(), l.end());
      }
      results.push_back(std::move(all));
    }
    ASSERT_EQ(results[0].size(), results[1].size());
    for (size_t i = 0; i < results[0].size(); ++i)
      ASSERT_EQ(results[0][i], results[1][i])
          << kernels::cuda::small_batch_gemm_name(policy) << " logit " << i << " (row "
          << i / vocab << ")";
  }
}

TEST_F(CudaRunner, GreedyFastPathEqualsArgmaxOfLogits) {
  auto r = make_cuda_runner(runner_options(dir_, "cuda"));
  ASSERT_TRUE(r);
  const int32_t vocab = r->config().vocab_size;
  SeqBuilder b;
  Seq s1 = b.make(random_prompt(50, vocab, 1), 64), s2 = b.make(random_prompt(20, vocab, 2), 64);
  Seq t1 = b.make(s1.tokens, 64), t2 = b.make(s2.tokens, 64);
  std::vector<float> logits;
  std::vector<int32_t> ids;
  ASSERT_TRUE(r->forward({{chunk(s1, 50), chunk(s2, 20)}}, logits).is_ok());
  ASSERT_TRUE(r->forward_greedy({{chunk(t1, 50), chunk(t2, 20)}}, ids).is_ok());
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], argmax(std::span<const float>(logits.data(), vocab)));
  EXPECT_EQ(ids[1], argmax(std::span<const float>(logits.data() + vocab, vocab)));
}

TEST_F(CudaRunner, BatchesLargerThanTheStepCapacityAreSplit) {
  auto small_opts = runner_options(dir_, "cuda");
  small_opts.max_num_batched_tokens = 64;
  small_opts.max_num_seqs = 2;
  auto small = make_cuda_runner(small_opts);
  auto big = make_cuda_runner(runner_options(dir_, "cuda"));
  ASSERT_TRUE(small && big);
  const int32_t vocab = big->config().vocab_size;
  SeqBuilder b;
  std::vector<Seq> seqs;
  for (int32_t len : {100, 30, 5}) seqs.push_back(b.make(random_prompt(len, vocab, len), len));
  ForwardBatch batch;
  for (auto& s : seqs) batch.seqs.push_back(chunk(s, int32_t(s.tokens.size())));
  std::vector<float> ls, lb;
  ASSERT_TRUE(small->forward(batch, ls).is_ok());
  ASSERT_TRUE(big->forward(batch, lb).is_ok());
  ASSERT_EQ(ls.size(), 3u * vocab);
  for (int i = 0; i < 3; ++i) {
    std::span<const float> s(ls.data() + i * vocab, vocab), l(lb.data() + i * vocab, vocab);
    EXPECT_LT(compare_rows(s, l).rel_rms, 5e-3) << "seq " << i;
    EXPECT_EQ(argmax(s), argmax(l)) << "seq " << i;
  }
}

TEST_F(CudaRunner, PoolIsSizedFromMemoryUtilization) {
  auto opts = runner_options(dir_, "cuda", -1);
  opts.gpu_memory_utilization = 0.2;
  auto r = make_cuda_runner(opts);
  ASSERT_TRUE(r);
  size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  const kv::KvPool pool = r->kv_pool();
  EXPECT_EQ(pool.device, kv::Device::kCuda);
  EXPECT_EQ(pool.layout.dtype_bytes, 2);
  const double pool_bytes = double(pool.num_blocks) * pool.layout.block_bytes();
  EXPECT_GT(pool_bytes, 0.05 * total);
  EXPECT_LT(pool_bytes, 0.2 * total);
  r.reset();
  opts.gpu_memory_utilization = 1e-6;
  auto none = CudaModelRunner::create(opts, {});
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(none.error().message().find("gpu_memory_utilization"), std::string::npos);
}

TEST_F(CudaRunner, BadBatchesAreErrorsAndTheRunnerKeepsWorking) {
  auto r = make_cuda_runner(runner_options(dir_, "cuda", 64));
  ASSERT_TRUE(r);
  const int32_t vocab = r->config().vocab_size;
  std::vector<int32_t> bad_token = {1, vocab}, ok = {1, 2}, table = {0}, bad_table = {64};
  std::vector<float> l;
  auto st = r->forward({{{bad_token, 0, table, true}}}, l);
  EXPECT_EQ(st.code(), ErrorCode::kOutOfRange);
  st = r->forward({{{ok, 0, bad_table, true}}}, l);
  EXPECT_FALSE(st.is_ok());
  st = r->forward({{{ok, 15, table, true}}}, l);  // positions 15..16 need 2 blocks
  EXPECT_FALSE(st.is_ok());
  ASSERT_TRUE(r->forward({{{ok, 0, table, true}}}, l).is_ok());
  EXPECT_EQ(l.size(), size_t(vocab));
}

TEST_F(CudaRunner, FactoryDispatchesDeviceCuda) {
  auto r = create_model_runner(runner_options(dir_, "cuda"));
  ASSERT_TRUE(r.has_value()) << r.status().to_string();
  EXPECT_EQ((*r)->kv_pool().device, kv::Device::kCuda);
  EXPECT_EQ((*r)->kv_layout().dtype_bytes, 2);
}


// ---- Cascade attention: shared-prefix groups (planning is host only) ----------------------

// Greedy ids are compared where the reference's top-1 leads by more than this (logits of these
// random models span a few units; cascade and plain attention differ by bf16 noise).
constexpr float kClearMargin = 0.1f;

// Decode sequences over a table that starts with `shared`, then blocks of their own.
std::vector<int32_t> table_with(const std::vector<int32_t>& shared, int32_t own_first,
                                int32_t own) {
  std::vector<int32_t> t = shared;
  for (int32_t i = 0; i < own; ++i) t.push_back(own_first + i);
  return t;
}

struct PackedCascade {
  CascadeSections sec;
  std::vector<int32_t> packed;
  int32_t at(size_t section, int32_t i) const { return packed[section + size_t(i)]; }
};

TEST(CudaCascadePlan, GroupsDecodesByTheirSharedBlocks) {
  std::vector<int32_t> a_shared(20), b_shared(30);
  std::iota(a_shared.begin(), a_shared.end(), 100);
  std::iota(b_shared.begin(), b_shared.end(), 200);
  // Decode indices: a0 0, b0 1, a1 2, (a prefill), outlier 3, a2 4, b1 5, alone 6, a3 7.
  const std::vector<int32_t> one = {7}, three = {1, 2, 3};
  std::vector<std::vector<int32_t>> tables = {
      table_with(a_shared, 1000, 2),
      table_with(b_shared, 1010, 1),
      table_with(a_shared, 1020, 3),
      table_with({}, 1030, 40),
      table_with({100, 101}, 1080, 30),  // only 2 blocks in common with the a's
      table_with(a_shared, 1120, 1),
      table_with(b_shared, 1130, 2),
      table_with({}, 1140, 25),
      table_with(a_shared, 1170, 1)};
  // a's contexts: 320 + 5, + 40, 320 + 1 (its token opens block 20), and 320 exactly: its token
  // sits in block 19, which it must not share, so the a's share 19 blocks.
  const std::vector<int32_t> starts = {324, 480, 359, 10, 400, 320, 490, 300, 319};
  ForwardBatch batch;
  for (size_t i = 0; i < tables.size(); ++i)
    batch.seqs.push_back({i == 3 ? std::span<const int32_t>(three) : std::span<const int32_t>(one),
                          starts[i], tables[i], true});
  const int32_t max_seqs = 16, num_decode = 10;  // 8 decodes, 2 padding
  PackedCascade p{CascadeSections::layout(max_seqs), {}};
  p.packed.assign(p.sec.total, -99);
  CascadeGeometry geo{.num_kv_heads = 8, .q_per_kv = 2, .work_slots = 33};
  CascadeOptions opt{.min_shared_tokens = 256, .min_members = 2, .min_saved_tokens = 0};
  CascadePlan plan;
  ASSERT_TRUE(build_cascade_plan(batch, 16, num_decode, max_seqs, opt, geo, p.packed.data(), plan)
                  .is_ok());
  ASSERT_EQ(plan.num_groups, 2);
  EXPECT_EQ(p.at(p.sec.header, 0), 2);
  EXPECT_EQ(plan.num_members, 6);
  const std::vector<std::vector<int32_t>> members = {{0, 2, 4, 7}, {1, 5}};
  const std::vector<int32_t> shared = {19 * 16, 30 * 16};
  int32_t parts = 0, work = 0;
  for (int32_t g = 0; g < 2; ++g) {
    SCOPED_TRACE(g);
    const int32_t b = p.at(p.sec.member_begin, g), e = p.at(p.sec.member_begin, g + 1);
    std::vector<int32_t> got(p.packed.begin() + p.sec.members + b,
                             p.packed.begin() + p.sec.members + e);
    EXPECT_EQ(got, members[g]);
    EXPECT_EQ(p.at(p.sec.shared_len, g), shared[g]);
    const int32_t chunk = p.at(p.sec.chunk_len, g);
    EXPECT_EQ(chunk % kernels::cuda::kCascadeKeyTile, 0);
    const int32_t chunks = (shared[g] + chunk - 1) / chunk;
    EXPECT_GE(chunks, 1);
    EXPECT_LE(chunks, kCascadeMaxChunks);
    EXPECT_EQ(p.at(p.sec.part_begin, g), parts);
    EXPECT_EQ(p.at(p.sec.work_begin, g), work);
    const int32_t tiles = (e - b) * geo.q_per_kv / kernels::cuda::kCascadeRowTile + 1;
    parts += (e - b) * chunks;
    work += tiles * chunks;
    for (int32_t i = 0; i < e - b; ++i) {
      const int32_t d = members[g][i];
      EXPECT_EQ(p.at(p.sec.seq_group, d), g);
      EXPECT_EQ(p.at(p.sec.seq_local, d), i);
      EXPECT_EQ(p.at(p.sec.seq_start, d), shared[g]);
    }
  }
  EXPECT_EQ(p.at(p.sec.work_begin, 2), work);
  EXPECT_EQ(p.at(p.sec.header, 1), work);
  EXPECT_EQ(plan.parts, parts);
  EXPECT_LE(parts, cascade_max_parts(max_seqs));
  for (int32_t d : {3, 6, 8, 9}) {  // the outlier, the loner, padding
    EXPECT_EQ(p.at(p.sec.seq_group, d), -1) << d;
    EXPECT_EQ(p.at(p.sec.seq_start, d), 0) << d;
  }
}

TEST(CudaCascadePlan, SmallSharingDoesNotPay) {
  std::vector<int32_t> shared(20);
  std::iota(shared.begin(), shared.end(), 0);
  const std::vector<int32_t> one = {7};
  auto t0 = table_with(shared, 100, 2), t1 = table_with(shared, 200, 2);
  ForwardBatch batch;
  batch.seqs = {{one, 330, t0, true}, {one, 340, t1, true}};
  const int32_t max_seqs = 4;
  std::vector<int32_t> packed(CascadeSections::layout(max_seqs).total);
  CascadeGeometry geo{.num_kv_heads = 2, .q_per_kv = 4, .work_slots = 10};
  CascadePlan plan;
  // Defaults: two members sharing 320 tokens save 320 reads, under min_saved_tokens.
  ASSERT_TRUE(build_cascade_plan(batch, 16, 2, max_seqs, {}, geo, packed.data(), plan).is_ok());
  EXPECT_EQ(plan.num_groups, 0);
  // Fewer shared tokens than min_shared_tokens.
  CascadeOptions opt{.min_shared_tokens = 400, .min_members = 2, .min_saved_tokens = 0};
  ASSERT_TRUE(build_cascade_plan(batch, 16, 2, max_seqs, opt, geo, packed.data(), plan).is_ok());
  EXPECT_EQ(plan.num_groups, 0);
  opt.min_shared_tokens = 320;
  ASSERT_TRUE(build_cascade_plan(batch, 16, 2, max_seqs, opt, geo, packed.data(), plan).is_ok());
  EXPECT_EQ(plan.num_groups, 1);
  // More decodes than the capacity is the caller's bug, reported.
  EXPECT_FALSE(build_cascade_plan(batch, 16, 5, max_seqs, opt, geo, packed.data(), plan).is_ok());
}

// A first sequence that leaves the common prefix early does not keep the others from sharing.
TEST(CudaCascadePlan, AnEarlyDivergingLeaderStepsAside) {
  std::vector<int32_t> shared(20);
  std::iota(shared.begin(), shared.end(), 0);
  const std::vector<int32_t> one = {7};
  std::vector<std::vector<int32_t>> tables = {table_with({0, 1, 2}, 500, 30),
                                              table_with(shared, 100, 2),
                                              table_with(shared, 200, 2),
                                              table_with(shared, 300, 2)};
  ForwardBatch batch;
  for (const auto& t : tables) batch.seqs.push_back({one, 16 * int32_t(t.size()) - 3, t, true});
  const int32_t max_seqs = 8;
  const CascadeSections sec = CascadeSections::layout(max_seqs);
  std::vector<int32_t> packed(sec.total);
  CascadeGeometry geo{.num_kv_heads = 2, .q_per_kv = 4, .work_slots = 10};
  CascadeOptions opt{.min_shared_tokens = 256, .min_members = 2, .min_saved_tokens = 0};
  CascadePlan plan;
  ASSERT_TRUE(build_cascade_plan(batch, 16, 4, max_seqs, opt, geo, packed.data(), plan).is_ok());
  ASSERT_EQ(plan.num_groups, 1);
  EXPECT_EQ(plan.num_members, 3);
  EXPECT_EQ(packed[sec.seq_group], -1);
  EXPECT_EQ(packed[sec.shared_len], 320);
  for (int32_t d = 1; d < 4; ++d) EXPECT_EQ(packed[sec.seq_group + d], 0) << d;
}

// 256 sequences on the seed's 10k-token prefix: one group, the chunks keep the device busy and
// the partials inside the workspace.
TEST(CudaCascadePlan, SeedWorkloadIsOneGroup) {
  std::vector<int32_t> shared(625);
  std::iota(shared.begin(), shared.end(), 0);
  const std::vector<int32_t> one = {7};
  std::vector<std::vector<int32_t>> tables;
  for (int32_t i = 0; i < 256; ++i) tables.push_back(table_with(shared, 1000 + 20 * i, 14));
  ForwardBatch batch;
  for (const auto& t : tables) batch.seqs.push_back({one, 10000 + 200, t, true});
  const int32_t max_seqs = 1024;
  const CascadeSections sec = CascadeSections::layout(max_seqs);
  std::vector<int32_t> packed(sec.total);
  CascadeGeometry geo{.num_kv_heads = 8, .q_per_kv = 2,
                      .work_slots = cascade_work_slots(132, 8)};
  CascadePlan plan;
  ASSERT_TRUE(
      build_cascade_plan(batch, 16, 256, max_seqs, {}, geo, packed.data(), plan).is_ok());
  ASSERT_EQ(plan.num_groups, 1);
  EXPECT_EQ(plan.num_members, 256);
  EXPECT_EQ(packed[sec.shared_len], 10000);
  EXPECT_GE(plan.work_items, geo.work_slots);  // at least one item per slot
  EXPECT_LE(plan.parts, cascade_max_parts(max_seqs));
}

// Decode sequences that share a prefix's blocks (as the prefix cache gives them): logits with
// cascade attention equal those of the plain decode kernel within bf16 noise, greedy ids equal,
// over mixed steps (a prefill beside the group), eager.
TEST_F(CudaRunner, CascadeAttentionMatchesPlainDecode) {
  CudaModelRunner::Tuning off{.cuda_graphs = false, .cascade_attention = false};
  CudaModelRunner::Tuning on = off;
  on.cascade_attention = true;
  on.cascade_min_shared_tokens = 64;
  on.cascade_min_saved_tokens = 0;
  for (const std::string model : {"d128", "tiny"}) {
    SCOPED_TRACE(model);
    int ids_checked = 0;
    auto r = make_cuda_runner(runner_options(test_model_dir(model), "cuda"), off);
    ASSERT_TRUE(r);
    const int32_t vocab = r->config().vocab_size;
    SeqBuilder b;
    Seq base = b.make(random_prompt(300, vocab, 3), 340);
    std::vector<float> l;
    ASSERT_TRUE(r->forward({{chunk(base, 300)}}, l).is_ok());
    base.computed = 300;
    base.tokens.push_back(argmax(l));
    // Five more on the base's first 18 blocks (288 tokens), each with its own continuation.
    std::vector<Seq> seqs = {base};
    for (int32_t i = 0; i < 5; ++i) {
      std::vector<int32_t> prompt(base.tokens.begin(), base.tokens.begin() + 288);
      for (int32_t t : random_prompt(10 + 23 * i, vocab, 40 + i)) prompt.push_back(t);
      Seq s = b.make(prompt, int32_t(prompt.size()) + 40);
      std::copy_n(base.blocks.begin(), 18, s.blocks.begin());
      s.computed = 288;
      ASSERT_TRUE(r->forward({{chunk(s, int32_t(s.tokens.size()) - 288)}}, l).is_ok());
      s.computed = int32_t(s.tokens.size());
      s.tokens.push_back(argmax(l));
      seqs.push_back(s);
    }
    Seq other = b.make(random_prompt(45, vocab, 99), 100);  // prefills in the first step
    for (int step = 0; step < 4; ++step) {
      ForwardBatch batch;
      for (auto& s : seqs) batch.seqs.push_back(chunk(s, 1));
      batch.seqs.push_back(
          chunk(other, step == 0 ? int32_t(other.tokens.size()) : 1));
      std::vector<float> lo, lc;
      r->set_tuning(off);
      ASSERT_TRUE(r->forward(batch, lo).is_ok());
      EXPECT_EQ(r->last_cascade_groups(), 0);
      r->set_tuning(on);
      ASSERT_TRUE(r->forward(batch, lc).is_ok());
      EXPECT_EQ(r->last_cascade_groups(), 1) << "step " << step;
      ASSERT_EQ(lc.size(), lo.size());
      for (size_t i = 0; i < batch.seqs.size(); ++i) {
        std::span<const float> c(lc.data() + i * vocab, vocab), o(lo.data() + i * vocab, vocab);
        // Different kernels for the same math, as in KernelChoicesAgree: a few percent at most
        // on these sharp models (2.3% the largest seen on tiny).
        EXPECT_LT(compare_rows(c, o).rel_rms, 3e-2) << "step " << step << " seq " << i;
        if (margin(o) > kClearMargin) {
          EXPECT_EQ(argmax(c), argmax(o)) << "step " << step << " seq " << i;
          ++ids_checked;
        }
      }
      for (size_t i = 0; i < seqs.size(); ++i) {
        seqs[i].computed = int32_t(seqs[i].tokens.size());
        seqs[i].tokens.push_back(argmax(std::span<const float>(lo.data() + i * vocab, vocab)));
      }
      other.computed = int32_t(other.tokens.size());
      other.tokens.push_back(
          argmax(std::span<const float>(lo.data() + seqs.size() * vocab, vocab)));
    }
    EXPECT_GE(ids_checked, 5);  // of 28 rows: the check is not vacuous
  }
}

// Decode graphs with cascade groups replay for any group layout of their size: the group's
// membership changes between replays (and a step without groups takes the plain graph). A
// replay equals the eager run that captured it; every step agrees with a runner without graphs
// (unpadded, so its GEMMs and decode split counts differ: bf16 noise only), while a layout baked
// into the graph would give other sequences' attention.
TEST_F(CudaRunner, CascadeGraphReplaysAnyGroupLayout) {
  CudaModelRunner::Tuning tuning;
  tuning.cascade_attention = true;
  tuning.cascade_min_shared_tokens = 64;
  tuning.cascade_min_saved_tokens = 0;
  CudaModelRunner::Tuning eager_tuning = tuning;
  eager_tuning.cuda_graphs = false;
  auto graphs = make_cuda_runner(runner_options(dir_, "cuda"), tuning);
  auto eager = make_cuda_runner(runner_options(dir_, "cuda"), eager_tuning);
  ASSERT_TRUE(graphs && eager);
  const int32_t vocab = graphs->config().vocab_size;
  // Two sets of four sequences, each set on its own 200-token prefix (12 shared blocks).
  SeqBuilder b;
  std::vector<Seq> seqs;
  for (int32_t set = 0; set < 2; ++set) {
    const auto prefix = random_prompt(192, vocab, 7 + set);
    for (int32_t i = 0; i < 4; ++i) {
      std::vector<int32_t> prompt = prefix;
      for (int32_t t : random_prompt(5 + 9 * i, vocab, 20 + 4 * set + i)) prompt.push_back(t);
      Seq s = b.make(prompt, int32_t(prompt.size()) + 20);
      if (i > 0) std::copy_n(seqs[size_t(set) * 4].blocks.begin(), 12, s.blocks.begin());
      seqs.push_back(s);
    }
  }
  for (auto* r : {graphs.get(), eager.get()}) {
    std::vector<float> l;
    for (size_t i = 0; i < seqs.size(); ++i) {
      Seq s = seqs[i];
      s.computed = i % 4 == 0 ? 0 : 192;  // the set's first sequence computes the prefix
      ASSERT_TRUE(r->forward({{chunk(s, int32_t(s.tokens.size()) - s.computed)}}, l).is_ok());
    }
  }
  for (auto& s : seqs) {
    s.computed = int32_t(s.tokens.size());
    s.tokens.push_back(3);
  }
  // Batches of 5 or 6 (one graph of 8): one group (set 1 has a single member), twice, then two
  // groups of other members; then two sequences of different sets (a graph of 2, no group).
  const std::vector<std::vector<size_t>> steps = {
      {0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}, {4, 5, 6, 7, 0, 1}, {1, 2, 5, 6, 7, 3}, {0, 4}};
  const std::vector<int32_t> groups = {1, 1, 2, 2, 0};
  int ids_checked = 0;
  for (size_t step = 0; step < steps.size(); ++step) {
    ForwardBatch batch;
    for (size_t i : steps[step]) batch.seqs.push_back(chunk(seqs[i], 1));
    std::vector<float> lg, le;
    ASSERT_TRUE(graphs->forward(batch, lg).is_ok());
    EXPECT_EQ(graphs->last_cascade_groups(), groups[step]) << "step " << step;
    if (step == 0) {
      std::vector<float> replay;
      ASSERT_TRUE(graphs->forward(batch, replay).is_ok());
      EXPECT_LT(compare_rows(replay, lg).rel_rms, 1e-6);
    }
    ASSERT_TRUE(eager->forward(batch, le).is_ok());
    EXPECT_EQ(eager->last_cascade_groups(), groups[step]) << "step " << step;
    ASSERT_EQ(lg.size(), le.size());
    for (size_t i = 0; i < batch.seqs.size(); ++i) {
      std::span<const float> g(lg.data() + i * vocab, vocab), e(le.data() + i * vocab, vocab);
      EXPECT_LT(compare_rows(g, e).rel_rms, 1e-2) << "step " << step << " seq " << i;
      if (margin(e) > kClearMargin) {
        EXPECT_EQ(argmax(g), argmax(e)) << "step " << step << " seq " << i;
        ++ids_checked;
      }
    }
    for (size_t k = 0; k < steps[step].size(); ++k) {
      Seq& s = seqs[steps[step][k]];
      s.computed = int32_t(s.tokens.size());
      s.tokens.push_back(argmax(std::span<const float>(le.data() + k * vocab, vocab)));
    }
  }
  // Bucket 8 with groups, bucket 2 without.
  EXPECT_EQ(graphs->num_captured_graphs(), 2);
  EXPECT_GE(ids_checked, 5);  // of 25 rows: the check is not vacuous
}

}  // namespace
}  // namespace kvtier::model::cuda
#endif  // KVTIER_HAVE_CUDA
