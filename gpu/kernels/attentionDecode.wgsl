// attentionDecode, split phase (flash decoding): one query token (position length-1) attends over a list of pages.
// The list is split into SPLITS contiguous ranges; workgroup (split, kvHead, head set) covers one range for up to
// HG query heads of one KV head (GQA: they share every K/V row it reads) and writes a partial result per query head:
// the unnormalized output acc = Σ exp(s - max) · v with its max and sum. attentionDecodeReduce.wgsl combines them.
//
// A range is read in tiles of WG keys, each key read once from the cache (no staging copy):
//   1. thread t scores key t of the tile against the HG queries (its K row, vec4 loads);
//   2. the tile's max per head, in two levels of workgroup memory;
//   3. each thread turns its scores into exp(score - running max) and rescales its accumulators;
//   4. thread (slice, lane) adds p · V[key][lane] for the keys of its slice (neighbouring lanes read neighbouring
//      16 B of a V row) into its own accumulators, kept in registers across tiles;
// and at the end the slices are summed in workgroup memory.
//
// The page list: dense (SPARSE = false) is the identity, pages 0 .. ceil(length/pageSize)-1; Quest (SPARSE = true)
// reads per KV head pageCount[kvHead] logical page ids from pageIds[kvHead, ..] (selectPages' output, the last page
// included). Either way keys at positions >= length (the tail of the last page) are masked, and the ranges are
// re-split every step from the length in the step uniform, so the dispatch never changes.
//
// Attention mass (MASS = true, for citations): after step 3 of each tile, the HG heads' weights exp(score - running
// max) are summed per list entry and written as pageLse[head, entry] = running max + log(sum), the log of the entry's
// unnormalized softmax mass. attentionMass.wgsl turns that into the normalized mass once every split is done. Only
// keys at positions massRange.first .. massRange.end-1 add mass (the engine leaves out position 0, the attention sink
// nearly every model dumps spare attention on, and the question and answer after the context, which share a page with
// the context's last tokens), but every key counts in the softmax. A page longer than a tile (PAGE_SIZE > WG) is summed over its tiles by the same
// thread, with log-add-exp; the op requires WG and PAGE_SIZE to divide one another.

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

struct MassRange {
  first : u32,         // first position that adds mass
  end : u32,           // positions from here on add none
  pad0 : u32,
  pad1 : u32,
}

@group(0) @binding(0) var<storage, read> q : array<vec4<f32>>;                // (heads, headDim/4) after RoPE
@group(0) @binding(1) var<storage, read> kCache : array<vec4<KvType>>;        // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(2) var<storage, read> vCache : array<vec4<KvType>>;        // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(3) var<storage, read> pageTable : array<u32>;              // (maxPages) logical -> physical page
@group(0) @binding(4) var<storage, read> pageIds : array<u32>;                // (kvHeads, maxPages) logical pages; SPARSE only
@group(0) @binding(5) var<storage, read> pageCount : array<u32>;              // (kvHeads) entries of pageIds used; SPARSE only
@group(0) @binding(6) var<storage, read_write> partial : array<vec4<f32>>;    // (heads, SPLITS, headDim/4 + 1): acc, then (max, sum, 0, 0)
@group(0) @binding(7) var<storage, read_write> pageLse : array<f32>;          // (heads, MAX_PAGES) per list entry, log of its mass; MASS only
@group(0) @binding(8) var<uniform> step : KvStep;
@group(0) @binding(9) var<uniform> massRange : MassRange;                     // MASS only

override HEAD_DIM : u32 = 64u;
override PAGE_SIZE : u32 = 16u;
override KV_HEADS : u32 = 1u;
override GROUP : u32 = 1u;       // query heads per KV head
override HG : u32 = 1u;          // query heads per workgroup: min(GROUP, MAX_HG)
override SPLITS : u32 = 1u;      // page ranges per KV head
override MAX_PAGES : u32 = 1u;   // row length of pageIds
override WG : u32 = 64u;         // threads, and keys per tile: a multiple of 8, >= headDim/4
override SPARSE : bool = false;
override MASS : bool = false;    // write pageLse
override D4 : u32 = HEAD_DIM / 4u;
override NS : u32 = WG / D4;     // key slices of the accumulation phase
override PARTS : u32 = WG / 8u;  // first-level maxima per head
override TP : u32 = max(1u, WG / PAGE_SIZE);   // list entries one tile touches at most

