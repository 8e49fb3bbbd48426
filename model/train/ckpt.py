"""The model checkpoint that travels back from the GPU machine and into the exporter (model/export/checkpoint.ts).

Standard library only. A checkpoint is a folder:
    model.json       {"format": "quest-lens-checkpoint", "version": 1, "config": {...}, "tensors": [...],
                      "parts": [{"file", "bytes", "sha256"}], "training": {...}}
    weights-NN.bin   the tensors' bytes, one stream in tensor order, cut into parts of at most PART_BYTES
                     (the GPU machine returns files of at most 16 MiB)
Each tensor: {"name" (GGUF name), "dtype" ("f32" | "bf16" | "q8_0"), "shape" [rows, cols] or [n], "offset", "bytes"}.
Shapes are row-major with the last dimension contiguous: PyTorch's (out, in) for a Linear weight, which is GGUF's
dims [in, out]. q8_0 is ggml's block_q8_0 along each row (blocks of 32: f16 scale, 32 int8; value = scale * q).
"""
import hashlib
import json
import math
import os
import random
import shutil
import struct
import sys
from array import array

FORMAT = 'quest-lens-checkpoint'
VERSION = 1
PART_BYTES = 16 * 1024 * 1024
DTYPES = ('f32', 'bf16', 'q8_0')


class CheckpointError(Exception):
    pass


def tensor_bytes(dtype, shape):
    n = 1
    for d in shape:
        n *= d
    if dtype == 'f32':
        return 4 * n
    if dtype == 'bf16':
        return 2 * n
    if dtype == 'q8_0':
        if shape[-1] % 32:
            raise CheckpointError(f'q8_0 rows must be whole blocks of 32, last dim is {shape[-1]}')
        return n // 32 * 34
    raise CheckpointError(f'unknown dtype {dtype!r}')


def llama_tensor_shapes(config):
    """Every tensor of the model, GGUF names, in file order, with (rows, cols) shapes."""
    d, f = config['dim'], config['ffn']
    q = config['heads'] * config['headDim']
    kv = config['kvHeads'] * config['headDim']
    out = [('token_embd.weight', [config['vocab'], d]), ('output_norm.weight', [d])]
    for i in range(config['layers']):
        b = f'blk.{i}.'
        out += [(b + 'attn_norm.weight', [d]), (b + 'attn_q.weight', [q, d]), (b + 'attn_k.weight', [kv, d]),
                (b + 'attn_v.weight', [kv, d]), (b + 'attn_output.weight', [d, q]), (b + 'ffn_norm.weight', [d]),
                (b + 'ffn_gate.weight', [f, d]), (b + 'ffn_up.weight', [f, d]), (b + 'ffn_down.weight', [d, f])]
    return out


def write_checkpoint(folder, config, tensors, training=None, part_bytes=PART_BYTES):
    """tensors: [(name, dtype, shape, bytes)] in order. Writes into folder + '.tmp', then renames (never half-written)."""
    tmp = folder.rstrip('/') + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    entries = []
    offset = 0
    stream = []
    for name, dtype, shape, data in tensors:
        want = tensor_bytes(dtype, shape)
        if len(data) != want:
            raise CheckpointError(f'tensor {name}: {len(data)} bytes, {dtype} {shape} needs {want}')
        entries.append({'name': name, 'dtype': dtype, 'shape': list(shape), 'offset': offset, 'bytes': len(data)})
        stream.append(data)
        offset += len(data)
    parts = []
    part = bytearray()

    def flush():
        name = f'weights-{len(parts):02d}.bin'
        with open(os.path.join(tmp, name), 'wb') as out:
            out.write(part)
        parts.append({'file': name, 'bytes': len(part), 'sha256': hashlib.sha256(part).hexdigest()})
        part.clear()

    for data in stream:
        view = memoryview(data)
        while len(view):
            take = min(len(view), part_bytes - len(part))
            part += view[:take]
            view = view[take:]
            if len(part) == part_bytes:
                flush()
    if part or not parts:
        flush()
    header = {'format': FORMAT, 'version': VERSION, 'config': config, 'tensors': entries, 'parts': parts, 'training': training or {}}
    with open(os.path.join(tmp, 'model.json'), 'w', encoding='utf-8') as out:
        json.dump(header, out, indent=1)
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp, folder)
    return header


