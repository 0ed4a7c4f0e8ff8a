#include "router/plugin_factory.h"

#include <charconv>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "kv/block_hasher.h"
#include "kv/hash_algo.h"
#include "router/active_request_scorer.h"
#include "router/label_filters.h"
#include "router/metric_scorers.h"
#include "router/no_hit_lru_scorer.h"
#include "router/pickers.h"
#include "router/plugin_params.h"
#include "router/precise_prefix_cache_scorer.h"
#include "router/prefix_cache_scorer.h"
#include "router/session_affinity_scorer.h"

namespace kvtier::router {
namespace {

constexpr int64_t kMaxBlockSize = 1 << 16;

// Every plugin type the router builds, for the error on an unknown one.
constexpr std::string_view kSupportedTypes =
    "queue-scorer, kv-cache-utilization-scorer, load-aware-scorer, prefix-cache-scorer, "
    "precise-prefix-cache-scorer, active-request-scorer, session-affinity-scorer, "
    "no-hit-lru-scorer, max-score-picker, random-picker, weighted-random-picker, by-label, "
    "by-label-selector, decode-filter, prefill-filter, single-profile-handler";

// A built plugin: one of these is set.
struct Plugin {
  std::shared_ptr<Scorer> scorer;
  std::unique_ptr<Picker> picker;
  std::unique_ptr<Filter> filter;
  bool handler = false;  // a profile handler: decides which profiles run, scores nothing
};

bool is_prefix_scorer(std::string_view type) {
  return type == "prefix-cache-scorer" || type == "precise-prefix-cache-scorer";
}

Expected<int32_t> read_block_size(PluginParams& p, int32_t fallback) {
  // Gateway API Inference Extension releases renamed the key; the router's blocks are tokens.
  for (const char* key : {"blockSizeTokens", "blockSize", "hashBlockSize"}) {
    if (p.has(key)) {
      KVTIER_ASSIGN_OR_RETURN(int64_t v, p.integer(key, fallback, 1, kMaxBlockSize));
      for (const char* other : {"blockSizeTokens", "blockSize", "hashBlockSize"}) p.raw(other);
      return static_cast<int32_t>(v);
    }
  }
  return fallback;
}

// tokenProcessorConfig.hashAlgorithm: the engines' --prefix-caching-hash-algo, by vLLM's names.
// llm-d's own values name how it keys its index internally, not what engines publish.
Expected<kv::HashAlgo> read_hash_algo(PluginParams& p, kv::HashAlgo fallback) {
  if (!p.has("hashAlgorithm")) return fallback;
  KVTIER_ASSIGN_OR_RETURN(std::string name, p.string("hashAlgorithm", ""));
  if (name == "cbor-fnv" || name == "xxh64") {
    spdlog::warn("plugin {}: hashAlgorithm '{}' is llm-d's key for its own index; this scorer "
                 "matches the engines' keys, so it keeps '{}' (choices: {})",
                 p.plugin_name(), name, kv::hash_algo_name(fallback), kv::hash_algo_choices());
    return fallback;
  }
  auto algo = kv::parse_hash_algo(name);
  if (!algo) return p.error("hashAlgorithm", "is invalid: " + algo.error().message());
  return *algo;
}

Expected<Plugin> build_prefix_scorer(PluginParams& p, size_t num_endpoints) {
  PrefixCacheScorerOptions o;
  KVTIER_ASSIGN_OR_RETURN(o.block_size, read_block_size(p, o.block_size));
  KVTIER_ASSIGN_OR_RETURN(int64_t max_blocks,
                          p.integer("maxPrefixBlocksToMatch", int64_t(o.max_prefix_blocks), 1));
  KVTIER_ASSIGN_OR_RETURN(int64_t max_tokens, p.integer("maxPrefixTokensToMatch", 0, 0));
  if (max_tokens > 0) max_blocks = std::max<int64_t>(1, max_tokens / o.block_size);
  o.max_prefix_blocks = size_t(max_blocks);
  KVTIER_ASSIGN_OR_RETURN(
      int64_t lru, p.integer("lruCapacityPerServer", int64_t(o.lru_capacity_per_server), 1));
  o.lru_capacity_per_server = size_t(lru);
  KVTIER_ASSIGN_OR_RETURN(bool auto_tune, p.boolean("autoTune", false));
  if (auto_tune) {
    spdlog::info("plugin {}: autoTune has no effect; blocks are {} tokens", p.plugin_name(),
                 o.block_size);
  }
  Plugin plugin;
  plugin.scorer = std::make_shared<PrefixCacheScorer>(o, num_endpoints);
  return plugin;
}

// Go durations ("30s", "500ms", "1m30s") or a number of seconds.
Expected<std::chrono::milliseconds> read_duration(PluginParams& p, std::string_view key,
                                                  std::chrono::milliseconds fallback) {
  const nlohmann::json* v = p.raw(key);
  if (!v) return fallback;
  if (v->is_number()) {
    if (v->get<double>() <= 0) return p.error(key, "must be a positive duration");
    return std::chrono::milliseconds(int64_t(v->get<double>() * 1000));
  }
  if (!v->is_string()) return p.error(key, "must be a duration such as \"30s\"");
  const std::string text = v->get<std::string>();
  double total_ms = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    double value = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc()) return p.error(key, fmt::format("is not a duration: '{}'", text));
    rest.remove_prefix(size_t(ptr - rest.data()));
    double unit = 0;
    for (auto [name, ms] : {std::pair{"ms", 1.0}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}}) {
      if (rest.starts_with(name) && !(std::string_view(name) == "m" && rest.starts_with("ms"))) {
        unit = ms;
        rest.remove_prefix(std::string_view(name).size());
        break;
      }
    }
    if (unit == 0) return p.error(key, fmt::format("is not a duration: '{}'", text));
    total_ms += value * unit;
  }
  if (total_ms <= 0) return p.error(key, "must be a positive duration");
  return std::chrono::milliseconds(int64_t(total_ms));
}

