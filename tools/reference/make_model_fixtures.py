#!/usr/bin/env python3
"""Reference fixtures for kvtier's Qwen3 forward pass, made by Hugging Face transformers itself.

Builds small Qwen3ForCausalLM checkpoints (Qwen3Config, fixed torch seeds), saves them with
save_pretrained, reloads each from disk in float64 and records, for random prompts, the greedy
continuation and the top-5 log-probabilities of every step. The C++ tests (tests/model/
reference_test.cpp) load the same folders and must reproduce them.

    python3 tools/reference/make_model_fixtures.py tests/fixtures/model

writes OUT/<name>/{config.json, *.safetensors[, model.safetensors.index.json], fixtures.json}.
Needs torch and transformers (run on the GPU machine; no network).
"""
import argparse
import inspect
import json
import math
import os
import shutil
import sys

import torch
import transformers
from transformers import Qwen3Config, Qwen3ForCausalLM

VOCAB = 512
NEW_TOKENS = 16
TOP_K = 5
PROMPT_LENGTHS = [1500, 1023, 257, 64, 17, 1]

MODELS = [
    # bf16, tied embeddings, head_dim 32 != hidden 64 / 4 heads, GQA 4 on 2; one file.
    dict(name="qwen3_bf16_tied", dtype=torch.bfloat16, tie=True, hidden=64, inter=96, layers=2,
         heads=4, kv_heads=2, head_dim=32, rope_theta=1e6, shard=None, seed=1),
    # fp32, untied lm_head, 3 layers, sharded into several files with an index.
    dict(name="qwen3_fp32_sharded", dtype=torch.float32, tie=False, hidden=32, inter=64, layers=3,
         heads=4, kv_heads=2, head_dim=16, rope_theta=1e6, shard="100KB", seed=2),
    # fp16, untied, a smaller rope_theta; one file.
    dict(name="qwen3_fp16_untied", dtype=torch.float16, tie=False, hidden=32, inter=48, layers=2,
         heads=2, kv_heads=1, head_dim=32, rope_theta=1e4, shard=None, seed=3),
]


def make_config(m):
    kwargs = dict(vocab_size=VOCAB, hidden_size=m["hidden"], intermediate_size=m["inter"],
                  num_hidden_layers=m["layers"], num_attention_heads=m["heads"],
                  num_key_value_heads=m["kv_heads"], head_dim=m["head_dim"],
                  max_position_embeddings=4096, rms_norm_eps=1e-6,
                  tie_word_embeddings=m["tie"], bos_token_id=1, eos_token_id=2,
                  attention_bias=False, use_sliding_window=False)
    params = inspect.signature(Qwen3Config.__init__).parameters
    if "rope_parameters" in params:
        kwargs["rope_parameters"] = {"rope_type": "default", "rope_theta": m["rope_theta"]}
    else:
        kwargs["rope_theta"] = m["rope_theta"]
    return Qwen3Config(**kwargs)


def scale_weights(model, m):
    """Rescales the default init (std 0.02, a near-uniform next-token soup) so distributions are
    peaked and context-dependent, like kvtier's make-model (src/model/random_init.h), and so every
    norm weight differs from 1 (a swapped or skipped norm shows up in the logits)."""
    g = torch.Generator().manual_seed(1000 + m["seed"])
    hidden = m["hidden"]
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan_in = p.shape[-1]
            if name.endswith("embed_tokens.weight") or name.endswith("lm_head.weight"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif name == "model.norm.weight":
                scale = 6.0 / math.sqrt(hidden)
                p.copy_(scale * (1 + 0.1 * torch.randn(p.shape, generator=g)))
            elif name.endswith("q_norm.weight") or name.endswith("k_norm.weight"):
                p.copy_(2.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("o_proj.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / math.sqrt(fan_in)))
            elif name.endswith("down_proj.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * (4.0 / math.sqrt(fan_in)))
            elif name.endswith("proj.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / math.sqrt(fan_in)))
            else:
                raise SystemExit(f"unexpected parameter {name}")


def build(m, folder):
    torch.manual_seed(m["seed"])
    model = Qwen3ForCausalLM(make_config(m)).to(torch.float32)
    scale_weights(model, m)
    model = model.to(m["dtype"])
    if os.path.exists(folder):
        shutil.rmtree(folder)
    kwargs = {"max_shard_size": m["shard"]} if m["shard"] else {}
    model.save_pretrained(folder, **kwargs)
    # The loaders read the dtype from config.json; make sure it is there under one of its names.
    cfg_path = os.path.join(folder, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if "dtype" not in cfg and "torch_dtype" not in cfg:
        cfg["torch_dtype"] = str(m["dtype"]).replace("torch.", "")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
    return cfg


@torch.no_grad()
def reference(folder, device):
    model = Qwen3ForCausalLM.from_pretrained(folder, attn_implementation="eager")
    model = model.to(device=device, dtype=torch.float64).eval()
    return model


@torch.no_grad()
def greedy(model, prompt, device):
    ids = torch.tensor([prompt], dtype=torch.long, device=device)
    out, top_ids, top_lps = [], [], []
    for _ in range(NEW_TOKENS):
        logits = model(input_ids=ids, use_cache=False).logits[0, -1].to(torch.float64)
        lp = torch.log_softmax(logits, dim=-1)
        vals, idx = torch.topk(lp, TOP_K)
        top_ids.append([int(i) for i in idx.tolist()])
        top_lps.append([float(v) for v in vals.tolist()])
        nxt = int(idx[0])
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]], device=device)], dim=1)
    return out, top_ids, top_lps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="folder for the fixtures, e.g. tests/fixtures/model")
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.out, exist_ok=True)
    for m in MODELS:
        folder = os.path.join(args.out, m["name"])
        cfg = build(m, folder)
        model = reference(folder, device)
        g = torch.Generator().manual_seed(500 + m["seed"])
        prompts = [torch.randint(0, VOCAB, (n,), generator=g).tolist() for n in PROMPT_LENGTHS]
        cases = []
        for prompt in prompts:
            out, top_ids, top_lps = greedy(model, prompt, device)
            cases.append({"prompt_ids": prompt, "output_ids": out, "top_ids": top_ids,
                          "top_logprobs": top_lps})
        margins = [c["top_logprobs"][s][0] - c["top_logprobs"][s][1]
                   for c in cases for s in range(NEW_TOKENS)]
        fixture = {
            "model": m["name"],
            "weights_dtype": str(m["dtype"]).replace("torch.", ""),
            "tie_word_embeddings": m["tie"],
            "new_tokens": NEW_TOKENS,
            "top_k": TOP_K,
            "reference": "transformers Qwen3ForCausalLM in float64, eager attention, no KV cache",
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "device": device,
            "cases": cases,
        }
        with open(os.path.join(folder, "fixtures.json"), "w") as f:
            json.dump(fixture, f)
        size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
        small = sum(1 for x in margins if x <= 0.05)
        print(f"{m['name']}: {len(cases)} prompts, files {sorted(os.listdir(folder))}, {size} bytes, "
              f"margin min {min(margins):.3f} median {sorted(margins)[len(margins) // 2]:.3f}, "
              f"{small} of {len(margins)} steps <= 0.05 nats; config keys {sorted(cfg)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
