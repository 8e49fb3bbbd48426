// attentionPrefill: causal GQA attention of a run's queries over the paged cache (the run's own keys are already
// appended). out[t, h] = softmax_j(q[t, h] · K[j, h / GROUP] / sqrt(headDim)) · V[j, h / GROUP], j = 0 .. pos0 + t.
//
// Tiled with online softmax (flash attention): a workgroup takes ROWS query rows of one KV head, a row being one
// (token, query head of the group) pair, so the GROUP heads sharing a KV head share its tiles too. For each tile of
// TILE keys it loads K and V once into workgroup memory, scores them against all ROWS queries, rescales the running
// max/sum/accumulator per row and adds p · V. Keys past a row's own position are masked.

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
override ROWS : u32 = 16u;      // query rows per workgroup
override TILE : u32 = 16u;      // keys per tile
override WG : u32 = 64u;        // >= ROWS
override D4 : u32 = HEAD_DIM / 4u;

const NEG : f32 = -1e30;        // running max before any key; far below any score, and exp(NEG - m) == 0

var<workgroup> qs : array<vec4<f32>, ROWS * D4>;    // (ROWS, headDim/4) queries, pre-scaled by 1/sqrt(headDim)
var<workgroup> ks : array<vec4<f32>, TILE * D4>;    // (TILE, headDim/4)
var<workgroup> vs : array<vec4<f32>, TILE * D4>;    // (TILE, headDim/4)
var<workgroup> ps : array<f32, ROWS * TILE>;        // (ROWS, TILE) scores, then exp(score - rowMax)
var<workgroup> acc : array<vec4<f32>, ROWS * D4>;   // (ROWS, headDim/4) unnormalized output
var<workgroup> rowMax : array<f32, ROWS>;
var<workgroup> rowSum : array<f32, ROWS>;
var<workgroup> rowScale : array<f32, ROWS>;         // exp(previous max - new max) of the current tile

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) t : u32) {
  let lin = wid.x + wid.y * nwg.x;
  let head = lin % KV_HEADS;
  let row0 = (lin / KV_HEADS) * ROWS;
  let rows = step.tokens * GROUP;
  if (row0 >= rows) { return; }   // workgroup-uniform: the dispatch is sized for the largest run
  let lastRow = min(row0 + ROWS, rows) - 1u;
  let keyEnd = step.pos0 + lastRow / GROUP + 1u;   // keys 0 .. keyEnd-1 are visible to some row here
  let scale = inverseSqrt(f32(HEAD_DIM));

  for (var e = t; e < ROWS * D4; e += WG) {
    let r = row0 + e / D4;
    var qv = vec4(0.0);
    if (r < rows) {
      qv = q[((r / GROUP) * KV_HEADS * GROUP + head * GROUP + r % GROUP) * D4 + e % D4] * scale;
    }
    qs[e] = qv;
    acc[e] = vec4(0.0);
  }
  if (t < ROWS) {
    rowMax[t] = NEG;
    rowSum[t] = 0.0;
  }

  for (var key0 = 0u; key0 < keyEnd; key0 += TILE) {
    workgroupBarrier();   // the previous tile is consumed (first tile: qs and acc are written)
    for (var e = t; e < TILE * D4; e += WG) {
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
    for (var e = t; e < ROWS * TILE; e += WG) {
      let r = e / TILE;
      let j = e % TILE;
      var s = 0.0;
      for (var c = 0u; c < D4; c++) { s += dot(qs[r * D4 + c], ks[j * D4 + c]); }
      ps[e] = s;
    }
    workgroupBarrier();
    if (t < ROWS) {
      let r = row0 + t;
      let visible = select(0u, step.pos0 + r / GROUP + 1u, r < rows);   // keys 0 .. visible-1 for this row
      let prev = rowMax[t];
      var m = prev;
      for (var j = 0u; j < TILE; j++) {
        if (key0 + j < visible) { m = max(m, ps[t * TILE + j]); }
      }
      let alpha = exp(prev - m);
      var sum = 0.0;
      for (var j = 0u; j < TILE; j++) {
        let p = select(0.0, exp(ps[t * TILE + j] - m), key0 + j < visible);
        ps[t * TILE + j] = p;
        sum += p;
      }
      rowMax[t] = m;
      rowSum[t] = rowSum[t] * alpha + sum;
      rowScale[t] = alpha;
    }
    workgroupBarrier();
    for (var e = t; e < ROWS * D4; e += WG) {
      let r = e / D4;
      let c = e % D4;
      var a = acc[e] * rowScale[r];
      for (var j = 0u; j < TILE; j++) { a += ps[r * TILE + j] * vs[j * D4 + c]; }
      acc[e] = a;
    }
  }
  workgroupBarrier();

  for (var e = t; e < ROWS * D4; e += WG) {
    let r = row0 + e / D4;
    if (r < rows) {
      out[((r / GROUP) * KV_HEADS * GROUP + head * GROUP + r % GROUP) * D4 + e % D4] = acc[e] / rowSum[e / D4];
    }
  }
}