Expected<std::vector<TierWeight>> read_tiers(PluginParams& indexer) {
  const nlohmann::json* list = indexer.raw("kvCacheBackendConfigs");
  std::vector<TierWeight> tiers = {{"gpu", 1.0}, {"cpu", 0.8}};
  if (!list) return tiers;
  if (!list->is_array() || list->empty()) {
    return indexer.error("kvCacheBackendConfigs", "must be a non-empty list of {name, weight}");
  }
  tiers.clear();
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& entry = (*list)[i];
    const std::string key = fmt::format("kvCacheBackendConfigs[{}]", i);
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
        entry["name"].get<std::string>().empty()) {
      return indexer.error(key, "must be a map with a string 'name'");
    }
    double weight = 1.0;
    if (entry.contains("weight")) {
      if (!entry["weight"].is_number() || entry["weight"].get<double>() < 0 ||
          entry["weight"].get<double>() > 1) {
        return indexer.error(key + ".weight",
                             fmt::format("must be a number in [0, 1], got {}",
                                         entry["weight"].dump()));
      }
      weight = entry["weight"].get<double>();
    }
    tiers.push_back({entry["name"].get<std::string>(), weight});
  }
  if (tiers.size() > 8) return indexer.error("kvCacheBackendConfigs", "may list at most 8 tiers");
  return tiers;
}

