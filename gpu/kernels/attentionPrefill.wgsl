// attentionPrefill: causal GQA attention of a run's queries over the paged cache (the run's own keys are already
// appended). out[t, h] = softmax_j(q[t, h] · K[j, h / GROUP] / sqrt(headDim)) · V[j, h / GROUP], j = 0 .. pos0 + t.
//
// Tiled with online softmax (flash attention): a workgroup takes BR query rows of one KV head, a row being one
// (token, query head of the group) pair, so the GROUP heads sharing a KV head share its tiles too. For each tile of
// BC keys it loads K and V once into workgroup memory, then
//   1. scores: each thread computes 4 rows × 4 keys at a time (8 vec4 loads feed 16 dot products), masks keys past
//      a row's own position, and keeps a max per row and 4 keys;
//   2. the tile's max per row gives the new running max and the factor that rescales the row's older terms;
//   3. p = exp(score - running max) in place, with a sum per row and 4 keys;
//   4. each thread updates its output units (4 rows × 4 dims, in registers across tiles) with p · V.

// kvType: begin
alias KvType = f32;
const KV_MAX : f32 = 0x1.fffffep+127f;   // largest finite f32 (unused here; part of the shared header)
// kvType: end

struct KvStep {
  pos0 : u32,          // position of the run's first token
  tokens : u32,        // tokens in the run
  rebuildMeta : u32,   // (kvAppend only)
  pad : u32,
}

@group(0) @binding(0) var<storage, read> q : array<vec4<f32>>;               // (tokens, heads, headDim/4) after RoPE
@group(0) @binding(1) var<storage, read> kCache : array<vec4<KvType>>;       // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(2) var<storage, read> vCache : array<vec4<KvType>>;       // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(3) var<storage, read> pageTable : array<u32>;             // (maxPages) logical -> physical page
@group(0) @binding(4) var<storage, read_write> out : array<vec4<f32>>;       // (tokens, heads, headDim/4)
@group(0) @binding(5) var<uniform> step : KvStep;

override HEAD_DIM : u32 = 64u;
override PAGE_SIZE : u32 = 16u;
override KV_HEADS : u32 = 1u;
override GROUP : u32 = 1u;      // query heads per KV head
override BR : u32 = 16u;        // query rows per workgroup, a multiple of 4, <= WG
override BC : u32 = 16u;        // keys per tile, a multiple of 4
override WG : u32 = 64u;        // threads; (BR/4) * headDim/4 <= MAX_UNITS * WG
override D4 : u32 = HEAD_DIM / 4u;
override Q4 : u32 = BC / 4u;    // 4-key groups per tile

const MAX_UNITS : u32 = 4u;     // output units per thread (registers: 4 rows × vec4 each)
const NEG : f32 = -1e30;        // running max before any key; far below any score

