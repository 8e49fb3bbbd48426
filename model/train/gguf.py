"""Reads an exported GGUF back into float values: the PyTorch side of the parity check (parity.py) loads the model
from the very file the engine runs, not from the checkpoint it was exported from.

Standard library only; numpy, when it can be imported, makes the dequantization vectorized (the GPU machine has it,
CI's Debian python3 does not: both paths give the same float64 values, test/unit/ggufPython.test.ts checks each
against the engine's TypeScript decoders, gpu/quant/*).

    GGUF v2/v3: magic 'GGUF', u32 version, u64 tensor count, u64 metadata count, metadata, tensor infos, then the
    data section at the next multiple of general.alignment (default 32). All little-endian.
    Types read (ggml's block layouts, gpu/model/ggmlTypes.ts):
      F32, F16
      Q8_0  block of 32:  d f16, qs[32] int8                               x = d * q
      Q4_0  block of 32:  d f16, qs[16]: low nibbles elements 0..15, high nibbles 16..31       x = d * (nibble - 8)
      Q6_K  block of 256: ql[128], qh[64], scales[16] int8, d f16         x = d * scale * (6-bit q - 32)

    python3 model/train/gguf.py info FILE                              metadata scalars and tensors (JSON)
    python3 model/train/gguf.py dequant FILE NAME... --out DIR [--pure] each tensor's values as float64 LE, DIR/NAME.f64
"""
import json
import os
import struct
import sys
from array import array

try:
    import numpy as np
except ImportError:  # CI's python3: the pure path below
    np = None

F32, F16, Q4_0, Q8_0, Q6_K = 0, 1, 2, 8, 14
# type id → (name, elements per block, bytes per block)
TYPES = {F32: ('F32', 1, 4), F16: ('F16', 1, 2), Q4_0: ('Q4_0', 32, 18), Q8_0: ('Q8_0', 32, 34), Q6_K: ('Q6_K', 256, 210)}

# metadata value type id → struct format of a fixed-size scalar (8: string, 9: array)
_SCALARS = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}


class GgufError(Exception):
    pass


class Tensor:
    def __init__(self, name, dims, type_id, offset):
        self.name = name
        self.dims = dims  # ne0 first: a (rows, cols) row-major matrix has dims [cols, rows]
        self.type = type_id
        self.offset = offset  # from the start of the data section
        self.elements = 1
        for d in dims:
            self.elements *= d

    @property
    def shape(self):
        """Row-major shape, last dimension contiguous: PyTorch's (out, in) for a Linear weight."""
        return list(reversed(self.dims))

    @property
    def nbytes(self):
        if self.type not in TYPES:
            raise GgufError(f'tensor {self.name}: ggml type {self.type} is not one of {sorted(n for n, _, _ in TYPES.values())}')
        _, block, size = TYPES[self.type]
        if self.dims[0] % block:
            raise GgufError(f'tensor {self.name}: rows of {self.dims[0]} are not whole blocks of {block}')
        return self.elements // block * size


