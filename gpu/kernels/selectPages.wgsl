// Quest page selection: for each KV head, the top-k pages by pageScore (k = min(pageBudget - 1, nScored)), then the
// last page, which is always read and counts against the budget. Output page indices ascend; ties at the k-th
// score go to the lowest page index, so the GPU and the float64 reference agree exactly.
// One workgroup per KV head: a 4-pass radix select (8 bits a pass) finds the k-th largest score, then an
// index-ordered compaction writes the pages above it and the first ties. Nothing is read back to the host.

struct Params {
  nScored : u32,     // pages that were scored: 0 .. nScored-1; page nScored is the last page
  pageBudget : u32,  // pages read per KV head, the last page included
  maxPages : u32,    // row stride of pageScore and pageIds
}

@group(0) @binding(0) var<storage, read> pageScore : array<f32>;          // (kvHeads, maxPages)
@group(0) @binding(1) var<storage, read_write> pageIds : array<u32>;      // (kvHeads, maxPages) logical pages, ascending
@group(0) @binding(2) var<storage, read_write> pageCount : array<u32>;    // (kvHeads) entries of pageIds used
@group(0) @binding(3) var<uniform> p : Params;

override WG : u32 = 256u;

var<workgroup> hist : array<atomic<u32>, 256>;
var<workgroup> gtCount : array<u32, WG>;   // per thread: pages above the threshold in its range, then its prefix
var<workgroup> eqCount : array<u32, WG>;   // per thread: pages equal to the threshold, then its prefix
var<workgroup> chosen : vec2<u32>;         // (digit chosen this pass, ties still needed)

// Maps f32 to u32 so that unsigned order equals float order (NaN sorts as the largest negative).
fn orderKey(x : f32) -> u32 {
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let kvHead = wg.x;
  let n = p.nScored;
  let k = min(p.pageBudget - 1u, n);
  let row = kvHead * p.maxPages;
  let out = kvHead * p.maxPages;

  // Radix select of the k-th largest key: after 4 passes `prefix` is its key and `need` the ties to take.
  var prefix = 0u;
  var mask = 0u;
  var need = k;
  if (k > 0u && k < n) {
    for (var shift = 24i; shift >= 0i; shift -= 8i) {
      for (var b = t; b < 256u; b += WG) { atomicStore(&hist[b], 0u); }
      workgroupBarrier();
      for (var i = t; i < n; i += WG) {
        let key = orderKey(pageScore[row + i]);
        if ((key & mask) == prefix) { atomicAdd(&hist[(key >> u32(shift)) & 255u], 1u); }
      }
      workgroupBarrier();
      if (t == 0u) {
        var above = 0u;
        var digit = 255u;
        loop {
          let c = atomicLoad(&hist[digit]);
          if (above + c >= need || digit == 0u) { break; }
          above += c;
          digit -= 1u;
        }
        chosen = vec2(digit, need - above);
      }
      workgroupBarrier();
      let c = chosen;
      prefix |= c.x << u32(shift);
      mask |= 255u << u32(shift);
      need = c.y;
      workgroupBarrier();
    }
  }
  let threshold = prefix;
  let takeAll = k == n;   // every scored page fits: no threshold needed

  // Index-ordered compaction: thread t owns pages [t*span, (t+1)*span).
  let span = (n + WG - 1u) / WG;
  let lo = min(t * span, n);
  let hi = min(lo + span, n);
  var gt = 0u;
  var eq = 0u;
  for (var i = lo; i < hi; i++) {
    let key = orderKey(pageScore[row + i]);
    if (takeAll || key > threshold) { gt++; } else if (key == threshold) { eq++; }
  }
  gtCount[t] = gt;
  eqCount[t] = eq;
  workgroupBarrier();
  if (t == 0u) {   // exclusive prefix sums; WG is small, one thread is enough
    var g = 0u;
    var e = 0u;
    for (var j = 0u; j < WG; j++) {
      let gj = gtCount[j];
      let ej = eqCount[j];
      gtCount[j] = g;
      eqCount[j] = e;
      g += gj;
      e += ej;
    }
  }
  workgroupBarrier();
  if (k > 0u) {
    var eqBefore = eqCount[t];
    var slot = gtCount[t] + min(eqBefore, need);
    for (var i = lo; i < hi; i++) {
      let key = orderKey(pageScore[row + i]);
      if (takeAll || key > threshold) {
        pageIds[out + slot] = i;
        slot++;
      } else if (key == threshold) {
        if (eqBefore < need) {
          pageIds[out + slot] = i;
          slot++;
        }
        eqBefore++;
      }
    }
  }
  if (t == 0u) {
    pageIds[out + k] = n;   // the last page
    pageCount[kvHead] = k + 1u;
  }
}
