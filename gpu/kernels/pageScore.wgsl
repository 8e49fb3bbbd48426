// Quest criticality estimate: for each KV head and each scored page, an upper bound of q·k over the page's keys,
//   pageScore(h, p) = Σ_i max(q_i · max_i, q_i · min_i)
// computed for every query head h of the KV head's group and aggregated over the group (max or sum). No 1/√d:
// ranking is scale-invariant. Only pages 0 .. nScored-1 are scored; the last page is always read and never scored.

// kvType: begin
alias KvType = f32;
const KV_MAX : f32 = 0x1.fffffep+127f;   // (unused here; part of the shared KV header)
// kvType: end

struct Params {
  heads : u32,       // query heads
  kvHeads : u32,
  headDim : u32,
  nScored : u32,     // pages to score (the last, newest page excluded)
  maxPages : u32,    // row stride of pageScore
}

@group(0) @binding(0) var<storage, read> q : array<f32>;                  // (heads, headDim), after RoPE
@group(0) @binding(1) var<storage, read> pageMeta : array<KvType>;    // (maxPages, kvHeads, 2, headDim) [0]=max [1]=min
@group(0) @binding(2) var<storage, read> pageTable : array<u32>;          // (maxPages) logical page -> physical page
@group(0) @binding(3) var<storage, read_write> pageScore : array<f32>;    // (kvHeads, maxPages)
@group(0) @binding(4) var<uniform> p : Params;

override WG : u32 = 64u;
override AGGREGATE_SUM : bool = false;   // false: max over the group's query heads
override MAX_GROUP_DIMS : u32 = 1024u;   // group * headDim held in workgroup memory

var<workgroup> qGroup : array<f32, MAX_GROUP_DIMS>;

// One thread per (page, kvHead): grid (ceil(nScored / WG), kvHeads).
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let kvHead = wg.y;
  let group = p.heads / p.kvHeads;
  let groupDims = group * p.headDim;
  for (var i = t; i < groupDims; i += WG) {
    qGroup[i] = q[kvHead * groupDims + i];   // query heads kvHead*group .. +group-1 are contiguous
  }
  workgroupBarrier();

  let page = wg.x * WG + t;
  if (page >= p.nScored) { return; }
  let m = (pageTable[page] * p.kvHeads + kvHead) * 2u * p.headDim;
  var agg = select(-3.0e38, 0.0, AGGREGATE_SUM);
  for (var g = 0u; g < group; g++) {
    var s = 0.0;
    for (var i = 0u; i < p.headDim; i++) {
      let qi = qGroup[g * p.headDim + i];
      s += max(qi * f32(pageMeta[m + i]), qi * f32(pageMeta[m + p.headDim + i]));
    }
    agg = select(max(agg, s), agg + s, AGGREGATE_SUM);
  }
  pageScore[kvHead * p.maxPages + page] = agg;
}