Expected<std::vector<KvEventSource>> read_event_sources(
    PluginParams& events, const std::vector<EndpointAddress>& endpoints) {
  std::vector<KvEventSource> sources;
  std::vector<bool> covered(endpoints.size(), false);
  if (const nlohmann::json* map = events.raw("endpoints")) {
    if (!map->is_object()) {
      return events.error("endpoints", "must map endpoint \"host:port\" to a ZMQ address");
    }
    for (auto it = map->begin(); it != map->end(); ++it) {
      std::optional<size_t> index;
      for (size_t i = 0; i < endpoints.size(); ++i) {
        if (endpoints[i].id() == it.key()) index = i;
      }
      if (!index) {
        return events.error("endpoints." + it.key(), "names no endpoint given with --endpoint");
      }
      if (!it->is_string() || it->get<std::string>().empty()) {
        return events.error("endpoints." + it.key(), "must be a ZMQ address string");
      }
      sources.push_back({it->get<std::string>(), index});
      covered[*index] = true;
    }
  }
  KVTIER_ASSIGN_OR_RETURN(std::string global, events.string("zmqEndpoint", ""));
  if (!global.empty()) sources.push_back({global, std::nullopt});
  KVTIER_ASSIGN_OR_RETURN(bool discover, events.boolean("discoverPods", global.empty()));
  KVTIER_ASSIGN_OR_RETURN(PluginParams discovery, events.section("podDiscoveryConfig"));
  KVTIER_ASSIGN_OR_RETURN(int64_t port, discovery.integer("socketPort", 5557, 1, 65535));
  discovery.warn_unread();
  if (discover) {
    for (size_t i = 0; i < endpoints.size(); ++i) {
      if (covered[i]) continue;
      const std::string& host = endpoints[i].host;
      sources.push_back({host.find(':') != std::string::npos
                             ? fmt::format("tcp://[{}]:{}", host, port)
                             : fmt::format("tcp://{}:{}", host, port),
                         i});
    }
  }
  std::map<std::string, size_t> seen;
  for (const auto& s : sources) {
    if (!s.endpoint) continue;
    auto [it, fresh] = seen.emplace(s.address, *s.endpoint);
    if (!fresh) {
      return events.error(
          "endpoints",
          fmt::format("is needed: endpoints {} and {} would both read KV events from {}; map "
                      "each endpoint to its own address",
                      endpoints[it->second].id(), endpoints[*s.endpoint].id(), s.address));
    }
  }
  return sources;
}

