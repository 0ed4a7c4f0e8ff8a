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

}  // namespace
}  // namespace kvtier::model::cuda
#endif  // KVTIER_HAVE_CUDA