def read_checkpoint(folder):
    """(header, {name: (dtype, shape, bytes)}); checks sizes and hashes."""
    with open(os.path.join(folder, 'model.json'), encoding='utf-8') as f:
        header = json.load(f)
    if header.get('format') != FORMAT or header.get('version') != VERSION:
        raise CheckpointError(f'{folder}: format {header.get("format")} v{header.get("version")}, expected {FORMAT} v{VERSION}')
    blob = bytearray()
    for p in header['parts']:
        with open(os.path.join(folder, p['file']), 'rb') as f:
            data = f.read()
        if len(data) != p['bytes'] or hashlib.sha256(data).hexdigest() != p['sha256']:
            raise CheckpointError(f'{folder}/{p["file"]}: size or sha256 differs from model.json (truncated transfer?)')
        blob += data
    tensors = {}
    for t in header['tensors']:
        if t['offset'] + t['bytes'] > len(blob) or tensor_bytes(t['dtype'], t['shape']) != t['bytes']:
            raise CheckpointError(f'{folder}: tensor {t["name"]} does not fit its parts or its shape')
        tensors[t['name']] = (t['dtype'], t['shape'], bytes(blob[t['offset']:t['offset'] + t['bytes']]))
    return header, tensors


# --- pure-Python encoders and decoders (the trainer encodes with torch; these serve tests and the reference) ---------

def _le(a):
    if sys.byteorder != 'little':
        a.byteswap()
    return a


def f32_encode(values):
    return _le(array('f', values)).tobytes()


def bf16_bits(x):
    """Round-to-nearest-even bfloat16 bits of the f32 nearest to x."""
    (u,) = struct.unpack('<I', struct.pack('<f', x))
    return ((u + 0x7fff + ((u >> 16) & 1)) >> 16) & 0xffff


def bf16_encode(values):
    return _le(array('H', [bf16_bits(v) for v in values])).tobytes()


def q8_0_encode(values):
    """ggml block_q8_0: scale = max|x| / 127 rounded up to an f16 (so no value clips), q = round(x / scale)."""
    out = bytearray()
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        amax = max(abs(v) for v in block)
        d = amax / 127
        h = struct.unpack('<e', struct.pack('<e', d))[0] if d > 0 else 0.0
        if h < d:
            (bits,) = struct.unpack('<H', struct.pack('<e', h))
            h = struct.unpack('<e', struct.pack('<H', bits + 1))[0]
        out += struct.pack('<e', h)
        inv = 1 / h if h > 0 else 0.0
        out += struct.pack('<32b', *[max(-127, min(127, int(math.floor(v * inv + 0.5)))) for v in block])
    return bytes(out)


def decode(dtype, data):
    """The tensor's values as Python floats."""
    if dtype == 'f32':
        a = array('f')
        a.frombytes(data)
        return list(_le(a))
    if dtype == 'bf16':
        a = array('H')
        a.frombytes(data)
        _le(a)
        return [struct.unpack('<f', struct.pack('<I', h << 16))[0] for h in a]
    if dtype == 'q8_0':
        out = []
        for at in range(0, len(data), 34):
            (d,) = struct.unpack_from('<e', data, at)
            out.extend(d * q for q in struct.unpack_from('<32b', data, at + 2))
        return out
    raise CheckpointError(f'unknown dtype {dtype!r}')


def random_checkpoint(folder, config, seed, dtypes=None, scale=1.0):
    """A checkpoint of random weights (tests): matrices ~ N(0, (scale / sqrt(cols))^2), norms near 1.
    dtypes: {tensor-name suffix: dtype} overrides (default f32), e.g. {'attn_q.weight': 'q8_0'}."""
    rng = random.Random(seed)
    tensors = []
    for name, shape in llama_tensor_shapes(config):
        n = 1
        for s in shape:
            n *= s
        if len(shape) == 1:
            values = [1 + 0.2 * (rng.random() - 0.5) for _ in range(n)]
        else:
            std = scale / math.sqrt(shape[1])
            values = [rng.gauss(0, std) for _ in range(n)]
        dtype = 'f32'
        for suffix, dt in (dtypes or {}).items():
            if name.endswith(suffix):
                dtype = dt
        enc = {'f32': f32_encode, 'bf16': bf16_encode, 'q8_0': q8_0_encode}[dtype]
        tensors.append((name, dtype, shape, enc(values)))
    return write_checkpoint(folder, config, tensors, {'random': True, 'seed': seed})