Expected<Plugin> build_precise_scorer(PluginParams& p,
                                      const std::vector<EndpointAddress>& endpoints) {
  PrecisePrefixCacheScorerOptions o;
  KVTIER_ASSIGN_OR_RETURN(PluginParams indexer, p.section("indexerConfig"));
  // tokenProcessorConfig moved from indexerConfig to the top level in later llm-d releases.
  kv::BlockHashConfig hash;
  std::optional<std::string> seed;
  for (PluginParams* parent : {&indexer, &p}) {
    KVTIER_ASSIGN_OR_RETURN(PluginParams tokens, parent->section("tokenProcessorConfig"));
    KVTIER_ASSIGN_OR_RETURN(o.block_size, read_block_size(tokens, o.block_size));
    KVTIER_ASSIGN_OR_RETURN(hash.algo, read_hash_algo(tokens, hash.algo));
    if (tokens.has("hashSeed")) {
      KVTIER_ASSIGN_OR_RETURN(seed, tokens.string("hashSeed", ""));
    }
    tokens.warn_unread();
  }
  // llm-d's hashSeed defaults to "": the root an engine gets from PYTHONHASHSEED set but empty.
  hash.seed = seed.value_or("");
  if (seed && !seed->empty() && !kv::hash_algo_is_seeded(hash.algo)) {
    spdlog::warn("plugin {}: hashSeed '{}' has no effect on {} keys; engines seeded with "
                 "PYTHONHASHSEED run a CBOR algorithm (set hashAlgorithm, e.g. sha256_cbor)",
                 p.plugin_name(), *seed, kv::hash_algo_name(hash.algo));
  }
  o.hasher = std::make_shared<const kv::BlockHasher>(std::move(hash));
  KVTIER_ASSIGN_OR_RETURN(PluginParams block_index, indexer.section("kvBlockIndexConfig"));
  KVTIER_ASSIGN_OR_RETURN(int64_t max_blocks, block_index.integer("maxPrefixBlocksToMatch",
                                                                  int64_t(o.max_prefix_blocks), 1));
  KVTIER_ASSIGN_OR_RETURN(max_blocks, p.integer("maxPrefixBlocksToMatch", max_blocks, 1));
  o.max_prefix_blocks = size_t(max_blocks);
  KVTIER_ASSIGN_OR_RETURN(PluginParams in_memory, block_index.section("inMemoryConfig"));
  KVTIER_ASSIGN_OR_RETURN(int64_t size,
                          in_memory.integer("size", int64_t(o.max_keys_per_endpoint), 1));
  o.max_keys_per_endpoint = size_t(size);
  in_memory.raw("podCacheSize");
  in_memory.warn_unread();
  block_index.raw("enableMetrics");
  block_index.raw("metricsLoggingInterval");
  block_index.warn_unread();
  KVTIER_ASSIGN_OR_RETURN(o.tiers, read_tiers(indexer));
  // The router's own tokenizer (--model / --tokenizer) stands in for llm-d's tokenizer pool.
  indexer.raw("tokenizersPoolConfig");
  indexer.raw("prefixStoreConfig");
  indexer.warn_unread();

  KVTIER_ASSIGN_OR_RETURN(PluginParams events, p.section("kvEventsConfig"));
  KVTIER_ASSIGN_OR_RETURN(o.sources, read_event_sources(events, endpoints));
  KVTIER_ASSIGN_OR_RETURN(o.topic_filter, events.string("topicFilter", ""));
  events.raw("concurrency");
  events.raw("engineType");
  events.warn_unread();

  KVTIER_ASSIGN_OR_RETURN(o.speculative_indexing, p.boolean("speculativeIndexing", false));
  KVTIER_ASSIGN_OR_RETURN(o.speculative_ttl,
                          read_duration(p, "speculativeTTL", o.speculative_ttl));
  KVTIER_ASSIGN_OR_RETURN(std::string norm, p.string("scoreNormalization", "totalBlocks"));
  if (norm == "totalBlocks") {
    o.normalization = PrecisePrefixCacheScorerOptions::Normalization::kTotalBlocks;
  } else if (norm == "minMax") {
    o.normalization = PrecisePrefixCacheScorerOptions::Normalization::kMinMax;
  } else {
    return p.error("scoreNormalization",
                   fmt::format("must be 'totalBlocks' or 'minMax', got '{}'", norm));
  }
  std::vector<std::string> ids;
  for (const auto& e : endpoints) ids.push_back(e.id());
  auto scorer = PrecisePrefixCacheScorer::create(std::move(o), std::move(ids));
  if (!scorer) {
    return invalid_argument("plugin {}: {}", p.plugin_name(), scorer.error().message());
  }
  Plugin plugin;
  plugin.scorer = std::shared_ptr<Scorer>(std::move(*scorer));
  return plugin;
}

std::vector<EndpointLabels> labels_of(const std::vector<EndpointAddress>& endpoints) {
  std::vector<EndpointLabels> labels;
  for (const auto& e : endpoints) labels.push_back(e.labels);
  return labels;
}

Expected<std::set<std::string>> read_string_set(PluginParams& p, std::string_view key) {
  std::set<std::string> out;
  const nlohmann::json* list = p.raw(key);
  if (!list) return out;
  if (!list->is_array()) return p.error(key, fmt::format("must be a list of strings, got {}",
                                                         list->dump()));
  for (const auto& v : *list) {
    if (!v.is_string()) {
      return p.error(key, fmt::format("must be a list of strings, got {}", v.dump()));
    }
    out.insert(v.get<std::string>());
  }
  return out;
}

Expected<Plugin> build_by_label(PluginParams& p, const std::vector<EndpointAddress>& endpoints) {
  KVTIER_ASSIGN_OR_RETURN(std::string label, p.string("label", ""));
  if (label.empty()) return p.error("label", "is required: the label key to filter on");
  KVTIER_ASSIGN_OR_RETURN(std::set<std::string> values, read_string_set(p, "validValues"));
  KVTIER_ASSIGN_OR_RETURN(bool allows_no_label, p.boolean("allowsNoLabel", false));
  Plugin plugin;
  plugin.filter = std::make_unique<ByLabelFilter>("by-label", std::move(label), std::move(values),
                                                  allows_no_label, labels_of(endpoints));
  return plugin;
}

