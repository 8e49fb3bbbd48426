// Quest criticality estimate: for each KV head and each scored page, an upper bound of q·k over the page's keys,
//   pageScore(h, p) = Σ_i max(q_i · max_i, q_i · min_i)
// computed for every query head h of the KV head's group and aggregated over the group (max or sum). No 1/√d:
// ranking is scale-invariant. Only pages 0 .. nScored-1 are scored; the last page is always read and never scored.
//
// LANES = headDim/4 threads share a page: lane l reads dims 4l..4l+3 of the page's max and min rows as one vec4
// each (neighbouring lanes read neighbouring words: coalesced), applies every query head of the group to that one
// load, and the page's lanes then sum in workgroup memory. A workgroup scores WG/LANES pages per pass and strides
// over the pages of its KV head (the grid is sized for the most pages; passes past nScored do not run).

// kvType: begin
alias KvType = f32;
const KV_MAX : f32 = 0x1.fffffep+127f;   // (unused here; part of the shared KV header)
// kvType: end

struct Params {
  heads : u32,       // query heads
  kvHeads : u32,
  headDim : u32,     // 4 * LANES
  nScored : u32,     // pages to score (the last, newest page excluded)
  maxPages : u32,    // row stride of pageScore
}

@group(0) @binding(0) var<storage, read> q : array<vec4<f32>>;                // (heads, headDim/4), after RoPE
@group(0) @binding(1) var<storage, read> pageMeta : array<vec4<KvType>>;     // (maxPages, kvHeads, 2, headDim/4) [0]=max [1]=min
@group(0) @binding(2) var<storage, read> pageTable : array<u32>;              // (maxPages) logical page -> physical page
@group(0) @binding(3) var<storage, read_write> pageScore : array<f32>;        // (kvHeads, maxPages)
@group(0) @binding(4) var<uniform> p : Params;

override WG : u32 = 256u;
override LANES : u32 = 16u;              // headDim / 4; at most WG
override AGGREGATE_SUM : bool = false;   // false: max over the group's query heads
override GROUP_VEC4 : u32 = 64u;         // group * headDim / 4, held in workgroup memory

var<workgroup> qGroup : array<vec4<f32>, GROUP_VEC4>;   // (group, headDim/4) the KV head's query heads
var<workgroup> part : array<f32, WG>;                   // per thread: its lane's share of one page's score

// Σ over the 4 dims of one lane of max(q·max, q·min).
fn bound4(qv : vec4<f32>, mx : vec4<f32>, mn : vec4<f32>) -> f32 {
  return dot(max(qv * mx, qv * mn), vec4<f32>(1.0));
}

// The page's lanes' values in `part`, summed (thread `first` is the page's lane 0).
fn pageSum(first : u32) -> f32 {
  var s = 0.0;
  for (var j = 0u; j < LANES; j++) { s += part[first + j]; }
  return s;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg : vec3<u32>,
  @builtin(num_workgroups) groups : vec3<u32>,
  @builtin(local_invocation_index) t : u32,
) {
  let kvHead = wg.y;
  let group = p.heads / p.kvHeads;
  let groupVec4 = group * LANES;
  for (var i = t; i < groupVec4; i += WG) {
    qGroup[i] = q[kvHead * groupVec4 + i];   // query heads kvHead*group .. +group-1 are contiguous
  }
  workgroupBarrier();

  let pagesPerPass = WG / LANES;
  let slot = t / LANES;
  let lane = t % LANES;
  let first = slot * LANES;
  for (var base = wg.x * pagesPerPass; base < p.nScored; base += groups.x * pagesPerPass) {
    let page = base + slot;
    let valid = slot < pagesPerPass && page < p.nScored;
    var mx = vec4<f32>(0.0);
    var mn = vec4<f32>(0.0);
    if (valid) {
      let m = (pageTable[page] * p.kvHeads + kvHead) * 2u * LANES;
      mx = vec4<f32>(pageMeta[m + lane]);
      mn = vec4<f32>(pageMeta[m + LANES + lane]);
    }
    var score = 0.0;
    if (AGGREGATE_SUM) {
      // Σ over heads of Σ over dims = Σ over dims of Σ over heads: one sum across the lanes.
      var s = 0.0;
      for (var g = 0u; g < group; g++) { s += bound4(qGroup[g * LANES + lane], mx, mn); }
      part[t] = s;
      workgroupBarrier();
      if (valid && lane == 0u) { score = pageSum(first); }
      workgroupBarrier();
    } else {
      score = -3.0e38;
      for (var g = 0u; g < group; g++) {
        part[t] = bound4(qGroup[g * LANES + lane], mx, mn);
        workgroupBarrier();
        if (valid && lane == 0u) { score = max(score, pageSum(first)); }
        workgroupBarrier();
      }
    }
    if (valid && lane == 0u) { pageScore[kvHead * p.maxPages + page] = score; }
  }
}
