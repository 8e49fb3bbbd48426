// Quest's `mass` aggregation, after pageScore.wgsl wrote each query head's page bounds: per KV head and page,
//   pageScore(kv, p) = Σ_g softmax_p(bound(g, ·) / √headDim)
// the attention mass each query head of the group would give the page if every key reached its page's bound (the
// attention's own 1/√headDim), summed: the expected mass a selection keeps. A page one head needs is not outvoted by
// heads whose queries are larger, and a head that attends everywhere spreads its vote thin.
//
// One workgroup per KV head: a head has a few thousand scored pages at most, read three times per query head
// (max, sum of exponentials, the scores).

struct Params {   // pageScore's params, shared
  heads : u32,
  kvHeads : u32,
  headDim : u32,
  nScored : u32,     // pages scored: 0 .. nScored-1
  maxPages : u32,    // row stride of headScore and pageScore
}

@group(0) @binding(0) var<storage, read> headScore : array<f32>;         // (heads, maxPages) per query head
@group(0) @binding(1) var<storage, read_write> pageScore : array<f32>;   // (kvHeads, maxPages)
@group(0) @binding(2) var<uniform> p : Params;

override WG : u32 = 256u;    // threads: a power of two
override GROUP : u32 = 1u;   // query heads per KV head

var<workgroup> red : array<f32, WG>;     // reduction scratch
var<workgroup> peak : array<f32, GROUP>; // (group) each query head's highest bound
var<workgroup> norm : array<f32, GROUP>; // (group) 1 / Σ_p exp((bound − peak) / √headDim)

// The workgroup's `red` reduced by max (sum false) or sum; every thread gets the result. Call from uniform control flow.
fn reduce(t : u32, v : f32, sum : bool) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] = select(max(red[t], red[t + s]), red[t] + red[t + s], sum); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();   // red is free again
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let kvHead = wg.x;
  let scale = inverseSqrt(f32(p.headDim));
  for (var g = 0u; g < GROUP; g++) {
    let row = (kvHead * GROUP + g) * p.maxPages;
    var m = -3.0e38;
    for (var i = t; i < p.nScored; i += WG) { m = max(m, headScore[row + i]); }
    let top = reduce(t, m, false);
    var z = 0.0;
    for (var i = t; i < p.nScored; i += WG) { z += exp((headScore[row + i] - top) * scale); }
    let total = reduce(t, z, true);
    if (t == 0u) {
      peak[g] = top;
      norm[g] = 1.0 / total;
    }
  }
  workgroupBarrier();
  for (var i = t; i < p.nScored; i += WG) {
    var s = 0.0;
    for (var g = 0u; g < GROUP; g++) { s += exp((headScore[(kvHead * GROUP + g) * p.maxPages + i] - peak[g]) * scale) * norm[g]; }
    pageScore[kvHead * p.maxPages + i] = s;
  }
}
