#!/usr/bin/env bash
# What prefix-aware routing is worth: four `kvtier serve` engines on the tiny model, each with a
# KV cache too small for every shared prefix, behind `kvtier route`, driven by `kvtier bench`
# with several shared prefixes (prefix_count > 1). Run once with the default profile
# (queue 2, kv-cache-utilization 2, prefix-cache 3) and once with random picking; prints each
# run's bench summary and the engines' prefix cache hit rate.
#
# Usage: benchmarks/router_prefix_value.sh [KVTIER_BIN] [OUT_DIR]
# Environment: SECONDS_PER_RUN (60), CONCURRENCY (8), PREFIX_TOKENS (1024), PREFIX_COUNT (8),
#              PROMPT_TOKENS (64), OUTPUT_TOKENS (16), KV_BLOCKS (400 per engine), BASE_PORT (8100)
set -euo pipefail
bin=${1:-build/kvtier}
out=${2:-$(mktemp -d /tmp/router-value.XXXXXX)}
seconds=${SECONDS_PER_RUN:-60}
concurrency=${CONCURRENCY:-8}
base=${BASE_PORT:-8100}
mkdir -p "$out"
model="$out/tiny"
[ -f "$model/config.json" ] || "$bin" make-model --preset tiny --out "$model" >"$out/make-model.log" 2>&1

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

endpoints=()
for i in 1 2 3 4; do
  port=$((base + i))
  "$bin" serve "$model" --host 127.0.0.1 --port "$port" --num-gpu-blocks-override "${KV_BLOCKS:-400}" \
    --max-num-seqs 16 >"$out/serve$i.log" 2>&1 &
  pids+=($!)
  endpoints+=("http://127.0.0.1:$port")
done
for i in 1 2 3 4; do
  until grep -q "Application startup complete" "$out/serve$i.log"; do sleep 0.2; done
done

cat >"$out/random.yaml" <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: random-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: random-picker
YAML

data=$(printf '{"prompt_tokens":%d,"output_tokens":%d,"prefix_tokens":%d,"prefix_count":%d}' \
  "${PROMPT_TOKENS:-64}" "${OUTPUT_TOKENS:-16}" "${PREFIX_TOKENS:-1024}" "${PREFIX_COUNT:-8}")

counter() {  # sum of a counter over the four engines
  local total=0
  for i in 1 2 3 4; do
    v=$(curl -s "http://127.0.0.1:$((base + i))/metrics" | awk -v m="$1" '$1 ~ "^"m"(\\{|$)" {s+=$2} END {print s+0}')
    total=$(awk -v a="$total" -v b="$v" 'BEGIN {print a+b}')
  done
  echo "$total"
}

for profile in prefix-aware random; do
  config=()
  [ "$profile" = random ] && config=(--config "$out/random.yaml")
  "$bin" route "${config[@]}" --model "$model" --host 127.0.0.1 --port "$base" \
    --endpoint "$(IFS=,; echo "${endpoints[*]}")" >"$out/route-$profile.log" 2>&1 &
  route=$!
  until curl -sf "http://127.0.0.1:$base/health" >/dev/null; do sleep 0.2; done
  q0=$(counter vllm:prefix_cache_queries_total); h0=$(counter vllm:prefix_cache_hits_total)
  "$bin" bench --target "http://127.0.0.1:$base" --data "$data" --rate-type concurrent \
    --rate "$concurrency" --max-seconds "$seconds" --processor "$model" \
    --output-dir "$out/$profile" --disable-console-interactive >"$out/bench-$profile.log" 2>&1
  q1=$(counter vllm:prefix_cache_queries_total); h1=$(counter vllm:prefix_cache_hits_total)
  kill "$route"; wait "$route" 2>/dev/null || true
  echo "== $profile: prefix cache hit rate $(awk -v q=$((${q1%.*} - ${q0%.*})) -v h=$((${h1%.*} - ${h0%.*})) 'BEGIN {printf "%.1f%% (%d of %d prompt tokens)", q ? 100*h/q : 0, h, q}')"
  tail -n 25 "$out/bench-$profile.log"
done
echo "results in $out"
