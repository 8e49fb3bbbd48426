// attentionDecode, split phase (flash decoding): one query token (position length-1) attends over a list of pages.
// The list is split into SPLITS contiguous ranges; workgroup (split, kvHead) covers one range for the GROUP query
// heads of one KV head (they share every K/V tile) and writes a partial result per query head: the unnormalized
// output acc = Σ exp(s - max) · v with its max and sum. attentionDecodeReduce.wgsl combines the SPLITS partials.
//
// The page list: dense (SPARSE = false) is the identity, pages 0 .. ceil(length/pageSize)-1; Quest (SPARSE = true)
// reads per KV head pageCount[kvHead] logical page ids from pageIds[kvHead, ..] (selectPages' output, the last page
// included). Either way keys at positions >= length (the tail of the last page) are masked, and the ranges are
// re-split every step from the length in the step uniform, so the dispatch never changes.

// kvType: begin
alias KvType = f32;
const KV_MAX : f32 = 0x1.fffffep+127f;   // largest finite f32 (unused here; part of the shared header)
// kvType: end

struct KvStep {
  pos0 : u32,          // the query token's position (decodeStep: length - 1)
  tokens : u32,        // 1 in decodeStep: keys 0 .. pos0+tokens-1 are in the cache
  rebuildMeta : u32,   // (kvAppend only)
  pad : u32,
}

@group(0) @binding(0) var<storage, read> q : array<vec4<f32>>;                // (heads, headDim/4) after RoPE
@group(0) @binding(1) var<storage, read> kCache : array<vec4<KvType>>;        // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(2) var<storage, read> vCache : array<vec4<KvType>>;        // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(3) var<storage, read> pageTable : array<u32>;              // (maxPages) logical -> physical page
@group(0) @binding(4) var<storage, read> pageIds : array<u32>;                // (kvHeads, maxPages) logical pages; SPARSE only
@group(0) @binding(5) var<storage, read> pageCount : array<u32>;              // (kvHeads) entries of pageIds used; SPARSE only
@group(0) @binding(6) var<storage, read_write> partial : array<vec4<f32>>;    // (heads, SPLITS, headDim/4 + 1): acc, then (max, sum, 0, 0)
@group(0) @binding(7) var<uniform> step : KvStep;

override HEAD_DIM : u32 = 64u;
override PAGE_SIZE : u32 = 16u;
override KV_HEADS : u32 = 1u;
override GROUP : u32 = 1u;       // query heads per KV head
override SPLITS : u32 = 1u;      // page ranges per KV head
override MAX_PAGES : u32 = 1u;   // row length of pageIds
override TILE : u32 = 16u;       // keys per tile
override WG : u32 = 64u;         // >= GROUP
override SPARSE : bool = false;
override D4 : u32 = HEAD_DIM / 4u;

const NEG : f32 = -1e30;             // running max before any key; exp(NEG - m) == 0
const MASKED : u32 = 0xffffffffu;    // keyPos of a tile slot that is not attended

var<workgroup> qs : array<vec4<f32>, GROUP * D4>;    // (GROUP, headDim/4) queries, pre-scaled by 1/sqrt(headDim)
var<workgroup> ks : array<vec4<f32>, TILE * D4>;     // (TILE, headDim/4)
var<workgroup> vs : array<vec4<f32>, TILE * D4>;     // (TILE, headDim/4)
var<workgroup> keyPos : array<u32, TILE>;            // position of each tile key, MASKED if none
var<workgroup> ps : array<f32, GROUP * TILE>;        // (GROUP, TILE) scores, then exp(score - rowMax)
var<workgroup> acc : array<vec4<f32>, GROUP * D4>;   // (GROUP, headDim/4)
var<workgroup> rowMax : array<f32, GROUP>;
var<workgroup> rowSum : array<f32, GROUP>;
var<workgroup> rowScale : array<f32, GROUP>;

