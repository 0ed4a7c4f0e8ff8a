// Tokenizer speed: encoding prompts (warm and cold word cache, one and two threads), decoding,
// streaming detokenization, the Qwen3 chat template, and loading. Results: docs/performance.md,
// section "Tokenizer".
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include "common/paths.h"
#include "tokenizer/tokenizer.h"

namespace {

using kvtier::tokenizer::ChatOptions;
using kvtier::tokenizer::IncrementalDetokenizer;
using kvtier::tokenizer::Tokenizer;

const std::shared_ptr<const Tokenizer>& qwen3() {
  static const std::shared_ptr<const Tokenizer> tok = [] {
    auto t = Tokenizer::load(kvtier::default_tokenizer_dir());
    if (!t) {
      fprintf(stderr, "%s (run scripts/fetch-tokenizer)\n", t.error().message().c_str());
      std::exit(1);
    }
    return *t;
  }();
  return tok;
}

// Deterministic text that encodes to at least `tokens` tokens. Kinds: English-like prose from a
// word list, CJK prose, code, and "unique" (fresh random words, which miss the word cache).
std::string make_text(const std::string& kind, size_t tokens, uint32_t seed) {
  static const char* kWords[] = {
      "the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "was", "for", "on", "are", "as", "with",
      "they", "be", "at", "this", "have", "from", "or", "one", "by", "word", "but", "not", "what", "all", "were",
      "when", "your", "can", "said", "there", "use", "each", "which", "she", "how", "their", "will", "other",
      "about", "many", "then", "them", "these", "some", "would", "make", "like", "into", "time", "look", "more",
      "write", "number", "people", "water", "first", "call", "find", "long", "down", "day", "made", "part",
      "serving", "cache", "offload", "prefix", "tokens", "latency", "throughput", "concurrency", "request",
      "GPU", "memory", "tier", "evict", "block", "engine", "scheduler", "benchmark", "2024", "3.14", "it's"};
  static const char* kCjk[] = {"\xE7\xBC\x93\xE5\xAD\x98", "\xE6\xA8\xA1\xE5\x9E\x8B", "\xE8\xAF\xB7\xE6\xB1\x82",
                               "\xE5\x86\x85\xE5\xAD\x98", "\xE7\x9A\x84", "\xE6\x98\xAF", "\xE3\x80\x82",
                               "\xEF\xBC\x8C", "\xE6\x80\xA7\xE8\x83\xBD", "\xE5\xBB\xB6\xE8\xBF\x9F"};
  static const char* kCode[] = {"def ", "return ", "self.", "(", ")", ":\n    ", "x", " = ", "[i]", " + 1",
                                "for i in range(n):\n        ", "if ", " == ", "None", "\n", "# comment\n", "{", "}"};
  std::mt19937 rng(seed);
  std::string text;
  auto tok = qwen3();
  while (true) {
    for (int i = 0; i < 2000; ++i) {
      if (kind == "english") {
        text += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
        text += rng() % 15 == 0 ? ".\n" : rng() % 8 == 0 ? ", " : " ";
      } else if (kind == "cjk") {
        text += kCjk[rng() % (sizeof(kCjk) / sizeof(kCjk[0]))];
      } else if (kind == "code") {
        text += kCode[rng() % (sizeof(kCode) / sizeof(kCode[0]))];
      } else {
        const size_t len = 3 + rng() % 8;
        for (size_t k = 0; k < len; ++k) text += static_cast<char>('a' + rng() % 26);
        text += ' ';
      }
    }
    if (tok->encode(text)->size() >= tokens) return text;
  }
}

void report(benchmark::State& state, size_t bytes, size_t tokens) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens), benchmark::Counter::kIsRate);
}

void BM_Encode(benchmark::State& state, const std::string& kind) {
  const std::string text = make_text(kind, static_cast<size_t>(state.range(0)), 1);
  const size_t tokens = qwen3()->encode(text)->size();
  for (auto _ : state) benchmark::DoNotOptimize(qwen3()->encode(text));
  report(state, text.size(), tokens);
}
BENCHMARK_CAPTURE(BM_Encode, english, std::string("english"))->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, cjk, std::string("cjk"))->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, code, std::string("code"))->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, english_2threads, std::string("english"))->Arg(10000)->Threads(2)->Unit(benchmark::kMillisecond);

// Every iteration encodes words never seen before: the BPE merge loop without the word cache.
void BM_EncodeColdCache(benchmark::State& state) {
  std::vector<std::string> texts;
  for (uint32_t i = 0; i < 64; ++i) texts.push_back(make_text("unique", 10000, 100 + i));
  size_t bytes = 0, tokens = 0, next = 0;
  for (auto _ : state) {
    const std::string& text = texts[next++ % texts.size()];
    auto ids = qwen3()->encode(text);
    bytes += text.size();
    tokens += ids->size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncodeColdCache)->Iterations(64)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  const auto ids = *qwen3()->encode(make_text("english", 10000, 2));
  for (auto _ : state) benchmark::DoNotOptimize(qwen3()->decode(ids));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * ids.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMicrosecond);

void BM_IncrementalDetokenizer(benchmark::State& state) {
  const auto ids = *qwen3()->encode(make_text("cjk", 2000, 3));
  for (auto _ : state) {
    IncrementalDetokenizer detok(qwen3(), true);
    for (int32_t id : ids) benchmark::DoNotOptimize(detok.push(id));
    benchmark::DoNotOptimize(detok.flush());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * ids.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IncrementalDetokenizer)->Unit(benchmark::kMicrosecond);

// The seed's workload: a long system prompt, then turns of user and assistant messages.
void BM_ChatTemplate(benchmark::State& state) {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  messages.push_back({{"role", "system"}, {"content", make_text("english", 10000, 4)}});
  for (int turn = 0; turn < state.range(0); ++turn) {
    messages.push_back({{"role", "user"}, {"content", make_text("english", 128, 10 + turn)}});
    messages.push_back({{"role", "assistant"}, {"content", "<think>\nok\n</think>\n\n" + make_text("english", 128, 50 + turn)}});
  }
  messages.push_back({{"role", "user"}, {"content", "Go on."}});
  for (auto _ : state) benchmark::DoNotOptimize(qwen3()->apply_chat_template(messages, ChatOptions{}));
}
BENCHMARK(BM_ChatTemplate)->Arg(1)->Arg(5)->Unit(benchmark::kMicrosecond);

void BM_Load(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::load(kvtier::default_tokenizer_dir()));
}
BENCHMARK(BM_Load)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
