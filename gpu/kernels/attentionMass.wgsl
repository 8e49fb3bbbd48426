// attentionMass: after attentionDecode's split and reduce, adds the step's attention mass per page into a running
// total: mass[kvHead, page] += Σ over the KV head's query heads h of exp(pageLse[h, entry] - lse_h), where
// lse_h = log Σ_s sum_s · exp(max_s - M) + M over the SPLITS partial results is head h's whole softmax denominator
// (what the reduce divides by) and pageLse (written by the split phase with MASS) is log Σ exp(score) over the
// entry's keys in the mass range. So each page gets Σ_heads Σ_keys softmax weight: the attention the query paid to it.
// Workgroup (entry block, kvHead); each thread one entry of the KV head's page list (dense: the identity; Quest:
// pageIds). Pages are unique within one KV head's list, so no two threads add to the same word.

struct KvStep {
  pos0 : u32,          // the query token's position (decodeStep: length - 1)
  tokens : u32,        // 1 in decodeStep
  rebuildMeta : u32,   // (kvAppend only)
  pad : u32,
}

@group(0) @binding(0) var<storage, read> partial : array<vec4<f32>>;    // (heads, SPLITS, headDim/4 + 1): acc, then (max, sum, 0, 0)
@group(0) @binding(1) var<storage, read> pageLse : array<f32>;          // (heads, MAX_PAGES) per list entry
@group(0) @binding(2) var<storage, read> pageIds : array<u32>;          // (kvHeads, MAX_PAGES) logical pages; SPARSE only
@group(0) @binding(3) var<storage, read> pageCount : array<u32>;        // (kvHeads) entries of pageIds used; SPARSE only
@group(0) @binding(4) var<storage, read_write> mass : array<f32>;       // (kvHeads, MAX_PAGES) running total per logical page
@group(0) @binding(5) var<uniform> step : KvStep;

override HEAD_DIM : u32 = 64u;
override PAGE_SIZE : u32 = 16u;
override GROUP : u32 = 1u;       // query heads per KV head
override SPLITS : u32 = 1u;
override MAX_PAGES : u32 = 1u;
override WG : u32 = 64u;
override SPARSE : bool = false;
override D4 : u32 = HEAD_DIM / 4u;

const NEG : f32 = -1e30;

var<workgroup> lse : array<f32, GROUP>;   // (GROUP) log of each query head's softmax denominator

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let head = wid.y;
  let length = step.pos0 + step.tokens;
  let pages = (length + PAGE_SIZE - 1u) / PAGE_SIZE;
  var count = pages;
  if (SPARSE) { count = min(pageCount[head], MAX_PAGES); }
  let first = wid.x * WG;
  if (first < count) {
    for (var g = t; g < GROUP; g += WG) {
      let base = (head * GROUP + g) * SPLITS * (D4 + 1u) + D4;
      var m = NEG;
      for (var s = 0u; s < SPLITS; s++) { m = max(m, partial[base + s * (D4 + 1u)].x); }
      var z = 0.0;
      for (var s = 0u; s < SPLITS; s++) {
        let stats = partial[base + s * (D4 + 1u)];
        z += stats.y * exp(stats.x - m);
      }
      lse[g] = m + log(z);
    }
  }
  workgroupBarrier();
  let e = first + t;
  if (e >= count) { return; }
  var page = e;
  if (SPARSE) { page = pageIds[head * MAX_PAGES + e]; }
  if (page >= pages) { return; }   // a bad id adds nothing
  var w = 0.0;
  for (var g = 0u; g < GROUP; g++) { w += exp(pageLse[(head * GROUP + g) * MAX_PAGES + e] - lse[g]); }
  mass[head * MAX_PAGES + page] += w;
}