fn listedPage(head : u32, entry : u32) -> u32 {
  if (SPARSE) { return pageIds[head * MAX_PAGES + entry]; }
  return entry;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) t : u32) {
  let lin = wid.x + wid.y * nwg.x;
  let head = lin % KV_HEADS;
  let split = lin / KV_HEADS;
  if (split >= SPLITS) { return; }
  let length = step.pos0 + step.tokens;
  let pages = (length + PAGE_SIZE - 1u) / PAGE_SIZE;   // logical pages holding keys
  var count = pages;
  if (SPARSE) { count = min(pageCount[head], MAX_PAGES); }
  let per = (count + SPLITS - 1u) / SPLITS;
  let first = min(count, split * per);
  let keyEnd = min(count, first + per) * PAGE_SIZE;   // list keys first*PAGE_SIZE .. keyEnd-1 (entry, slot)
  let scale = inverseSqrt(f32(HEAD_DIM));

  for (var e = t; e < GROUP * D4; e += WG) {
    qs[e] = q[head * GROUP * D4 + e] * scale;
    acc[e] = vec4(0.0);
  }
  if (t < GROUP) {
    rowMax[t] = NEG;
    rowSum[t] = 0.0;
  }

  for (var key0 = first * PAGE_SIZE; key0 < keyEnd; key0 += TILE) {
    workgroupBarrier();   // the previous tile is consumed (first tile: qs and acc are written)
    for (var e = t; e < TILE * D4; e += WG) {
      let j = e / D4;
      let lk = key0 + j;
      var kv = vec4(0.0);
      var vv = vec4(0.0);
      var pos = MASKED;
      if (lk < keyEnd) {
        let page = listedPage(head, lk / PAGE_SIZE);
        let slot = lk % PAGE_SIZE;
        if (page < pages && page * PAGE_SIZE + slot < length) {   // a bad id reads nothing
          pos = page * PAGE_SIZE + slot;
          let src = ((pageTable[page] * KV_HEADS + head) * PAGE_SIZE + slot) * D4 + e % D4;
          kv = vec4<f32>(kCache[src]);
          vv = vec4<f32>(vCache[src]);
        }
      }
      ks[e] = kv;
      vs[e] = vv;
      if (e % D4 == 0u) { keyPos[j] = pos; }
    }
    workgroupBarrier();
    for (var e = t; e < GROUP * TILE; e += WG) {
      let g = e / TILE;
      let j = e % TILE;
      var s = 0.0;
      for (var c = 0u; c < D4; c++) { s += dot(qs[g * D4 + c], ks[j * D4 + c]); }
      ps[e] = s;
    }
    workgroupBarrier();
    if (t < GROUP) {
      let prev = rowMax[t];
      var m = prev;
      for (var j = 0u; j < TILE; j++) {
        if (keyPos[j] != MASKED) { m = max(m, ps[t * TILE + j]); }
      }
      let alpha = exp(prev - m);
      var sum = 0.0;
      for (var j = 0u; j < TILE; j++) {
        let p = select(0.0, exp(ps[t * TILE + j] - m), keyPos[j] != MASKED);
        ps[t * TILE + j] = p;
        sum += p;
      }
      rowMax[t] = m;
      rowSum[t] = rowSum[t] * alpha + sum;
      rowScale[t] = alpha;
    }
    workgroupBarrier();
    for (var e = t; e < GROUP * D4; e += WG) {
      let g = e / D4;
      let c = e % D4;
      var a = acc[e] * rowScale[g];
      for (var j = 0u; j < TILE; j++) { a += ps[g * TILE + j] * vs[j * D4 + c]; }
      acc[e] = a;
    }
  }
  workgroupBarrier();

  // An empty range (more splits than pages) writes sum 0: the reduce gives it no weight.
  for (var e = t; e < GROUP * D4; e += WG) {
    let qh = head * GROUP + e / D4;
    partial[(qh * SPLITS + split) * (D4 + 1u) + e % D4] = acc[e];
  }
  if (t < GROUP) {
    partial[((head * GROUP + t) * SPLITS + split) * (D4 + 1u) + D4] = vec4(rowMax[t], rowSum[t], 0.0, 0.0);
  }
}
