#!/usr/bin/env python3
"""Reference block keys for vLLM's prefix-caching hashes, written without kvtier's C++ code.

Prints the test vectors that tests/kv/vllm_block_hash_test.cpp pins. Only the standard library is
used (hashlib); CBOR is encoded by hand below, following RFC 8949 section 4.2.1 (core deterministic
encoding: shortest argument for integers and lengths, definite lengths) as cbor2.dumps(...,
canonical=True) produces it for the types vLLM hashes: int, bytes, str, tuple/list and None.

What vLLM does (v0.11, vllm/v1/core/kv_cache_utils.py and vllm/utils/hashing.py):
  NONE_HASH = sha256_cbor(PYTHONHASHSEED) when the variable is set (the string itself, CBOR text),
              else os.urandom(32)                                           (init_none_hash)
  block i   = sha256_cbor((parent bytes or NONE_HASH, tuple(token ids), extra_keys))
              extra_keys = None, or a tuple: (cache_salt,) on the first block only
                                                                            (hash_block_tokens)
  event key = int.from_bytes(digest, "big") & (2**64 - 1): the digest's last 8 bytes, big-endian,
              what KV events carry (maybe_convert_block_hash, VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1)
vLLM v0.10's sha256_cbor_64bit, which llm-d-kv-cache-manager's token processor reproduces
(pkg/kvcache/kvblock/token_processor.go: CBOR of [parent uint64, tokens, extra], SHA-256, the
last 8 bytes big-endian; the root from CBOR of hashSeed), keeps only those 64 bits at every step,
so the parent is a CBOR integer instead of a byte string.

Run: python3 tools/reference/vllm_block_hash_vectors.py
"""

import hashlib
import json
import struct


def _head(major: int, n: int) -> bytes:
    if n < 0:
        raise ValueError("negative argument")
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 1 << 8:
        return bytes([(major << 5) | 24, n])
    if n < 1 << 16:
        return bytes([(major << 5) | 25]) + struct.pack(">H", n)
    if n < 1 << 32:
        return bytes([(major << 5) | 26]) + struct.pack(">I", n)
    if n < 1 << 64:
        return bytes([(major << 5) | 27]) + struct.pack(">Q", n)
    raise ValueError("integer needs a bignum")


def cbor(value) -> bytes:
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        data = value.encode("utf-8")
        return _head(3, len(data)) + data
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    raise TypeError(f"no CBOR encoding here for {type(value).__name__}")


def sha256_cbor(value) -> bytes:
    return hashlib.sha256(cbor(value)).digest()


def sha256_cbor_64bit(value) -> int:
    return int.from_bytes(sha256_cbor(value), "big") & ((1 << 64) - 1)


def key(digest: bytes) -> int:
    return int.from_bytes(digest, "big") & ((1 << 64) - 1)


def chain(tokens, block_size, seed, salt, algo):
    if algo == "sha256_cbor":
        parent = sha256_cbor(seed)
    else:
        parent = sha256_cbor_64bit(seed)
    root = parent
    keys, digests = [], []
    for i in range(len(tokens) // block_size):
        block = tuple(tokens[i * block_size:(i + 1) * block_size])
        extra = (salt,) if (i == 0 and salt) else None
        if algo == "sha256_cbor":
            parent = sha256_cbor((parent, block, extra))
            digests.append(parent.hex())
            keys.append(key(parent))
        else:
            parent = sha256_cbor_64bit((parent, block, extra))
            keys.append(parent)
    return root, keys, digests


def main():
    # Fixed token blocks: small ids, ids that need 1, 2 and 4 CBOR bytes, a Qwen3-sized id.
    tokens = [1, 23, 24, 255, 256, 65535, 65536, 151643, 0, 7, 100, 1000, 10000, 100000, 42, 151935]
    tokens += [(i * 7919) % 151936 for i in range(32)]  # 3 blocks of 16
    cases = []
    for algo in ("sha256_cbor", "sha256_cbor_64bit"):
        for seed in ("42", "0", ""):
            for salt in ("", "tenant-a"):
                root, keys, digests = chain(tokens, 16, seed, salt, algo)
                case = {"algo": algo, "seed": seed, "cache_salt": salt,
                        "root": root.hex() if isinstance(root, bytes) else f"{root:016x}",
                        "keys": [f"{k:016x}" for k in keys]}
                if digests:
                    case["digests"] = digests
                cases.append(case)
    # One block with a block size that is not 16, and CBOR bytes for the encoder test.
    root, keys, _ = chain(list(range(1000, 1004)), 4, "42", "", "sha256_cbor")
    cases.append({"algo": "sha256_cbor", "seed": "42", "cache_salt": "", "block_size": 4,
                  "root": root.hex(), "keys": [f"{k:016x}" for k in keys]})
    encoding = cbor((bytes(range(32)), (0, 23, 24, 255, 256, 65535, 65536, 4294967296, -1, -25),
                     ("salt", None)))
    print(json.dumps({"tokens": tokens, "cases": cases, "cbor_example": encoding.hex()}, indent=1))


if __name__ == "__main__":
    main()