var<workgroup> qs : array<vec4<f32>, BR * D4>;      // (BR, headDim/4) queries, pre-scaled by 1/sqrt(headDim)
var<workgroup> ks : array<vec4<f32>, BC * D4>;      // (BC, headDim/4)
var<workgroup> vs : array<vec4<f32>, BC * D4>;      // (BC, headDim/4)
var<workgroup> ps : array<f32, BR * BC>;            // (BR, BC) scores, then exp(score - rowMax)
var<workgroup> part : array<f32, BR * Q4>;          // (BR, BC/4) max, then sum, over 4 keys
var<workgroup> rowMax : array<f32, BR>;
var<workgroup> rowSum : array<f32, BR>;
var<workgroup> rowScale : array<f32, BR>;           // exp(previous max - new max) of the current tile

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) t : u32) {
  let lin = wid.x + wid.y * nwg.x;
  let head = lin % KV_HEADS;
  let row0 = (lin / KV_HEADS) * BR;
  let rows = step.tokens * GROUP;
  if (row0 >= rows) { return; }   // workgroup-uniform: the dispatch is sized for the largest run
  let lastRow = min(row0 + BR, rows) - 1u;
  let keyEnd = step.pos0 + lastRow / GROUP + 1u;   // keys 0 .. keyEnd-1 are visible to some row here
  let scale = inverseSqrt(f32(HEAD_DIM));

  for (var e = t; e < BR * D4; e += WG) {
    let r = row0 + e / D4;
    var qv = vec4(0.0);
    if (r < rows) {
      qv = q[((r / GROUP) * KV_HEADS * GROUP + head * GROUP + r % GROUP) * D4 + e % D4] * scale;
    }
    qs[e] = qv;
  }
  if (t < BR) {
    rowMax[t] = NEG;
    rowSum[t] = 0.0;
  }
  var o : array<vec4<f32>, 16>;   // MAX_UNITS × 4 rows: unit u = t + u*WG covers rows 4*(u / D4) .. +3, dims u % D4

  for (var key0 = 0u; key0 < keyEnd; key0 += BC) {
    workgroupBarrier();   // the previous tile is consumed (first tile: qs is written)
    for (var e = t; e < BC * D4; e += WG) {
      let key = key0 + e / D4;
      var kv = vec4(0.0);
      var vv = vec4(0.0);
      if (key < keyEnd) {
        let src = ((pageTable[key / PAGE_SIZE] * KV_HEADS + head) * PAGE_SIZE + key % PAGE_SIZE) * D4 + e % D4;
        kv = vec4<f32>(kCache[src]);
        vv = vec4<f32>(vCache[src]);
      }
      ks[e] = kv;
      vs[e] = vv;
    }
    workgroupBarrier();

    // 1. Scores, 4 rows × 4 keys per item.
    for (var item = t; item < (BR / 4u) * Q4; item += WG) {
      let r4 = (item / Q4) * 4u;
      let j4 = (item % Q4) * 4u;
      var s : array<f32, 16>;   // [row i * 4 + key jj]; zeroed by hand (lavapipe keeps a loop-scoped array's values)
      for (var i = 0u; i < 16u; i++) { s[i] = 0.0; }
      for (var c = 0u; c < D4; c++) {
        let k0 = ks[j4 * D4 + c];
        let k1 = ks[(j4 + 1u) * D4 + c];
        let k2 = ks[(j4 + 2u) * D4 + c];
        let k3 = ks[(j4 + 3u) * D4 + c];
        for (var i = 0u; i < 4u; i++) {
          let qv = qs[(r4 + i) * D4 + c];
          s[i * 4u] += dot(qv, k0);
          s[i * 4u + 1u] += dot(qv, k1);
          s[i * 4u + 2u] += dot(qv, k2);
          s[i * 4u + 3u] += dot(qv, k3);
        }
      }
      for (var i = 0u; i < 4u; i++) {
        let visible = step.pos0 + (row0 + r4 + i) / GROUP + 1u;   // keys 0 .. visible-1 for this row
        var m = NEG;
        for (var jj = 0u; jj < 4u; jj++) {
          let x = select(NEG, s[i * 4u + jj], key0 + j4 + jj < visible);
          ps[(r4 + i) * BC + j4 + jj] = x;
          m = max(m, x);
        }
        part[(r4 + i) * Q4 + j4 / 4u] = m;
      }
    }
    workgroupBarrier();

    // 2. Running max per row.
    if (t < BR) {
      var m = rowMax[t];
      for (var g = 0u; g < Q4; g++) { m = max(m, part[t * Q4 + g]); }
      rowScale[t] = exp(rowMax[t] - m);
      rowMax[t] = m;
    }
    workgroupBarrier();

    // 3. Probabilities, with sums over 4 keys.
    for (var item = t; item < (BR / 4u) * Q4; item += WG) {
      let r4 = (item / Q4) * 4u;
      let j4 = (item % Q4) * 4u;
      for (var i = 0u; i < 4u; i++) {
        let r = r4 + i;
        let visible = step.pos0 + (row0 + r) / GROUP + 1u;
        var sum = 0.0;
        for (var jj = 0u; jj < 4u; jj++) {
          let p = select(0.0, exp(ps[r * BC + j4 + jj] - rowMax[r]), key0 + j4 + jj < visible);
          ps[r * BC + j4 + jj] = p;
          sum += p;
        }
        part[r * Q4 + j4 / 4u] = sum;
      }
    }
    workgroupBarrier();

    // 4. Row sums, and the output units: o = o * rowScale + p · V.
    if (t < BR) {
      var sum = 0.0;
      for (var g = 0u; g < Q4; g++) { sum += part[t * Q4 + g]; }
      rowSum[t] = rowSum[t] * rowScale[t] + sum;
    }
    for (var u = 0u; u < MAX_UNITS; u++) {
      let unit = t + u * WG;
      if (unit < (BR / 4u) * D4) {
        let r4 = (unit / D4) * 4u;
        let c = unit % D4;
        var o0 = o[u * 4u] * rowScale[r4];
        var o1 = o[u * 4u + 1u] * rowScale[r4 + 1u];
        var o2 = o[u * 4u + 2u] * rowScale[r4 + 2u];
        var o3 = o[u * 4u + 3u] * rowScale[r4 + 3u];
        for (var j = 0u; j < BC; j++) {
          let vv = vs[j * D4 + c];
          o0 += ps[r4 * BC + j] * vv;
          o1 += ps[(r4 + 1u) * BC + j] * vv;
          o2 += ps[(r4 + 2u) * BC + j] * vv;
          o3 += ps[(r4 + 3u) * BC + j] * vv;
        }
        o[u * 4u] = o0;
        o[u * 4u + 1u] = o1;
        o[u * 4u + 2u] = o2;
        o[u * 4u + 3u] = o3;
      }
    }
  }
  workgroupBarrier();

  for (var u = 0u; u < MAX_UNITS; u++) {
    let unit = t + u * WG;
    if (unit < (BR / 4u) * D4) {
      for (var i = 0u; i < 4u; i++) {
        let lr = (unit / D4) * 4u + i;
        let r = row0 + lr;
        if (r < rows) {
          out[((r / GROUP) * KV_HEADS * GROUP + head * GROUP + r % GROUP) * D4 + unit % D4] = o[u * 4u + i] / rowSum[lr];
        }
      }
    }
  }
}