// Kubernetes' metav1.LabelSelector: matchLabels {key: value}, matchExpressions [{key, operator
// In|NotIn|Exists|DoesNotExist, values}], checked as LabelSelectorAsSelector checks them.
Expected<Plugin> build_by_label_selector(PluginParams& p,
                                         const std::vector<EndpointAddress>& endpoints) {
  std::vector<LabelRequirement> requirements;
  if (const nlohmann::json* match = p.raw("matchLabels")) {
    if (!match->is_object()) return p.error("matchLabels", "must map label keys to values");
    for (auto it = match->begin(); it != match->end(); ++it) {
      if (!it->is_string()) {
        return p.error("matchLabels." + it.key(),
                       fmt::format("must be a string, got {}", it->dump()));
      }
      requirements.push_back({it.key(), LabelRequirement::Op::kIn, {it->get<std::string>()}});
    }
  }
  if (const nlohmann::json* list = p.raw("matchExpressions")) {
    if (!list->is_array()) {
      return p.error("matchExpressions", "must be a list of {key, operator, values}");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& e = (*list)[i];
      const std::string key = fmt::format("matchExpressions[{}]", i);
      if (!e.is_object() || !e.contains("key") || !e["key"].is_string() ||
          e["key"].get<std::string>().empty()) {
        return p.error(key, "must be a map with a string 'key'");
      }
      LabelRequirement r;
      r.key = e["key"].get<std::string>();
      const std::string op = e.value("operator", "");
      if (op == "In") {
        r.op = LabelRequirement::Op::kIn;
      } else if (op == "NotIn") {
        r.op = LabelRequirement::Op::kNotIn;
      } else if (op == "Exists") {
        r.op = LabelRequirement::Op::kExists;
      } else if (op == "DoesNotExist") {
        r.op = LabelRequirement::Op::kDoesNotExist;
      } else {
        return p.error(key + ".operator",
                       fmt::format("must be In, NotIn, Exists or DoesNotExist, got '{}'", op));
      }
      if (e.contains("values") && !e["values"].is_null()) {
        if (!e["values"].is_array()) return p.error(key + ".values", "must be a list of strings");
        for (const auto& v : e["values"]) {
          if (!v.is_string()) return p.error(key + ".values", "must be a list of strings");
          r.values.insert(v.get<std::string>());
        }
      }
      const bool set_op = r.op == LabelRequirement::Op::kIn || r.op == LabelRequirement::Op::kNotIn;
      if (set_op && r.values.empty()) {
        return p.error(key + ".values", fmt::format("must be non-empty for operator {}", op));
      }
      if (!set_op && !r.values.empty()) {
        return p.error(key + ".values", fmt::format("must be empty for operator {}", op));
      }
      requirements.push_back(std::move(r));
    }
  }
  Plugin plugin;
  plugin.filter = std::make_unique<LabelSelectorFilter>(std::move(requirements),
                                                        labels_of(endpoints));
  return plugin;
}

// no-hit-lru-scorer reads another plugin's scores: built once every other plugin exists.
Expected<Plugin> build_no_hit_lru(PluginParams& p, const EndpointPickerConfig& config,
                                  const std::map<std::string, Plugin>& built) {
  KVTIER_ASSIGN_OR_RETURN(std::string prefix_name,
                          p.string("prefixPluginName", "prefix-cache-scorer"));
  KVTIER_ASSIGN_OR_RETURN(int64_t lru_size,
                          p.integer("lruSize", int64_t(NoHitLruScorer::kDefaultLruSize), 1));
  // Names the prefill profile whose pick is also recorded; without P/D there is none.
  p.raw("prefillProfile");
  const PluginSpec* prefix = config.find_plugin(prefix_name);
  if (!prefix || !is_prefix_scorer(prefix->type)) {
    std::string choices;
    for (const auto& spec : config.plugins) {
      if (is_prefix_scorer(spec.type)) choices += (choices.empty() ? "'" : ", '") + spec.name + "'";
    }
    return p.error("prefixPluginName",
                   fmt::format("names '{}', which is not a prefix-cache-scorer or "
                               "precise-prefix-cache-scorer plugin of the config (prefix "
                               "plugins there: {})",
                               prefix_name, choices.empty() ? "none" : choices));
  }
  Plugin plugin;
  plugin.scorer = std::make_shared<NoHitLruScorer>(prefix_name, built.at(prefix_name).scorer,
                                                   size_t(lru_size));
  return plugin;
}

