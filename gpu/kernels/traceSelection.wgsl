// traceSelection: packs one sparse layer's page selection (selectPages' output) into the selection trace, so a traced
// decodeStep reads back one small buffer with one copy, not two copies per layer and KV head. Row (layer, kvHead) of
// `trace` is the count, then the first `count` page ids, in a row of 1 + pageBudget words. One workgroup per KV head.

struct Params {
  layer : u32,        // the row block this dispatch writes
  pageBudget : u32,   // the request's: rows are 1 + pageBudget words
}

@group(0) @binding(0) var<storage, read> pageIds : array<u32>;          // (kvHeads, MAX_PAGES) logical pages
@group(0) @binding(1) var<storage, read> pageCount : array<u32>;        // (kvHeads) entries of pageIds used
@group(0) @binding(2) var<storage, read_write> trace : array<u32>;      // (layers, kvHeads, 1 + pageBudget): count, then ids
@group(0) @binding(3) var<uniform> p : Params;

override KV_HEADS : u32 = 1u;
override MAX_PAGES : u32 = 1u;
override WG : u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let head = wid.x;
  let row = (p.layer * KV_HEADS + head) * (1u + p.pageBudget);
  let count = min(pageCount[head], min(p.pageBudget, MAX_PAGES));
  if (t == 0u) { trace[row] = count; }
  for (var i = t; i < count; i += WG) { trace[row + 1u + i] = pageIds[head * MAX_PAGES + i]; }
}
