// Greedy argmax over logits, ties to the lowest index (llama.cpp's greedy sampler keeps the first maximum).
// Two dispatches of this kernel: FINAL = false reduces each slice of `perGroup` logits to one [key, index] pair;
// FINAL = true reduces those pairs in one workgroup and writes the token id.
//
// Values compare through an order-preserving u32 key (rankKey): -0 ranks as +0 and NaN below -inf, so a NaN logit is
// never picked over a number; if every logit is NaN the lowest index wins.

struct Params {
  n : u32,         // items in `input`: logits (FINAL = false) or pairs (FINAL = true)
  perGroup : u32,  // items each workgroup reduces
}

@group(0) @binding(0) var<storage, read> input : array<u32>;      // FINAL = false: (n) f32 logits as bits; true: (n, 2) [key, index]
@group(0) @binding(1) var<storage, read_write> out : array<u32>;  // FINAL = false: (groups, 2) [key, index]; true: (1) token id
@group(0) @binding(2) var<uniform> p : Params;

override WG : u32 = 256u;
override FINAL : bool = false;

var<workgroup> bestKey : array<u32, WG>;
var<workgroup> bestIndex : array<u32, WG>;

// Monotone map from f32 bits to u32: a > b as floats <=> rankKey(a) > rankKey(b); NaN -> 0 (below -inf).
fn rankKey(bits : u32) -> u32 {
  let magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) { return 0u; }
  if (magnitude == 0u) { return 0x80000000u; }
  if ((bits & 0x80000000u) != 0u) { return ~bits; }
  return bits | 0x80000000u;
}

// (key, index) ranks before (k2, i2): larger value first, then lower index.
fn before(key : u32, index : u32, k2 : u32, i2 : u32) -> bool {
  return key > k2 || (key == k2 && index < i2);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let start = wg.x * p.perGroup;
  let end = min(p.n, start + p.perGroup);
  var key = 0u;
  var index = 0xffffffffu;
  for (var j = start + t; j < end; j += WG) {
    var k = 0u;
    var i = j;
    if (FINAL) {
      k = input[2u * j];
      i = input[2u * j + 1u];
    } else {
      k = rankKey(input[j]);
    }
    if (before(k, i, key, index)) {
      key = k;
      index = i;
    }
  }
  bestKey[t] = key;
  bestIndex[t] = index;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s && before(bestKey[t + s], bestIndex[t + s], bestKey[t], bestIndex[t])) {
      bestKey[t] = bestKey[t + s];
      bestIndex[t] = bestIndex[t + s];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    if (FINAL) {
      out[0] = bestIndex[0];
    } else {
      out[2u * wg.x] = bestKey[0];
      out[2u * wg.x + 1u] = bestIndex[0];
    }
  }
}