Expected<Plugin> build_plugin(const PluginSpec& spec,
                              const std::vector<EndpointAddress>& endpoints) {
  PluginParams p(spec);
  Plugin plugin;
  const std::string& t = spec.type;
  if (t == "queue-scorer") {
    plugin.scorer = std::make_shared<QueueScorer>();
  } else if (t == "kv-cache-utilization-scorer") {
    plugin.scorer = std::make_shared<KvCacheUtilizationScorer>();
  } else if (t == "load-aware-scorer") {
    KVTIER_ASSIGN_OR_RETURN(int64_t threshold,
                            p.integer("threshold", LoadAwareScorer::kDefaultThreshold, 1));
    plugin.scorer = std::make_shared<LoadAwareScorer>(threshold);
  } else if (t == "prefix-cache-scorer") {
    KVTIER_ASSIGN_OR_RETURN(plugin, build_prefix_scorer(p, endpoints.size()));
  } else if (t == "precise-prefix-cache-scorer") {
    KVTIER_ASSIGN_OR_RETURN(plugin, build_precise_scorer(p, endpoints));
  } else if (t == "active-request-scorer") {
    KVTIER_ASSIGN_OR_RETURN(
        std::chrono::milliseconds timeout,
        read_duration(p, "requestTimeout", ActiveRequestScorer::kDefaultRequestTimeout));
    plugin.scorer = std::make_shared<ActiveRequestScorer>(endpoints.size(), timeout);
  } else if (t == "session-affinity-scorer") {
    KVTIER_ASSIGN_OR_RETURN(int64_t max_age, p.integer("maxAge", 0, 0));
    plugin.scorer = std::make_shared<SessionAffinityScorer>(max_age);
  } else if (t == "max-score-picker" || t == "random-picker" || t == "weighted-random-picker") {
    // The router orders every candidate (the rest are retries), so this only gets checked.
    KVTIER_ASSIGN_OR_RETURN(int64_t n, p.integer("maxNumOfEndpoints", 1, 1));
    if (t == "max-score-picker") {
      plugin.picker = std::make_unique<MaxScorePicker>();
    } else if (t == "random-picker") {
      plugin.picker = std::make_unique<RandomPicker>();
    } else {
      plugin.picker = std::make_unique<WeightedRandomPicker>(size_t(n));
    }
  } else if (t == "by-label") {
    KVTIER_ASSIGN_OR_RETURN(plugin, build_by_label(p, endpoints));
  } else if (t == "by-label-selector") {
    KVTIER_ASSIGN_OR_RETURN(plugin, build_by_label_selector(p, endpoints));
  } else if (t == "decode-filter") {
    plugin.filter = ByLabelFilter::decode(labels_of(endpoints));
  } else if (t == "prefill-filter") {
    plugin.filter = ByLabelFilter::prefill(labels_of(endpoints));
  } else if (t == "single-profile-handler") {
    plugin.handler = true;
  } else if (t == "pd-profile-handler") {
    return invalid_argument(
        "plugin '{}': type 'pd-profile-handler' is not supported by kvtier route: prefill/decode "
        "disaggregation needs llm-d's routing sidecar beside each decode engine and KV transfer "
        "between engines (NIXL), which kvtier route and kvtier serve do not have; use "
        "single-profile-handler with one scheduling profile",
        spec.name);
  } else {
    return invalid_argument("plugin '{}': type '{}' is not supported by kvtier route (supported: "
                            "{})",
                            spec.name, t, kSupportedTypes);
  }
  p.warn_unread();
  return plugin;
}

}  // namespace

