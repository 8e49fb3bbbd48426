// Top-k: the k largest logits and their indices, best first, ties to the lower index. Rounds of this one kernel:
// each workgroup bitonic-sorts S items in workgroup memory and keeps its first k; the next round sorts the survivors,
// until one workgroup is left. FIRST: the input is the logits, else [key, index] pairs of the previous round.
// LAST: the output holds [f32 value bits, index], else [key, index] for the next round.
//
// Values compare through an order-preserving u32 key (rankKey, as in argmax.wgsl): -0 ranks as +0, NaN below -inf.
// Slots past the end of the input are padding [key 0, index 0xffffffff], which ranks after every real item.

struct Params {
  n : u32,  // items in `input`
  k : u32,  // items kept per workgroup, <= S / 2
}

@group(0) @binding(0) var<storage, read> input : array<u32>;      // FIRST: (n) f32 logits as bits; else (n, 2) [key, index]
@group(0) @binding(1) var<storage, read_write> out : array<u32>;  // (groups, k, 2): LAST: [f32 value bits, index]; else [key, index]
@group(0) @binding(2) var<uniform> p : Params;

override S : u32 = 2048u;   // items sorted per workgroup: a power of two
override WG : u32 = S / 2u;  // one compare-exchange per thread per stage
override FIRST : bool = true;
override LAST : bool = true;

var<workgroup> keys : array<u32, S>;
var<workgroup> indices : array<u32, S>;

// Monotone map from f32 bits to u32: a > b as floats <=> rankKey(a) > rankKey(b); NaN -> 0 (below -inf).
fn rankKey(bits : u32) -> u32 {
  let magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) { return 0u; }
  if (magnitude == 0u) { return 0x80000000u; }
  if ((bits & 0x80000000u) != 0u) { return ~bits; }
  return bits | 0x80000000u;
}

// Inverse of rankKey for real values; key 0 (NaN) comes back as a quiet NaN.
fn valueBits(key : u32) -> u32 {
  if (key == 0u) { return 0x7fc00000u; }
  if ((key & 0x80000000u) != 0u) { return key & 0x7fffffffu; }
  return ~key;
}

// (key, index) ranks before (k2, i2): larger value first, then lower index.
fn before(key : u32, index : u32, k2 : u32, i2 : u32) -> bool {
  return key > k2 || (key == k2 && index < i2);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  for (var half = 0u; half < 2u; half++) {
    let slot = t + half * WG;
    let item = wg.x * S + slot;
    var key = 0u;
    var index = 0xffffffffu;
    if (item < p.n) {
      if (FIRST) {
        key = rankKey(input[item]);
        index = item;
      } else {
        key = input[2u * item];
        index = input[2u * item + 1u];
      }
    }
    keys[slot] = key;
    indices[slot] = index;
  }
  workgroupBarrier();

  // Bitonic sort, best first: runs of `size` alternate direction until the last, which covers all S slots.
  for (var size = 2u; size <= S; size <<= 1u) {
    for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
      let a = ((t & ~(stride - 1u)) << 1u) | (t & (stride - 1u));
      let b = a | stride;
      let bestFirst = (a & size) == 0u;
      let ka = keys[a];
      let ia = indices[a];
      let kb = keys[b];
      let ib = indices[b];
      if (before(kb, ib, ka, ia) == bestFirst) {
        keys[a] = kb;
        indices[a] = ib;
        keys[b] = ka;
        indices[b] = ia;
      }
      workgroupBarrier();
    }
  }

  if (t < p.k) {
    let o = 2u * (wg.x * p.k + t);
    out[o] = select(keys[t], valueBits(keys[t]), LAST);
    out[o + 1u] = indices[t];
  }
}