class GgufFile:
    """The header of a GGUF file; tensor bytes are read on demand."""

    def __init__(self, path):
        self.path = path
        with open(path, 'rb') as f:
            self._parse(f)

    def _parse(self, f):
        def read(n):
            b = f.read(n)
            if len(b) != n:
                raise GgufError(f'{self.path}: file ends inside the header')
            return b

        def unpack(fmt):
            return struct.unpack(fmt, read(struct.calcsize(fmt)))[0]

        def string():
            return read(unpack('<Q')).decode('utf-8', errors='replace')

        def value(t):
            if t in _SCALARS:
                return unpack(_SCALARS[t])
            if t == 8:
                return string()
            if t == 9:
                item, n = unpack('<I'), unpack('<Q')
                if item in _SCALARS:
                    fmt = _SCALARS[item]
                    return list(struct.unpack('<' + fmt[1] * n, read(struct.calcsize(fmt) * n)))
                return [value(item) for _ in range(n)]
            raise GgufError(f'{self.path}: unknown metadata value type {t}')

        if read(4) != b'GGUF':
            raise GgufError(f'{self.path}: not a GGUF file (magic)')
        self.version = unpack('<I')
        if self.version not in (2, 3):
            raise GgufError(f'{self.path}: GGUF version {self.version}, this reader reads 2 and 3')
        n_tensors, n_kv = unpack('<Q'), unpack('<Q')
        self.metadata = {}
        for _ in range(n_kv):
            key = string()
            self.metadata[key] = value(unpack('<I'))
        self.tensors = {}
        for _ in range(n_tensors):
            name = string()
            dims = [unpack('<Q') for _ in range(unpack('<I'))]
            t = Tensor(name, dims, unpack('<I'), unpack('<Q'))
            self.tensors[name] = t
        align = self.metadata.get('general.alignment', 32)
        self.data_offset = (f.tell() + align - 1) // align * align
        size = os.fstat(f.fileno()).st_size
        for t in self.tensors.values():
            if self.data_offset + t.offset + t.nbytes > size:
                raise GgufError(f'{self.path}: tensor {t.name} runs past the end of the file')

    def raw(self, name):
        t = self.tensors[name]
        with open(self.path, 'rb') as f:
            f.seek(self.data_offset + t.offset)
            return f.read(t.nbytes)

    def values(self, name, pure=False):
        """The tensor's values in row-major order: a float64 numpy array (numpy present, not `pure`), else a list."""
        t = self.tensors[name]
        data = self.raw(name)
        return dequantize(t.type, data, t.elements, pure=pure or np is None)

    def llama_config(self):
        """The model config of model.py / reference.py from the llama.* keys (vocabulary from token_embd's rows)."""
        m = self.metadata
        if m.get('general.architecture') != 'llama':
            raise GgufError(f'{self.path}: architecture {m.get("general.architecture")!r}, expected llama')
        dim, heads = m['llama.embedding_length'], m['llama.attention.head_count']
        return {'layers': m['llama.block_count'], 'dim': dim, 'ffn': m['llama.feed_forward_length'], 'heads': heads,
                'kvHeads': m.get('llama.attention.head_count_kv', heads), 'headDim': dim // heads,
                'vocab': self.tensors['token_embd.weight'].dims[1], 'normEps': m['llama.attention.layer_norm_rms_epsilon'],
                'ropeTheta': m.get('llama.rope.freq_base', 10000.0), 'contextLength': m['llama.context_length']}


# --- dequantization: exact float64 values (every product below is exact in float64) ---------------------------------

def dequantize(type_id, data, n, pure=False):
    if type_id not in TYPES:
        raise GgufError(f'ggml type {type_id} is not read here')
    if pure or np is None:
        return _PURE[type_id](data, n)
    return _NUMPY[type_id](data, n)


def _le(a):
    if sys.byteorder != 'little':
        a.byteswap()
    return a


def _f16(data, at):
    return struct.unpack_from('<e', data, at)[0]


def _pure_f32(data, n):
    a = array('f')
    a.frombytes(data[:4 * n])
    return list(_le(a))


def _pure_f16(data, n):
    return list(struct.unpack(f'<{n}e', data[:2 * n]))