Expected<std::unique_ptr<Scheduler>> build_scheduler(const EndpointPickerConfig& config,
                                                     const std::vector<EndpointAddress>& endpoints,
                                                     uint64_t seed) {
  std::map<std::string, Plugin> plugins;
  std::vector<std::string> handlers;
  for (const auto& spec : config.plugins) {
    if (spec.type == "no-hit-lru-scorer") continue;
    auto built = build_plugin(spec, endpoints);
    if (!built) {
      return invalid_argument("{}: {}", config.source, built.error().message());
    }
    if (built->handler) handlers.push_back(spec.name);
    plugins.emplace(spec.name, std::move(*built));
  }
  for (const auto& spec : config.plugins) {
    if (spec.type != "no-hit-lru-scorer") continue;
    PluginParams p(spec);
    auto built = build_no_hit_lru(p, config, plugins);
    if (!built) {
      return invalid_argument("{}: {}", config.source, built.error().message());
    }
    p.warn_unread();
    plugins.emplace(spec.name, std::move(*built));
  }
  if (handlers.size() > 1) {
    return invalid_argument("{}: plugins '{}' and '{}' are both profile handlers; a config has "
                            "at most one",
                            config.source, handlers[0], handlers[1]);
  }
  if (config.profiles.size() != 1) {
    std::string names;
    for (const auto& prof : config.profiles) {
      names += (names.empty() ? "'" : ", '") + prof.name + "'";
    }
    return invalid_argument(
        "{}: the config has {} scheduling profiles ({}), but {} runs exactly one; several "
        "profiles need a handler that chooses among them, such as llm-d's pd-profile-handler "
        "(prefill/decode disaggregation), which kvtier route does not support",
        config.source, config.profiles.size(), names,
        handlers.empty() ? std::string("single-profile-handler (the default)")
                         : fmt::format("'{}' (single-profile-handler)", handlers[0]));
  }
  const SchedulingProfileSpec& profile = config.profiles.front();
  std::vector<WeightedScorer> scorers;
  std::vector<NamedFilter> filters;
  std::unique_ptr<Picker> picker;
  std::set<std::string> used;
  for (const auto& ref : profile.plugins) {
    Plugin& plugin = plugins.at(ref.plugin_ref);
    used.insert(ref.plugin_ref);
    if (plugin.scorer) {
      scorers.push_back({ref.plugin_ref, ref.weight.value_or(1.0), plugin.scorer});
    } else if (plugin.picker) {
      if (picker) {
        return invalid_argument("{}: scheduling profile '{}' names two pickers", config.source,
                                profile.name);
      }
      picker = std::move(plugin.picker);
    } else if (plugin.filter) {
      filters.push_back({ref.plugin_ref, std::move(plugin.filter)});
    }
    if (!plugin.scorer && ref.weight) {
      spdlog::warn("{}: scheduling profile '{}': weight of '{}' has no effect (not a scorer)",
                   config.source, profile.name, ref.plugin_ref);
    }
  }
  for (const auto& spec : config.plugins) {
    const Plugin& plugin = plugins.at(spec.name);
    if (!used.count(spec.name) && !plugin.handler) {
      spdlog::warn("{}: plugin '{}' is not referenced by scheduling profile '{}'", config.source,
                   spec.name, profile.name);
    }
  }
  if (!picker) picker = std::make_unique<MaxScorePicker>();
  if (scorers.empty() && picker->type() == "max-score-picker") {
    spdlog::warn("{}: scheduling profile '{}' has no scorer: every endpoint ties",
                 config.source, profile.name);
  }
  auto scheduler =
      std::make_unique<Scheduler>(profile.name, std::move(scorers), std::move(picker), seed);
  for (auto& f : filters) scheduler->add_filter(std::move(f.name), std::move(f.filter));
  return scheduler;
}

}  // namespace kvtier::router
