// kvAppend: writes a run's K and V rows (positions pos0 .. pos0+tokens-1) into their pages through the page table,
// and updates the touched pages' pageMeta (element-wise max and min of the page's keys) in the same pass.
//
// One invocation owns one (touched page, kvHead, 4 dims) group: it copies those dims of every run token that falls
// in the page and reduces them into the page's max/min. No two invocations write the same cache or pageMeta word,
// so several tokens of one page in one dispatch need no atomics and cannot race.
//   - a page the run starts (its first position >= pos0) begins fresh at max = -KV_MAX, min = +KV_MAX;
//   - a page already holding keys (decodeStep, or a prefill run that starts mid-page) folds into its stored
//     max/min, or, after a truncate() that cut the page (step.rebuildMeta), into the min/max of the keys it kept.

// kvType: begin
alias KvType = f32;
const KV_MAX : f32 = 0x1.fffffep+127f;   // largest finite f32 (WGSL may assume no infinities)
// kvType: end

struct KvStep {
  pos0 : u32,          // first position of the run
  tokens : u32,        // tokens in the run
  rebuildMeta : u32,   // 1: the page holding pos0 was truncated; recompute its max/min from its cached keys
  pad : u32,
}

@group(0) @binding(0) var<storage, read> k : array<vec4<f32>>;                // (tokens, kvHeads, headDim/4) after RoPE
@group(0) @binding(1) var<storage, read> v : array<vec4<f32>>;                // (tokens, kvHeads, headDim/4)
@group(0) @binding(2) var<storage, read> pageTable : array<u32>;              // (maxPages) logical -> physical page
@group(0) @binding(3) var<storage, read_write> kCache : array<vec4<KvType>>;  // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(4) var<storage, read_write> vCache : array<vec4<KvType>>;  // (maxPages, kvHeads, pageSize, headDim/4)
@group(0) @binding(5) var<storage, read_write> pageMeta : array<vec4<KvType>>; // (maxPages, kvHeads, 2, headDim/4) [0]=max [1]=min
@group(0) @binding(6) var<uniform> step : KvStep;

override HEAD_DIM : u32 = 64u;
override PAGE_SIZE : u32 = 16u;
override KV_HEADS : u32 = 1u;
override WG : u32 = 64u;
override D4 : u32 = HEAD_DIM / 4u;

fn toKv(x : vec4<f32>) -> vec4<KvType> {
  return vec4<KvType>(clamp(x, vec4(-KV_MAX), vec4(KV_MAX)));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;   // the grid may be 2-D for long runs
  let d4 = i % D4;
  let head = (i / D4) % KV_HEADS;
  let page = step.pos0 / PAGE_SIZE + i / (D4 * KV_HEADS);   // logical page
  let end = step.pos0 + step.tokens;
  let pageStart = page * PAGE_SIZE;
  if (pageStart >= end) { return; }   // the dispatch is sized for the largest run

  let phys = pageTable[page];
  let lo = max(step.pos0, pageStart);
  let hi = min(end, pageStart + PAGE_SIZE);
  let row = (phys * KV_HEADS + head) * PAGE_SIZE;   // first (page, head) row in kCache / vCache
  let metaAt = (phys * KV_HEADS + head) * 2u * D4 + d4;

  var mx = vec4(-KV_MAX);
  var mn = vec4(KV_MAX);
  if (lo > pageStart) {
    if (step.rebuildMeta != 0u) {
      for (var slot = 0u; slot < lo - pageStart; slot++) {
        let key = vec4<f32>(kCache[(row + slot) * D4 + d4]);
        mx = max(mx, key);
        mn = min(mn, key);
      }
    } else {
      mx = vec4<f32>(pageMeta[metaAt]);
      mn = vec4<f32>(pageMeta[metaAt + D4]);
    }
  }
  for (var pos = lo; pos < hi; pos++) {
    let src = ((pos - step.pos0) * KV_HEADS + head) * D4 + d4;
    let dst = (row + pos - pageStart) * D4 + d4;
    let key = toKv(k[src]);
    kCache[dst] = key;
    vCache[dst] = toKv(v[src]);
    mx = max(mx, vec4<f32>(key));   // the stored (rounded) key: pageMeta bounds exactly what attention reads
    mn = min(mn, vec4<f32>(key));
  }
  pageMeta[metaAt] = vec4<KvType>(mx);
  pageMeta[metaAt + D4] = vec4<KvType>(mn);
}
