// Quest's `mass` aggregation, after pageScore.wgsl wrote each query head's page bounds: per KV head and page,
//   pageScore(kv, p) = Σ_g exp((bound(g, p) − max_p' bound(g, p')) / √headDim)
// the group's estimated attention weights of the page (the attention's own 1/√headDim), each head's relative to
// its best page, so that a page one head needs is not outvoted by heads whose queries are larger.
//
// One workgroup per KV head: a head has a few thousand scored pages at most, read once per query head for the
// maxima and once more for the sum.

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

var<workgroup> red : array<f32, WG>;     // max-reduction scratch
var<workgroup> peak : array<f32, GROUP>; // (group) each query head's highest bound

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let kvHead = wg.x;
  for (var g = 0u; g < GROUP; g++) {
    let row = (kvHead * GROUP + g) * p.maxPages;
    var m = -3.0e38;
    for (var i = t; i < p.nScored; i += WG) { m = max(m, headScore[row + i]); }
    red[t] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (t < s) { red[t] = max(red[t], red[t + s]); }
      workgroupBarrier();
    }
    if (t == 0u) { peak[g] = red[0]; }
    workgroupBarrier();
  }
  let scale = inverseSqrt(f32(p.headDim));
  for (var i = t; i < p.nScored; i += WG) {
    var s = 0.0;
    for (var g = 0u; g < GROUP; g++) { s += exp((headScore[(kvHead * GROUP + g) * p.maxPages + i] - peak[g]) * scale); }
    pageScore[kvHead * p.maxPages + i] = s;
  }
}