def _pure_q8_0(data, n):
    out = []
    for at in range(0, n // 32 * 34, 34):
        d = _f16(data, at)
        out.extend(d * q for q in struct.unpack_from('<32b', data, at + 2))
    return out


def _pure_q4_0(data, n):
    out = []
    for at in range(0, n // 32 * 18, 18):
        d = _f16(data, at)
        qs = data[at + 2:at + 18]
        out.extend(d * ((b & 15) - 8) for b in qs)
        out.extend(d * ((b >> 4) - 8) for b in qs)
    return out


def _pure_q6_k(data, n):
    out = [0.0] * n
    for b in range(n // 256):
        at = b * 210
        d = _f16(data, at + 208)
        sc = struct.unpack_from('<16b', data, at + 192)
        for h in range(2):
            y = b * 256 + 128 * h
            for l in range(32):
                s = 8 * h + (l >> 4)
                lo, hi, qh = data[at + 64 * h + l], data[at + 64 * h + l + 32], data[at + 128 + 32 * h + l]
                out[y + l] = d * sc[s] * (((lo & 15) | (qh & 3) << 4) - 32)
                out[y + l + 32] = d * sc[s + 2] * (((hi & 15) | (qh >> 2 & 3) << 4) - 32)
                out[y + l + 64] = d * sc[s + 4] * (((lo >> 4) | (qh >> 4 & 3) << 4) - 32)
                out[y + l + 96] = d * sc[s + 6] * (((hi >> 4) | (qh >> 6 & 3) << 4) - 32)
    return out


_PURE = {F32: _pure_f32, F16: _pure_f16, Q8_0: _pure_q8_0, Q4_0: _pure_q4_0, Q6_K: _pure_q6_k}


def _blocks(data, n, block, size):
    return np.frombuffer(data, dtype=np.uint8, count=n // block * size).reshape(-1, size)


def _np_f32(data, n):
    return np.frombuffer(data, dtype='<f4', count=n).astype(np.float64)


def _np_f16(data, n):
    return np.frombuffer(data, dtype='<f2', count=n).astype(np.float64)


def _np_q8_0(data, n):
    b = _blocks(data, n, 32, 34)
    d = b[:, :2].copy().view('<f2').astype(np.float64)  # (blocks, 1)
    return (d * b[:, 2:].view(np.int8).astype(np.float64)).reshape(-1)


def _np_q4_0(data, n):
    b = _blocks(data, n, 32, 18)
    d = b[:, :2].copy().view('<f2').astype(np.float64)  # (blocks, 1)
    qs = b[:, 2:]  # (blocks, 16)
    q = np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.float64) - 8  # (blocks, 32)
    return (d * q).reshape(-1)


def _np_q6_k(data, n):
    b = _blocks(data, n, 256, 210)
    d = b[:, 208:210].copy().view('<f2').astype(np.float64)  # (blocks, 1)
    sc = b[:, 192:208].view(np.int8).astype(np.float64)  # (blocks, 16)
    ql = b[:, :128].reshape(-1, 2, 64).astype(np.int16)  # (blocks, half, 64)
    qh = b[:, 128:192].reshape(-1, 2, 32).astype(np.int16)  # (blocks, half, 32)
    lo, hi = ql[:, :, :32], ql[:, :, 32:]
    # (blocks, half, 4 quarters of 32): quarter k takes qh bits 2k..2k+1
    q = np.stack([(lo & 15) | (qh & 3) << 4, (hi & 15) | (qh >> 2 & 3) << 4,
                  (lo >> 4) | (qh >> 4 & 3) << 4, (hi >> 4) | (qh >> 6 & 3) << 4], axis=2) - 32
    # scale index of element 32k + l of a half h: 8h + 2k + l // 16
    s = sc.reshape(-1, 2, 4, 2)  # (blocks, half, quarter, l // 16)
    q = q.reshape(-1, 2, 4, 2, 16).astype(np.float64)
    return (d[:, :, None, None, None] * s[..., None] * q).reshape(-1)


_NUMPY = {F32: _np_f32, F16: _np_f16, Q8_0: _np_q8_0, Q4_0: _np_q4_0, Q6_K: _np_q6_k}


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    i = sub.add_parser('info')
    i.add_argument('file')
    q = sub.add_parser('dequant')
    q.add_argument('file')
    q.add_argument('names', nargs='+')
    q.add_argument('--out', required=True)
    q.add_argument('--pure', action='store_true', help='the standard-library path even when numpy is present')
    a = ap.parse_args(argv)
    g = GgufFile(a.file)
    if a.cmd == 'info':
        scalars = {k: v for k, v in g.metadata.items() if not isinstance(v, list)}
        tensors = [{'name': t.name, 'type': TYPES.get(t.type, (str(t.type),))[0], 'dims': t.dims} for t in g.tensors.values()]
        print(json.dumps({'version': g.version, 'metadata': scalars, 'tensors': tensors}))
        return
    os.makedirs(a.out, exist_ok=True)
    for name in a.names:
        v = g.values(name, pure=a.pure)
        data = v.astype('<f8').tobytes() if np is not None and not isinstance(v, list) else _le(array('d', v)).tobytes()
        with open(os.path.join(a.out, name + '.f64'), 'wb') as f:
            f.write(data)
    print(json.dumps({'path': 'numpy' if np is not None and not a.pure else 'pure', 'tensors': len(a.names)}))


if __name__ == '__main__':
    main(sys.argv[1:])