const MAX_HG : u32 = 8u;             // register arrays need a fixed size; larger groups take several workgroups
const NEG : f32 = -1e30;             // running max before any key; exp(NEG - m) == 0
const MASKED : u32 = 0xffffffffu;    // rowAt of a tile key that is not attended

var<workgroup> qs : array<vec4<f32>, HG * D4>;       // (HG, headDim/4) queries, pre-scaled by 1/sqrt(headDim)
var<workgroup> ps : array<f32, HG * WG>;             // (HG, WG) scores, then exp(score - running max)
var<workgroup> partMax : array<f32, HG * PARTS>;     // (HG, PARTS) max over 8 keys each
var<workgroup> tileMax : array<f32, HG>;
var<workgroup> rowAt : array<u32, WG>;               // first vec4 of each tile key's K/V row, MASKED if none
var<workgroup> comb : array<vec4<f32>, HG * WG>;     // (HG, NS, headDim/4) slice accumulators, at the end
var<workgroup> combSum : array<f32, HG * NS>;        // (HG, NS) slice sums, at the end

fn listedPage(head : u32, entry : u32) -> u32 {
  if (SPARSE) { return pageIds[head * MAX_PAGES + entry]; }
  return entry;
}

// log(exp(a) + exp(b)), with NEG standing for log(0).
fn logAddExp(a : f32, b : f32) -> f32 {
  let m = max(a, b);
  if (m <= NEG) { return NEG; }
  return m + log(exp(a - m) + exp(b - m));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) t : u32) {
  let lin = wid.x + wid.y * nwg.x;
  let sets = (GROUP + HG - 1u) / HG;     // head sets per KV head
  let g0 = (lin % sets) * HG;           // first query head of the group handled here
  let hn = min(HG, GROUP - g0);           // query heads handled here
  let head = (lin / sets) % KV_HEADS;
  let split = lin / (sets * KV_HEADS);
  if (split >= SPLITS) { return; }
  let length = step.pos0 + step.tokens;
  let pages = (length + PAGE_SIZE - 1u) / PAGE_SIZE;   // logical pages holding keys
  var count = pages;
  if (SPARSE) { count = min(pageCount[head], MAX_PAGES); }
  let per = (count + SPLITS - 1u) / SPLITS;
  let first = min(count, split * per);
  let keyEnd = min(count, first + per) * PAGE_SIZE;   // list keys first*PAGE_SIZE .. keyEnd-1 (entry, slot)
  let scale = inverseSqrt(f32(HEAD_DIM));

  for (var e = t; e < HG * D4; e += WG) {
    var qv = vec4(0.0);
    if (e / D4 < hn) { qv = q[(head * GROUP + g0) * D4 + e] * scale; }
    qs[e] = qv;
  }
  let lane = t % D4;
  let slice = t / D4;
  var acc : array<vec4<f32>, MAX_HG>;
  var sum : array<f32, MAX_HG>;
  var runMax : array<f32, MAX_HG>;
  for (var g = 0u; g < HG; g++) { runMax[g] = NEG; }

  for (var key0 = first * PAGE_SIZE; key0 < keyEnd; key0 += WG) {
    workgroupBarrier();   // the previous tile is consumed (first tile: qs is written)
    let lk = key0 + t;
    var at = MASKED;
    if (lk < keyEnd) {
      let page = listedPage(head, lk / PAGE_SIZE);
      let slot = lk % PAGE_SIZE;
      if (page < pages && page * PAGE_SIZE + slot < length) {   // a bad id reads nothing
        at = ((pageTable[page] * KV_HEADS + head) * PAGE_SIZE + slot) * D4;
      }
    }
    rowAt[t] = at;
    // Zeroed by hand: Mesa 25.0.7 lavapipe keeps the previous iteration's values in a loop-scoped array var.
    var s : array<f32, MAX_HG>;
    for (var g = 0u; g < HG; g++) { s[g] = 0.0; }
    if (at != MASKED) {
      for (var c = 0u; c < D4; c++) {
        let kv = vec4<f32>(kCache[at + c]);
        for (var g = 0u; g < HG; g++) { s[g] += dot(qs[g * D4 + c], kv); }
      }
    }
    for (var g = 0u; g < HG; g++) { ps[g * WG + t] = select(NEG, s[g], at != MASKED); }
    workgroupBarrier();
    if (t < HG * PARTS) {
      let base = (t / PARTS) * WG + (t % PARTS) * 8u;
      var m = NEG;
      for (var i = 0u; i < 8u; i++) { m = max(m, ps[base + i]); }
      partMax[t] = m;
    }
    workgroupBarrier();
    if (t < HG) {
      var m = NEG;
      for (var i = 0u; i < PARTS; i++) { m = max(m, partMax[t * PARTS + i]); }
      tileMax[t] = m;
    }
    workgroupBarrier();
    for (var g = 0u; g < HG; g++) {
      let m = max(runMax[g], tileMax[g]);
      let alpha = exp(runMax[g] - m);
      acc[g] *= alpha;
      sum[g] *= alpha;
      runMax[g] = m;
      ps[g * WG + t] = select(0.0, exp(ps[g * WG + t] - m), at != MASKED);
    }
    workgroupBarrier();
    if (MASS) {
      // Thread u sums head g's weights over the keys of entry e in this tile (ps is only read until the next tile).
      let tileEnd = min(key0 + WG, keyEnd);
      let e0 = key0 / PAGE_SIZE;
      for (var u = t; u < HG * TP; u += WG) {
        let g = u / TP;
        let e = e0 + u % TP;
        let k0 = max(e * PAGE_SIZE, key0);
        let k1 = min((e + 1u) * PAGE_SIZE, tileEnd);
        if (g < hn && k0 < k1) {
          let pos0 = listedPage(head, e) * PAGE_SIZE;
          var w = 0.0;
          for (var key = k0; key < k1; key++) {
            let pos = pos0 + key % PAGE_SIZE;
            if (pos >= massRange.first && pos < massRange.end) { w += ps[g * WG + key - key0]; }
          }
          var lse = select(NEG, runMax[g] + log(w), w > 0.0);
          let at = (head * GROUP + g0 + g) * MAX_PAGES + e;
          if (k0 > e * PAGE_SIZE) { lse = logAddExp(pageLse[at], lse); }   // the entry began in an earlier tile
          pageLse[at] = lse;
        }
      }
    }
    if (slice < NS) {
      for (var j = slice; j < WG; j += NS) {
        let row = rowAt[j];
        if (row != MASKED) {
          let vv = vec4<f32>(vCache[row + lane]);
          for (var g = 0u; g < HG; g++) {
            let p = ps[g * WG + j];
            acc[g] += p * vv;
            sum[g] += p;
          }
        }
      }
    }
  }

  // Sum the slices. Every thread holds the same runMax; an empty range (more splits than pages) writes sum 0, and
  // the reduce gives it no weight.
  if (slice < NS) {
    for (var g = 0u; g < HG; g++) {
      comb[(g * NS + slice) * D4 + lane] = acc[g];
      if (lane == 0u) { combSum[g * NS + slice] = sum[g]; }
    }
  }
  workgroupBarrier();
  for (var e = t; e < hn * D4; e += WG) {
    let g = e / D4;
    var a = vec4(0.0);
    for (var sl = 0u; sl < NS; sl++) { a += comb[(g * NS + sl) * D4 + e % D4]; }
    partial[((head * GROUP + g0 + g) * SPLITS + split) * (D4 + 1u) + e % D4] = a;
  }
  if (t < hn) {
    var l = 0.0;
    for (var sl = 0u; sl < NS; sl++) { l += combSum[t * NS + sl]; }
    partial[((head * GROUP + g0 + t) * SPLITS + split) * (D4 + 1u) + D4] = vec4(runMax[t], l, 0.0, 0.0);
  }
}
